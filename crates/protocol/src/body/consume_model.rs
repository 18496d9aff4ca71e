//! How a consumer group consumes: push/pull/pop, clustering/broadcasting, and where a new
//! group starts. Carried by Java enum name in heartbeats and connection bodies.

java_enum! {
    /// Pull (`CONSUME_ACTIVELY`), push (`CONSUME_PASSIVELY`) or pop.
    pub enum ConsumeType (default ConsumePassively) {
        ConsumeActively = "CONSUME_ACTIVELY",
        ConsumePassively = "CONSUME_PASSIVELY",
        ConsumePop = "CONSUME_POP",
    }
}

java_enum! {
    /// Whether each message goes to one member of the group or to every member.
    pub enum MessageModel (default Clustering) {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
}

java_enum! {
    /// Where a group with no committed offset starts consuming.
    pub enum ConsumeFromWhere (default ConsumeFromLastOffset) {
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated in Java.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated in Java.
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated in Java.
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::body::fastjson::FromJsonValue;

    #[test]
    fn names_ordinals_and_unknowns() {
        assert_eq!(ConsumeType::ConsumeActively.name(), "CONSUME_ACTIVELY");
        assert_eq!(
            ConsumeFromWhere::from_json_value(&json!("CONSUME_FROM_TIMESTAMP")).unwrap(),
            ConsumeFromWhere::ConsumeFromTimestamp
        );
        // fastjson also binds an enum from its ordinal.
        assert_eq!(
            ConsumeFromWhere::from_json_value(&json!(4)).unwrap(),
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        assert_eq!(
            MessageModel::from_json_value(&json!("SOMETHING_NEW")).unwrap(),
            MessageModel::Clustering
        );
        assert_eq!(
            ConsumeType::from_json_value(&json!(99)).unwrap(),
            ConsumeType::ConsumePassively
        );
        for t in ConsumeType::ALL {
            assert_eq!(ConsumeType::from_name(t.name()), Some(*t));
        }
    }
}
