//! fastjson's `PrettyFormat` rendering of a body tree: how a Java broker writes its
//! `config/*.json` files (`ConfigManager.persist` encodes with pretty format on).
//!
//! ```text
//! {
//! →"dataVersion":{
//! →→"counter":1,
//! →→"timestamp":1700000000000
//! →},
//! →"offsetTable":{
//! →→"TopicTest@CG":{0:123,1:456
//! →→}
//! →}
//! }                                         (→ is one tab)
//! ```
//! fastjson's rules, reproduced here: an object with entries puts each string key on a new
//! line indented one tab deeper, and its closing brace on a new line at its own depth; a
//! map's integer keys get no line break (hence `{0:123,1:456` then a newline); an empty map
//! is `{}`. Sets and arrays stay on one line (only `java.util.List` is broken into lines,
//! and none of the config files holds one). A bean whose properties are all null would be
//! `{` newline newline `}` in Java; none of the config files holds one, so it renders `{}`.

use ferromq_protocol::body::fastjson::{Json, JsonStyle, Key};

/// Renders `tree` the way fastjson's `JSON.toJSONString(obj, true)` does.
pub fn render(tree: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    write(tree, 0, &mut out);
    out
}

fn newline(depth: usize, out: &mut Vec<u8>) {
    out.push(b'\n');
    for _ in 0..depth {
        out.push(b'\t');
    }
}

fn write(tree: &Json, depth: usize, out: &mut Vec<u8>) {
    match tree {
        Json::Object(entries) => {
            out.push(b'{');
            let mut any = false;
            for (key, value) in entries.iter().filter(|(_, v)| *v != Json::Null) {
                if any {
                    out.push(b',');
                }
                any = true;
                match key {
                    Key::Str(name) => {
                        newline(depth + 1, out);
                        Json::Str(name.clone()).write(out, JsonStyle::Fastjson);
                    }
                    Key::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                    Key::Object(bean) => write(bean, depth + 1, out),
                }
                out.push(b':');
                write(value, depth + 1, out);
            }
            if any {
                newline(depth, out);
            }
            out.push(b'}');
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, depth, out);
            }
            out.push(b']');
        }
        scalar => scalar.write(out, JsonStyle::Fastjson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(tree: &Json) -> String {
        String::from_utf8(render(tree)).unwrap()
    }

    #[test]
    fn nested_beans_and_maps() {
        let tree = Json::bean([
            ("b", Json::Object(vec![(Key::Int(0), Json::Int(1)), (Key::Int(1), Json::Int(2))])),
            ("a", Json::bean([("x", Json::Str("t\"".into())), ("y", Json::Null)])),
            ("c", Json::Object(Vec::new())),
            ("d", Json::Array(vec![Json::Str("s".into()), Json::Int(2)])),
        ]);
        assert_eq!(
            text(&tree),
            "{\n\t\"a\":{\n\t\t\"x\":\"t\\\"\"\n\t},\n\t\"b\":{0:1,1:2\n\t},\n\t\"c\":{},\n\t\"d\":[\"s\",2]\n}"
        );
    }

    #[test]
    fn beans_inside_arrays_indent_from_the_array_depth() {
        let tree = Json::bean([("s", Json::Array(vec![Json::bean([("k", Json::Int(1))])]))]);
        assert_eq!(text(&tree), "{\n\t\"s\":[{\n\t\t\"k\":1\n\t}]\n}");
    }

    #[test]
    fn pretty_text_reads_back() {
        let tree = Json::bean([(
            "offsetTable",
            Json::Object(vec![(
                Key::Str("T@G".into()),
                Json::Object(vec![(Key::Int(0), Json::Int(5))]),
            )]),
        )]);
        let value = ferromq_protocol::body::fastjson::parse(&render(&tree)).unwrap();
        assert_eq!(value["offsetTable"]["T@G"]["0"], 5);
    }
}
