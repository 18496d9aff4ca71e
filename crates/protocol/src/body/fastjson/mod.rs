//! fastjson 1.x compatibility: a writer that reproduces Java's bytes and a lenient reader.
//!
//! Writing: body types build a [`Json`] tree ([`ToJson`]) and render it in a [`JsonStyle`].
//! Reading: [`normalize`] turns fastjson text (unquoted integer keys, object keys, single
//! quotes) into standard JSON; [`decode`] parses it and converts it with [`FromJsonValue`],
//! whose impls are as lenient as fastjson's binder. [`de`] offers the same leniency to
//! serde-derived types.

pub mod de;
mod double;
mod lenient;
mod normalize;
mod tree;

pub use lenient::{decode, parse, Fields, FromJsonKey, FromJsonValue};
pub use normalize::{normalize, MAX_DEPTH};
pub use tree::{Json, JsonStyle, Key, ToJson, ToJsonKey};

#[cfg(test)]
mod tests;
