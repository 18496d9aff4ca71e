//! The Apache RocketMQ remoting protocol as pure codecs: frames, commands, codes, custom
//! headers, message layouts and JSON bodies. Nothing here does I/O, so every decoder can be
//! property-tested and fuzzed; a decoder given garbage returns an error, never panics.

pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod frame;
mod header;
pub mod headers;
pub mod language;
pub mod message;
pub mod perm;
pub mod topic;

pub use code::{RequestCode, ResponseCode};
pub use command::{RemotingCommand, SerializeType, CURRENT_VERSION};
pub use error::{ProtocolError, Result};
pub use ext_fields::ExtFields;
pub use language::LanguageCode;
