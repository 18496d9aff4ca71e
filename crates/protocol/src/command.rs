//! `RemotingCommand`: one request or response, as both ends of the wire see it.

use bytes::Bytes;

use crate::code::{RequestCode, ResponseCode};
use crate::ext_fields::ExtFields;
use crate::language::LanguageCode;

/// The `version` FerroMQ puts in what it sends: `MQVersion.V5_3_3` ordinal, the baseline
/// release. Clients gate features on it (SQL92 filters need ≥ 232, standard-JSON routes ≥ 401).
pub const CURRENT_VERSION: i32 = 479;

/// Flag bit 0: the frame is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: the request expects no response.
pub const FLAG_ONEWAY: i32 = 1 << 1;

/// How a command's header is serialized (the high byte of the header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson text (`0`), the Java default.
    #[default]
    Json,
    /// RocketMQ's compact binary layout (`1`).
    RocketMq,
}

impl SerializeType {
    /// The wire byte.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// Decodes the wire byte.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// A request or response of the remoting protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code (requests) or response code (responses).
    pub code: i32,
    /// The sender's language.
    pub language: LanguageCode,
    /// The sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id; a response copies its request's.
    pub opaque: i32,
    /// Response and one-way bits.
    pub flag: i32,
    /// Human-readable text, mostly error reasons.
    pub remark: Option<String>,
    /// The custom header.
    pub ext_fields: ExtFields,
    /// The body, shared with the frame it came in.
    pub body: Bytes,
    /// The header serialization this command arrived in, or will be sent in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    fn new(code: i32, flag: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Java,
            version: CURRENT_VERSION,
            opaque: 0,
            flag,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A new request with `code`.
    pub fn request(code: RequestCode) -> Self {
        Self::new(code.0, 0)
    }

    /// A response to `request`: same opaque and serialization, response bit set.
    pub fn response_to(request: &RemotingCommand, code: ResponseCode) -> Self {
        let mut response = Self::new(code.0, FLAG_RESPONSE);
        response.opaque = request.opaque;
        response.serialize_type = request.serialize_type;
        response
    }

    /// A free-standing response (the opaque is filled in by whoever answers).
    pub fn response(code: ResponseCode) -> Self {
        Self::new(code.0, FLAG_RESPONSE)
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the custom header.
    pub fn with_ext_fields(mut self, ext_fields: ExtFields) -> Self {
        self.ext_fields = ext_fields;
        self
    }

    /// Sets the language.
    pub fn with_language(mut self, language: LanguageCode) -> Self {
        self.language = language;
        self
    }

    /// Sets the header serialization.
    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.serialize_type = serialize_type;
        self
    }

    /// Marks the request one-way: the peer sends no response.
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether this request expects no response.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The code read as a request code.
    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    /// The code read as a response code.
    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_mirrors_the_request() {
        let mut request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_serialize_type(SerializeType::RocketMq);
        request.opaque = 77;
        assert!(!request.is_response());
        let response = RemotingCommand::response_to(&request, ResponseCode::TOPIC_NOT_EXIST);
        assert!(response.is_response());
        assert!(!response.is_oneway());
        assert_eq!(response.opaque, 77);
        assert_eq!(response.serialize_type, SerializeType::RocketMq);
        assert_eq!(response.response_code(), ResponseCode::TOPIC_NOT_EXIST);
        assert!(request.into_oneway().is_oneway());
    }
}
