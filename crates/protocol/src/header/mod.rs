//! The two serializations of a command's header: fastjson text and RocketMQ binary.

mod binary;
mod json;

pub(crate) use binary::{decode_binary_header, encode_binary_header};
pub(crate) use json::{decode_json_header, encode_json_header};

/// The fixed-width fields every header carries, apart from remark, ext fields and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderFields {
    pub code: i32,
    pub language: crate::LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: crate::ExtFields,
}
