//! Typed custom headers: each request's or response's `extFields`, as a Rust struct.
//!
//! A Java header class becomes one key per field, its value the field's `toString()`, with
//! null fields left out (reference §1.9). Here every header is declared once, as a compact
//! table, with `command_header!`; the macro writes the struct, [`CommandHeader::from_ext`]
//! and [`CommandHeader::write_ext`]. That makes a header a few lines, so headers of one
//! domain share a file (`send`, `pull`, `offset`, …) instead of the usual one file per wire
//! header: a file per five-line table would be all boilerplate. Hand-written parts
//! (`validate()`, the send V1/V2 conversion) sit next to their table.
//!
//! How a Java field maps to a Rust field:
//!
//! | Java field | table kind | Rust type | key missing on decode |
//! |---|---|---|---|
//! | `@CFNotNull` boxed type, no initializer | `required` | `T` | [`ProtocolError::MissingField`] with the Java key |
//! | nullable boxed type | `optional` | `Option<T>` | `None` (and `None` is not written) |
//! | primitive, or a field initializer (`= false`, `= -1`) | `default(v)` | `T` | `v`, Java's value for an absent key |
//!
//! A `@CFNotNull` primitive (for example `ResetOffsetRequestHeader.timestamp`) is `default`:
//! the Java decoder only logs a missing required key, so such a field silently takes its Java
//! zero, and clients rely on that leniency (reference §11).
//!
//! Decoding rules shared by every header:
//!
//! - keys a header does not declare are ignored: the base-class keys `ns`, `nsd`, `bname`,
//!   `oway`, `lo` (unless a header uses one, like `bname` for the send header), zone, ACL and
//!   trace keys, and anything unknown. They never cause a rejection.
//! - a value that does not parse as its type is [`ProtocolError::InvalidField`] (Java logs and
//!   leaves the field unset; we reject, so the caller can answer `SYSTEM_ERROR` with a reason).
//!   The value syntax is in [`value`]: Java `parseInt`/`parseLong` (plus surrounding
//!   whitespace), Java `Boolean.parseBoolean`, enum names case-insensitively.
//! - required and defaulted fields are always written, which is what response headers the
//!   Java client unboxes need (for example the pull response's four offsets).

use crate::command::RemotingCommand;
use crate::error::ProtocolError;
use crate::ext_fields::ExtFields;

pub mod value;

pub use value::ExtValue;

/// A custom header: a typed view of a command's `extFields`.
pub trait CommandHeader: Sized {
    /// Decodes the header from a command's ext map. Unknown keys are ignored.
    fn from_ext(fields: &ExtFields) -> Result<Self, ProtocolError>;

    /// How many keys the header has (set or not).
    const KEY_COUNT: usize = 0;

    /// Writes the header's keys into `fields` (set fields only; `None` is left out).
    fn write_ext(&self, fields: &mut ExtFields);

    /// The header as a fresh ext map.
    fn to_ext(&self) -> ExtFields {
        let mut fields = ExtFields::with_capacity(Self::KEY_COUNT);
        self.write_ext(&mut fields);
        fields
    }

    /// The header as a fresh ext map, its strings moved rather than copied.
    fn into_ext(self) -> ExtFields {
        self.to_ext()
    }

    /// Decodes the header carried by `command`.
    fn from_command(command: &RemotingCommand) -> Result<Self, ProtocolError> {
        Self::from_ext(&command.ext_fields)
    }
}

/// Declares a custom header from a table of fields.
///
/// ```ignore
/// command_header! {
///     /// GET_ROUTEINFO_BY_TOPIC (105).
///     pub struct GetRouteInfoRequestHeader {
///         topic: String = "topic", required;
///         accept_standard_json_only: bool = "acceptStandardJsonOnly", optional;
///         compressed: bool = "compressed", default(false);
///     }
/// }
/// ```
///
/// Each row is `rust_field: Type = "javaKey", kind;` where kind is `required` (field `T`),
/// `optional` (field `Option<T>`) or `default(expr)` (field `T`, `expr` when the key is
/// missing). `Type` implements [`ExtValue`]. Rows may carry doc comments. The struct gets
/// `Debug, Clone, PartialEq, Eq`, public fields, a `KEYS` constant (the Java keys in wire
/// order) and an impl of [`CommandHeader`]; under `cfg(test)` also the property-test spec.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $key:literal, $kind:ident $(($default:expr))?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: command_header!(@type $kind $ty),
            )*
        }

        impl $name {
            /// The Java keys of this header, in wire order.
            pub const KEYS: &'static [&'static str] = &[$($key),*];
        }

        impl $crate::headers::CommandHeader for $name {
            fn from_ext(
                fields: &$crate::ext_fields::ExtFields,
            ) -> Result<Self, $crate::error::ProtocolError> {
                let _ = fields;
                Ok($name {
                    $($field: command_header!(@decode fields, $key, $kind $(($default))?),)*
                })
            }

            const KEY_COUNT: usize = Self::KEYS.len();

            fn write_ext(&self, fields: &mut $crate::ext_fields::ExtFields) {
                let _ = &fields;
                $(command_header!(@encode fields, $key, self.$field, $kind);)*
            }

            #[allow(unused_mut)]
            fn into_ext(self) -> $crate::ext_fields::ExtFields {
                let mut fields = $crate::ext_fields::ExtFields::with_capacity(Self::KEY_COUNT);
                $(command_header!(@encode_owned fields, $key, self.$field, $kind);)*
                fields
            }
        }

        #[cfg(test)]
        impl $crate::headers::testkit::HeaderSpec for $name {
            const FIELDS: &'static [$crate::headers::testkit::FieldSpec] = &[
                $($crate::headers::testkit::FieldSpec {
                    key: $key,
                    presence: command_header!(@presence $kind),
                    invalid: <$ty as $crate::headers::value::arb::ArbValue>::INVALID,
                },)*
            ];

            #[allow(unused_mut, unused_variables)]
            fn arbitrary() -> proptest::strategy::BoxedStrategy<Self> {
                use proptest::strategy::Strategy;
                proptest::strategy::Just(())
                    .prop_perturb(|(), mut rng| $name {
                        $($field: command_header!(@arb rng, $kind),)*
                    })
                    .boxed()
            }
        }
    };

    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { Option<$ty> };
    (@type default $ty:ty) => { $ty };

    (@decode $fields:ident, $key:literal, required) => {
        match $fields.get($key) {
            Some(raw) => $crate::headers::value::parse_field($key, raw)?,
            None => return Err($crate::error::ProtocolError::MissingField($key)),
        }
    };
    (@decode $fields:ident, $key:literal, optional) => {
        match $fields.get($key) {
            Some(raw) => Some($crate::headers::value::parse_field($key, raw)?),
            None => None,
        }
    };
    (@decode $fields:ident, $key:literal, default($default:expr)) => {
        match $fields.get($key) {
            Some(raw) => $crate::headers::value::parse_field($key, raw)?,
            None => $default,
        }
    };

    (@encode $fields:ident, $key:literal, $value:expr, optional) => {
        if let Some(value) = &$value {
            $fields.insert($key, $crate::headers::ExtValue::to_ext_string(value));
        }
    };
    (@encode $fields:ident, $key:literal, $value:expr, $kind:ident) => {
        $fields.insert($key, $crate::headers::ExtValue::to_ext_string(&$value));
    };
    (@encode_owned $fields:ident, $key:literal, $value:expr, optional) => {
        if let Some(value) = $value {
            $fields.insert($key, $crate::headers::ExtValue::into_ext_string(value));
        }
    };
    (@encode_owned $fields:ident, $key:literal, $value:expr, $kind:ident) => {
        $fields.insert($key, $crate::headers::ExtValue::into_ext_string($value));
    };

    (@presence required) => { $crate::headers::testkit::Presence::Required };
    (@presence optional) => { $crate::headers::testkit::Presence::Optional };
    (@presence default) => { $crate::headers::testkit::Presence::Defaulted };

    (@arb $rng:ident, optional) => {
        if proptest::prelude::Rng::next_u32(&mut $rng) & 3 == 0 {
            None
        } else {
            Some($crate::headers::value::arb::ArbValue::arb(&mut $rng))
        }
    };
    (@arb $rng:ident, $kind:ident) => {
        $crate::headers::value::arb::ArbValue::arb(&mut $rng)
    };
}

/// One property test per header: round trip plus the generic checks of `testkit::check`.
#[cfg(test)]
macro_rules! header_properties {
    ($($test:ident: $ty:ty),* $(,)?) => {
        proptest::proptest! {
            $(
                #[test]
                fn $test(header in <$ty as $crate::headers::testkit::HeaderSpec>::arbitrary()) {
                    $crate::headers::testkit::check(&header)?;
                }
            )*
        }
    };
}

#[cfg(test)]
mod testkit;

pub mod admin;
pub mod client;
pub mod namesrv;
pub mod offset;
pub mod pull;
pub mod query;
pub mod retry;
pub mod send;
pub mod transaction;

pub use admin::*;
pub use client::*;
pub use namesrv::*;
pub use offset::*;
pub use pull::*;
pub use query::*;
pub use retry::*;
pub use send::*;
pub use transaction::*;
