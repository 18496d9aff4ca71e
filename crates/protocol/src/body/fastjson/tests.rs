//! Property tests tying the writer and the reader together.

use proptest::prelude::*;
use serde_json::Value;

use super::*;

const SAFE: i64 = 9_007_199_254_740_991;

fn arb_scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-SAFE..=SAFE).prop_map(Json::Int),
        any::<f64>().prop_map(Json::Double),
        any::<String>().prop_map(Json::Str),
    ]
}

fn arb_bean_key() -> impl Strategy<Value = Json> {
    prop::collection::vec(("[a-zA-Z]{1,8}", any::<String>(), any::<i32>()), 0..4).prop_map(
        |fields| {
            Json::bean(fields.into_iter().enumerate().map(|(i, (_, s, n))| {
                // Names must be 'static for `bean`; a fixed alphabet keeps them distinct.
                let name = ["brokerName", "queueId", "topic", "zone"][i % 4];
                let value = if i % 2 == 0 { Json::Str(s) } else { Json::Int(i64::from(n)) };
                (name, value)
            }))
        },
    )
}

fn arb_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        any::<String>().prop_map(Key::Str),
        any::<i64>().prop_map(Key::Int),
        arb_bean_key().prop_map(|b| Key::Object(Box::new(b))),
    ]
}

fn arb_json() -> impl Strategy<Value = Json> {
    arb_scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((arb_key(), inner), 0..6).prop_map(Json::Object),
        ]
    })
}

proptest! {
    /// What fastjson style writes, the normaliser reads back as the standard style's meaning.
    #[test]
    fn fastjson_style_normalises_to_standard_style(tree in arb_json()) {
        let fast = tree.render(JsonStyle::Fastjson);
        let standard = tree.render(JsonStyle::Standard);
        let direct: Value = serde_json::from_slice(&standard).unwrap();
        let via_fast = parse(&fast).unwrap();
        let via_standard = parse(&standard).unwrap();
        prop_assert_eq!(&direct, &via_standard);
        prop_assert_eq!(direct, via_fast);
    }
}
