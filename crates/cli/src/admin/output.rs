//! How admin commands print: aligned text tables for people, JSON for scripts, times in
//! the local zone like mqadmin, and mqadmin's timestamp arguments.

use std::io::Write;

use chrono::{Local, LocalResult, NaiveDateTime, TimeZone};
use serde_json::Value;

/// A text table: a header row (mqadmin style, each title starting with `#`) and rows,
/// printed with every column as wide as its widest cell.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(headers: &[&str]) -> Table {
        Table { headers: headers.iter().map(|h| format!("#{h}")).collect(), rows: Vec::new() }
    }

    /// Adds a row (missing cells print empty, extra cells are kept).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, each line ending in a newline, trailing spaces trimmed.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).chain([self.headers.len()]).max();
        let mut widths = vec![0; columns.unwrap_or(0)];
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = String::new();
            for (cell, width) in line.iter().zip(&widths) {
                text.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints `value` as pretty JSON when `json`, else the text `text` builds. A closed
/// stdout (`… | head`) is not an error.
pub fn emit(json: bool, value: Value, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    let out = if json { serde_json::to_string_pretty(&value)? + "\n" } else { text() };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in the local zone (mqadmin's `timeMillisToHumanString2`);
/// empty for 0 or a time that cannot be shown.
pub fn human_time(millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    match Local.timestamp_millis_opt(millis) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S,%3f").to_string()
        }
        LocalResult::None => String::new(),
    }
}

/// Reads an mqadmin timestamp argument: `now`, milliseconds since the epoch, or a local
/// time written `yyyy-MM-dd#HH:mm:ss:SSS` (Java `UtilAll.YYYY_MM_DD_HH_MM_SS_SSS`).
pub fn parse_timestamp(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if text == "now" {
        return Ok(Local::now().timestamp_millis());
    }
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d#%H:%M:%S:%3f").map_err(|_| {
        anyhow::anyhow!(
            "bad timestamp {text:?}: expected now, milliseconds since the epoch, or \
             yyyy-MM-dd#HH:mm:ss:SSS"
        )
    })?;
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp_millis()),
        LocalResult::None => anyhow::bail!("{text} does not exist in the local time zone"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_every_column() {
        let mut table = Table::new(&["Broker Name", "QID"]);
        table.row(vec!["broker-a".into(), "0".into()]);
        table.row(vec!["b".into(), "12".into()]);
        assert_eq!(table.render(), "#Broker Name  #QID\nbroker-a      0\nb             12\n");
        assert_eq!(Table::new(&["Only"]).render(), "#Only\n");
    }

    #[test]
    fn timestamps_parse_like_mqadmin() {
        assert_eq!(parse_timestamp("1700000000123").unwrap(), 1_700_000_000_123);
        let local = parse_timestamp("2023-11-14#22:13:20:123").unwrap();
        let back = Local.timestamp_millis_opt(local).unwrap();
        assert_eq!(back.format("%Y-%m-%d %H:%M:%S%.3f").to_string(), "2023-11-14 22:13:20.123");
        assert_eq!(human_time(local), "2023-11-14 22:13:20,123");
        let now = parse_timestamp("now").unwrap();
        assert!(now > 1_700_000_000_000);
        let err = parse_timestamp("yesterday").unwrap_err().to_string();
        assert!(err.contains("yyyy-MM-dd#HH:mm:ss:SSS"), "{err}");
        assert_eq!(human_time(0), "");
    }
}
