//! Printing data on stdout: aligned tables (comfy-table), CSV and JSON, chosen by the
//! `--format` values ([`Format`], [`TableFormat`]).
//! Only data goes to stdout; messages, progress and logs go to stderr.
//!
//! Names come from the store, i.e. from whoever marked events: in `table` output every
//! cell is made safe for a terminal ([`display_cell`]: control characters and
//! bidirectional overrides escaped, long names shortened). CSV and JSON stay exact.

use std::io::{self, Write};

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, LineStyle, TableStyle};

/// `--format` of commands that print one summary or value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned, for a terminal.
    Table,
    /// JSON on stdout alone.
    Json,
}

/// `--format` of commands that print a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned, for a terminal.
    Table,
    /// JSON on stdout alone.
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

/// The most characters a table cell shows; longer ones end with `…`.
pub const MAX_CELL_CHARS: usize = 64;

/// A cell as a table shows it: [`escape_text`], cut to [`MAX_CELL_CHARS`] characters,
/// the last one `…`.
pub fn display_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_CELL_CHARS * 4));
    let mut chars = 0usize;
    for c in text.chars() {
        // One character past the limit is enough to know the cell must be cut.
        if chars > MAX_CELL_CHARS {
            break;
        }
        push_escaped(&mut out, c);
        chars = out.chars().count();
    }
    if out.chars().count() > MAX_CELL_CHARS {
        let mut cut: String = out.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        return cut;
    }
    out
}

/// Text made safe for a terminal, whole (ids, names in messages): control characters (C0,
/// DEL, C1) and the bidirectional formatting characters that reorder a terminal's text
/// (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C) written as Rust-style escapes
/// (`\n`, `\u{1b}`), backslashes doubled so that the escapes stay unambiguous. One line
/// of output is always one value.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_bidi_control(c) => {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
        c => out.push(c),
    }
}

/// The characters that change the direction of the text after them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Columns separated by spaces, one rule under the header: compact and easy to read.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction(' '));

/// A table of text cells: a header and rows, the first `label_cols` columns left-aligned
/// and the others (numbers) right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
    /// How many leading columns hold labels rather than numbers.
    pub label_cols: usize,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: impl IntoIterator<Item = impl Into<String>>, label_cols: usize) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            label_cols,
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table aligned for a terminal.
    pub fn render(&self) -> String {
        let mut t = comfy_table::Table::new();
        t.load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(self.header.iter().map(|h| display_cell(h)));
        for row in &self.rows {
            t.add_row(row.iter().map(|c| display_cell(c)));
        }
        for i in self.label_cols..self.header.len() {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut out = String::new();
        for line in t.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The table as CSV (RFC 4180: fields quoted when needed, CRLF-free `\n` lines).
    pub fn csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }
}

/// One CSV field, quoted if it holds a comma, a quote or a line break.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Writes text to stdout (a closed pipe surfaces as an `io::Error`, never a panic).
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes a JSON value to stdout, pretty-printed, then a newline.
pub fn json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(print(&text)?)
}

/// Warns on stderr, one line per event of `events` that was never marked (the answer
/// counts it as zeros; the name is more likely a typo). Data on stdout is unchanged.
pub async fn warn_unmarked(bm: &bitmapist::Bitmapist, events: &[&str]) -> anyhow::Result<()> {
    for event in bm.unmarked_events(events).await? {
        note(&format!(
            "warning: event {} was never marked (no key in the store); its counts are zeros",
            escape_text(&format!("{event:?}"))
        ));
    }
    Ok(())
}

/// A message for people, on stderr (ignored if stderr is closed).
pub fn note(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

pub use bitmapist::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut t = Table::new(["event", "n"], 1);
        t.push(vec!["a,b".into(), "1".into()]);
        t.push(vec!["say \"hi\"".into(), "2".into()]);
        assert_eq!(t.csv(), "event,n\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n");
    }

    #[test]
    fn tables_escape_control_characters_and_cut_long_names() {
        assert_eq!(display_cell("plain name"), "plain name");
        assert_eq!(
            display_cell("a\x1b[31mred\r\nb\\n"),
            "a\\u{1b}[31mred\\r\\nb\\\\n"
        );
        assert_eq!(display_cell("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
        let long = "é".repeat(10_000);
        let shown = display_cell(&long);
        assert_eq!(shown.chars().count(), MAX_CELL_CHARS);
        assert!(shown.ends_with('…'));
        // Whole text: escaped the same way, never cut.
        assert_eq!(
            escape_text("id\twith\nlines\x1b"),
            "id\\twith\\nlines\\u{1b}"
        );
        assert_eq!(escape_text(&long), long);
        // A name exactly at the limit is shown whole.
        let at_limit = "n".repeat(MAX_CELL_CHARS);
        assert_eq!(display_cell(&at_limit), at_limit);
        let mut t = Table::new(["event", "n"], 1);
        t.push(vec!["evil\x1b]0;title\x07\nline".into(), "1".into()]);
        let text = t.render();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert_eq!(text.lines().count(), 3, "{text}");
        // CSV stays exact.
        assert!(t.csv().contains("evil\x1b]0;title\x07\nline"));
    }

    #[test]
    fn table_aligns_numbers_right() {
        let mut t = Table::new(["event", "n"], 1);
        t.push(vec!["a".into(), "1".into()]);
        t.push(vec!["bbbb".into(), "100".into()]);
        let text = t.render();
        assert!(text.contains("   1"), "{text}");
    }
}
