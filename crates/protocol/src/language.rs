//! `LanguageCode`: which client library sent a command (a name in JSON, a byte in binary).

/// The sender's language. Unknown values decode to [`LanguageCode::Other`] rather than
/// failing: Java itself decodes an unknown byte to null and carries on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    Rust,
    NodeJs,
}

const TABLE: [(LanguageCode, &str); 14] = [
    (LanguageCode::Java, "JAVA"),
    (LanguageCode::Cpp, "CPP"),
    (LanguageCode::Dotnet, "DOTNET"),
    (LanguageCode::Python, "PYTHON"),
    (LanguageCode::Delphi, "DELPHI"),
    (LanguageCode::Erlang, "ERLANG"),
    (LanguageCode::Ruby, "RUBY"),
    (LanguageCode::Other, "OTHER"),
    (LanguageCode::Http, "HTTP"),
    (LanguageCode::Go, "GO"),
    (LanguageCode::Php, "PHP"),
    (LanguageCode::Oms, "OMS"),
    (LanguageCode::Rust, "RUST"),
    (LanguageCode::NodeJs, "NODE_JS"),
];

impl LanguageCode {
    /// The byte used by the ROCKETMQ binary header.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes the binary header byte.
    pub fn from_code(code: u8) -> Self {
        TABLE.get(usize::from(code)).map(|(l, _)| *l).unwrap_or(LanguageCode::Other)
    }

    /// The enum name used by the JSON header.
    pub fn name(self) -> &'static str {
        TABLE.get(self as usize).map(|(_, n)| *n).unwrap_or("OTHER")
    }

    /// Decodes the JSON header name (case-insensitive, as fastjson is for enums).
    pub fn from_name(name: &str) -> Self {
        TABLE
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(l, _)| *l)
            .unwrap_or(LanguageCode::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for (i, (lang, name)) in TABLE.iter().enumerate() {
            assert_eq!(usize::from(lang.code()), i);
            assert_eq!(LanguageCode::from_code(lang.code()), *lang);
            assert_eq!(LanguageCode::from_name(name), *lang);
        }
        assert_eq!(LanguageCode::Rust.code(), 12);
        assert_eq!(LanguageCode::Go.code(), 9);
        assert_eq!(LanguageCode::from_code(200), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("KLINGON"), LanguageCode::Other);
    }
}
