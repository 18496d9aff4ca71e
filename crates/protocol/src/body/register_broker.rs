//! `RegisterBrokerBody`: what a broker sends the name server with REGISTER_BROKER, as JSON
//! or (header `compressed=true`) as a zlib stream of length-prefixed parts.
//!
//! ```text
//! JSON:       {"filterServerList":[…],"topicConfigSerializeWrapper":{…5.x wrapper…}}
//!
//! compressed: zlib( i32 len │ DataVersion JSON
//!                   i32 topicCount
//!                   topicCount × ( i32 len │ TopicConfig text "T 8 8 6 SINGLE_TAG {}" )
//!                   i32 len │ filterServerList JSON array
//!                   i32 mappingCount │ mappingCount × ( i32 len │ TopicQueueMappingInfo JSON ) )
//! ```
//! Integers are big-endian. The mapping part exists from 5.0 on; FerroMQ writes a zero count
//! and ignores whatever follows the filter-server list when reading. Before 3.0.11 the body
//! was a bare [`TopicConfigSerializeWrapper`] ([`RegisterBrokerBody::decode_legacy`]).

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::Value;

use super::fastjson::{self, Fields, FromJsonValue, Json, JsonStyle, ToJson};
use super::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::error::{ProtocolError, Result};

/// The most bytes a compressed body may inflate to; more is refused (zip-bomb guard).
pub const MAX_INFLATED_BODY: usize = 64 << 20;

/// A broker's registration: its topic table and its filter servers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterBrokerBody {
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    pub filter_server_list: Vec<String>,
}

fn zlib_error(e: std::io::Error) -> ProtocolError {
    ProtocolError::MalformedBody(format!("zlib: {e}"))
}

fn push_len(out: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = i32::try_from(len).map_err(|_| ProtocolError::TooLarge("register-broker part"))?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

fn push_part(out: &mut Vec<u8>, part: &[u8]) -> Result<()> {
    push_len(out, part.len())?;
    out.extend_from_slice(part);
    Ok(())
}

/// Reads the length-prefixed parts of an inflated body.
struct Parts<'a>(&'a [u8]);

impl<'a> Parts<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n).ok_or_else(|| {
            ProtocolError::MalformedBody("compressed register-broker body is truncated".into())
        })?;
        self.0 = tail;
        Ok(head)
    }

    fn len(&mut self) -> Result<usize> {
        let bytes: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| ProtocolError::MalformedBody("short length".into()))?;
        usize::try_from(i32::from_be_bytes(bytes))
            .map_err(|_| ProtocolError::MalformedBody("negative length".into()))
    }

    fn part(&mut self) -> Result<&'a [u8]> {
        let len = self.len()?;
        self.take(len)
    }
}

impl RegisterBrokerBody {
    /// Encodes the body, as JSON or in the compressed form (zlib, best compression).
    pub fn encode(&self, compressed: bool) -> Result<Vec<u8>> {
        if !compressed {
            return Ok(self.to_json());
        }
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut raw = Vec::new();
        push_part(&mut raw, &wrapper.data_version.to_json())?;
        push_len(&mut raw, wrapper.topic_config_table.len())?;
        for config in wrapper.topic_config_table.values() {
            push_part(&mut raw, config.encode_text().as_bytes())?;
        }
        let filters = self.filter_server_list.to_json_tree();
        push_part(&mut raw, &filters.render(JsonStyle::Fastjson))?;
        push_len(&mut raw, 0)?;
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&raw).map_err(zlib_error)?;
        encoder.finish().map_err(zlib_error)
    }

    /// Decodes a body sent with the header flag `compressed`.
    pub fn decode(bytes: &[u8], compressed: bool) -> Result<Self> {
        if !compressed {
            return Self::from_json(bytes);
        }
        let raw = inflate(bytes, MAX_INFLATED_BODY)?;
        let mut parts = Parts(&raw);
        let data_version = DataVersion::from_json(parts.part()?)?;
        let count = parts.len()?;
        let mut wrapper =
            TopicConfigSerializeWrapper { data_version, ..TopicConfigSerializeWrapper::default() };
        for _ in 0..count {
            let text = std::str::from_utf8(parts.part()?).map_err(|_| {
                ProtocolError::MalformedBody("topic config text is not UTF-8".into())
            })?;
            let config = TopicConfig::decode_text(text)?;
            wrapper.topic_config_table.insert(config.topic_name.clone(), config);
        }
        // Java logs and ignores a filter-server list it cannot parse.
        let filter_server_list = fastjson::parse(parts.part()?)
            .ok()
            .and_then(|v| Vec::<String>::from_json_value(&v).ok())
            .unwrap_or_default();
        Ok(RegisterBrokerBody { topic_config_serialize_wrapper: wrapper, filter_server_list })
    }

    /// Decodes the pre-3.0.11 body: a bare [`TopicConfigSerializeWrapper`].
    pub fn decode_legacy(bytes: &[u8]) -> Result<Self> {
        Ok(RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper::from_json(bytes)?,
            filter_server_list: Vec::new(),
        })
    }
}

/// Inflates `bytes`, refusing output longer than `limit`.
fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut raw = Vec::new();
    ZlibDecoder::new(bytes).take(cap).read_to_end(&mut raw).map_err(zlib_error)?;
    if raw.len() > limit {
        return Err(ProtocolError::TooLarge("inflated register-broker body"));
    }
    Ok(raw)
}

impl ToJson for RegisterBrokerBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("filterServerList", self.filter_server_list.to_json_tree()),
            (
                "topicConfigSerializeWrapper",
                self.topic_config_serialize_wrapper.tree_with_mapping(),
            ),
        ])
    }
}

impl FromJsonValue for RegisterBrokerBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(RegisterBrokerBody {
            topic_config_serialize_wrapper: f.get("topicConfigSerializeWrapper")?,
            filter_server_list: f.get("filterServerList")?,
        })
    }
}

json_body!(RegisterBrokerBody);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sample() -> RegisterBrokerBody {
        let mut ordered = TopicConfig::new("B");
        ordered.read_queue_nums = 8;
        ordered.attributes.insert("+queue.type".into(), "BatchCQ".into());
        RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table: BTreeMap::from([
                    ("A".into(), TopicConfig::new("A")),
                    ("B".into(), ordered),
                ]),
                data_version: DataVersion {
                    state_version: 1,
                    timestamp: 1700000000000,
                    counter: 9,
                },
            },
            filter_server_list: vec!["10.0.0.9:30000".into()],
        }
    }

    #[test]
    fn json_form_round_trips() {
        let body = sample();
        let json = body.encode(false).unwrap();
        assert!(json.starts_with(br#"{"filterServerList":["10.0.0.9:30000"],"topicConfigSerializeWrapper":{"dataVersion":"#));
        assert_eq!(RegisterBrokerBody::decode(&json, false).unwrap(), body);
    }

    #[test]
    fn compressed_form_round_trips() {
        let body = sample();
        let z = body.encode(true).unwrap();
        // A zlib header (DeflaterOutputStream's default), best compression.
        assert_eq!(z.get(..2), Some(&[0x78, 0xDA][..]));
        assert_eq!(RegisterBrokerBody::decode(&z, true).unwrap(), body);
    }

    #[test]
    fn compressed_layout_is_javas() {
        let z = sample().encode(true).unwrap();
        let raw = inflate(&z, MAX_INFLATED_BODY).unwrap();
        let mut parts = Parts(&raw);
        assert_eq!(
            parts.part().unwrap(),
            br#"{"counter":9,"stateVersion":1,"timestamp":1700000000000}"#
        );
        assert_eq!(parts.len().unwrap(), 2);
        assert_eq!(parts.part().unwrap(), b"A 16 16 6 SINGLE_TAG {}");
        assert_eq!(parts.part().unwrap(), br#"B 8 16 6 SINGLE_TAG {"+queue.type":"BatchCQ"}"#);
        assert_eq!(parts.part().unwrap(), br#"["10.0.0.9:30000"]"#);
        assert_eq!(parts.len().unwrap(), 0);
        assert!(parts.0.is_empty());
    }

    #[test]
    fn legacy_body_is_a_bare_wrapper() {
        let body = sample();
        let legacy = body.topic_config_serialize_wrapper.to_json();
        let decoded = RegisterBrokerBody::decode_legacy(&legacy).unwrap();
        assert_eq!(decoded.topic_config_serialize_wrapper, body.topic_config_serialize_wrapper);
        assert!(decoded.filter_server_list.is_empty());
    }

    #[test]
    fn bad_compressed_bodies_are_errors() {
        assert!(RegisterBrokerBody::decode(b"not zlib", true).is_err());
        let mut raw = Vec::new();
        push_part(&mut raw, b"{}").unwrap();
        raw.extend_from_slice(&(-1i32).to_be_bytes());
        let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&raw).unwrap();
        assert!(RegisterBrokerBody::decode(&e.finish().unwrap(), true).is_err());
        // A huge declared count with no data behind it fails without allocating.
        let mut raw = Vec::new();
        push_part(&mut raw, b"{}").unwrap();
        raw.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&raw).unwrap();
        assert!(RegisterBrokerBody::decode(&e.finish().unwrap(), true).is_err());
    }

    #[test]
    fn zip_bombs_are_refused() {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 4096);
        assert!(matches!(inflate(&bomb, (1 << 20) - 1), Err(ProtocolError::TooLarge(_))));
        assert_eq!(inflate(&bomb, 1 << 20).unwrap().len(), 1 << 20);
    }
}
