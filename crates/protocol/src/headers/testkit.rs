//! Test support: the per-header spec `command_header!` generates, and the generic checks
//! every header's property test runs.

use std::fmt::Debug;

use proptest::prelude::*;

use super::CommandHeader;
use crate::error::ProtocolError;

/// How a field behaves when its key is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Required,
    Optional,
    Defaulted,
}

/// One row of a header table, as the tests see it.
#[derive(Debug)]
pub(crate) struct FieldSpec {
    pub(crate) key: &'static str,
    pub(crate) presence: Presence,
    /// A value of the field's type that must be rejected, if the type rejects anything.
    pub(crate) invalid: Option<&'static str>,
}

/// What `command_header!` generates for the tests.
pub(crate) trait HeaderSpec: CommandHeader + Debug + PartialEq + Sized {
    const FIELDS: &'static [FieldSpec];
    fn arbitrary() -> BoxedStrategy<Self>;
}

/// Keys that are never part of a header unless declared; decoding must ignore them.
const NOISE: &[(&str, &str)] = &[
    ("ns", "namespace"),
    ("nsd", "maybe"),
    ("bname", "broker-a"),
    ("oway", "true"),
    ("lo", "not-a-bool"),
    ("__ZONE_NAME", "z"),
    ("AccessKey", "ak"),
    ("Signature", "sig"),
    ("_UNIQUE_KEY_QUERY", "true"),
    ("noSuchKey", "x"),
];

/// Round trip, key set, missing keys, bad values, ignored base and unknown keys.
pub(crate) fn check<H: HeaderSpec>(header: &H) -> Result<(), TestCaseError> {
    let declared = |key: &str| H::FIELDS.iter().any(|f| f.key == key);
    let ext = header.to_ext();

    for (key, _) in ext.iter() {
        prop_assert!(declared(key), "undeclared key {key} written");
    }
    for field in H::FIELDS {
        if field.presence != Presence::Optional {
            prop_assert!(ext.contains(field.key), "{} not written", field.key);
        }
    }
    prop_assert_eq!(&H::from_ext(&ext)?, header);
    // Moving the header out gives the same keys, in the same order.
    let moved = H::from_ext(&ext)?.into_ext();
    prop_assert_eq!(moved.iter().collect::<Vec<_>>(), ext.iter().collect::<Vec<_>>());

    let mut noisy = ext.clone();
    for (key, value) in NOISE {
        if !declared(key) {
            noisy.insert(*key, *value);
        }
    }
    prop_assert_eq!(H::from_ext(&noisy)?.to_ext(), ext.clone());

    for field in H::FIELDS {
        let mut less = ext.clone();
        if less.remove(field.key).is_some() {
            match field.presence {
                Presence::Required => prop_assert_eq!(
                    H::from_ext(&less).err(),
                    Some(ProtocolError::MissingField(field.key))
                ),
                Presence::Optional => prop_assert_eq!(H::from_ext(&less)?.to_ext(), less),
                Presence::Defaulted => {
                    prop_assert!(H::from_ext(&less)?.to_ext().contains(field.key))
                }
            }
        }
        if let Some(bad) = field.invalid {
            let mut wrong = ext.clone();
            wrong.insert(field.key, bad);
            prop_assert_eq!(
                H::from_ext(&wrong).err(),
                Some(ProtocolError::InvalidField { field: field.key, value: bad.to_string() })
            );
        }
    }
    Ok(())
}
