//! Output: readable tables (money as NT$), one JSON document (`--json`, money in minor units),
//! or CSV (`--csv`, lists only).

use std::io::Write as _;

use serde::Serialize;
use sinopac_proto::Amount;

use crate::error::{CliError, CliResult, Context as _, ExitKind};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table / key-value list.
    Table,
    /// One JSON document on stdout.
    Json,
    /// CSV with a header row (lists only).
    Csv,
}

/// Writes text to stdout; a closed pipe (`sinopac … | head`) is not an error.
pub fn print(text: &str) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context(ExitKind::Other, "cannot write to stdout"),
    }
}

/// Writes a line to stdout.
pub fn println(text: &str) -> CliResult<()> {
    let mut s = String::with_capacity(text.len() + 1);
    s.push_str(text);
    s.push('\n');
    print(&s)
}

/// Writes a line to stderr (notes and progress; never data).
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ignored = writeln!(err, "{text}");
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value)
        .context(ExitKind::Other, "cannot render the result as JSON")?;
    println(&text)
}

/// Money for people: `NT$1,234.50`.
pub fn money(amount: Amount) -> String {
    amount.to_string()
}

/// Optional money for people (`-` when absent).
pub fn money_opt(amount: Option<Amount>) -> String {
    amount.map_or_else(|| "-".to_owned(), money)
}

/// Optional display value (`-` when absent or empty).
pub fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    match value {
        Some(v) => {
            let s = v.to_string();
            if s.is_empty() { "-".to_owned() } else { s }
        }
        None => "-".to_owned(),
    }
}

/// Terminal columns taken by `c`: 2 for East Asian wide characters, 0 for combining marks.
fn char_width(c: char) -> usize {
    let u = u32::from(c);
    if c.is_control() || (0x300..=0x36F).contains(&u) || u == 0x200B {
        0
    } else if (0x1100..=0x115F).contains(&u)
        || (0x2E80..=0x303E).contains(&u)
        || (0x3041..=0x33FF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x4E00..=0x9FFF).contains(&u)
        || (0xA000..=0xA4CF).contains(&u)
        || (0xAC00..=0xD7A3).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFF60).contains(&u)
        || (0xFFE0..=0xFFE6).contains(&u)
        || (0x1F300..=0x1FAFF).contains(&u)
        || (0x20000..=0x3FFFD).contains(&u)
    {
        2
    } else {
        1
    }
}

/// Terminal width of a string.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// A table of strings.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Columns aligned right (money, counts).
    right: Vec<bool>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            right: vec![false; headers.len()],
        }
    }

    /// Aligns the named columns to the right.
    #[must_use]
    pub fn right(mut self, columns: &[&str]) -> Self {
        for (i, h) in self.headers.iter().enumerate() {
            if columns.contains(&h.as_str())
                && let Some(r) = self.right.get_mut(i)
            {
                *r = true;
            }
        }
        self
    }

    /// Adds a row (missing cells render empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// `true` without rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn cell(row: &[String], i: usize) -> &str {
        row.get(i).map_or("", String::as_str)
    }

    /// Aligned columns separated by two spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(width(Self::cell(row, i)));
            }
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, cell) in cells.enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = " ".repeat(w.saturating_sub(width(cell)));
                if i > 0 {
                    text.push_str("  ");
                }
                if self.right.get(i).copied().unwrap_or(false) {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().map(String::as_str));
        for row in &self.rows {
            line(&mut (0..self.headers.len()).map(|i| Self::cell(row, i)));
        }
        out
    }

    /// RFC 4180 CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let fields: Vec<String> = cells.map(csv_field).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(&mut self.headers.iter().map(String::as_str));
        for row in &self.rows {
            line(&mut (0..self.headers.len()).map(|i| Self::cell(row, i)));
        }
        out
    }
}

fn csv_field(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// Key-value pairs for a single record.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(k);
        out.push_str(&" ".repeat(w.saturating_sub(width(k)) + 2));
        out.push_str(v);
        out.push('\n');
    }
    out
}

/// Prints a list: table, CSV, or JSON (`json` is the document to print for `--json`).
pub fn print_list<T: Serialize + ?Sized>(format: Format, table: &Table, json: &T) -> CliResult<()> {
    match format {
        Format::Json => print_json(json),
        Format::Csv => print(&table.to_csv()),
        Format::Table => {
            if table.is_empty() {
                note("(no rows)");
                Ok(())
            } else {
                print(&table.render())
            }
        }
    }
}

/// Refuses `--csv` for commands that print a single record.
pub fn no_csv(format: Format, what: &str) -> CliResult<()> {
    if format == Format::Csv {
        return Err(CliError::usage(format!(
            "--csv is only available for lists; {what} prints one record (use --json)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_alignment_and_csv() {
        let mut t = Table::new(&["Order", "Product", "Amount"]).right(&["Amount"]);
        t.row(vec![
            "A1".into(),
            "虛擬帳號".into(),
            money(Amount::from_minor(50000)),
        ]);
        t.row(vec![
            "B22".into(),
            "x,\"y\"".into(),
            money(Amount::from_minor(123_456)),
        ]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Order  Product        Amount");
        assert_eq!(lines[1], "A1     虛擬帳號       NT$500");
        assert_eq!(lines[2], "B22    x,\"y\"     NT$1,234.56");
        assert_eq!(
            t.to_csv(),
            "Order,Product,Amount\r\nA1,虛擬帳號,NT$500\r\nB22,\"x,\"\"y\"\"\",\"NT$1,234.56\"\r\n"
        );
    }

    #[test]
    fn kv_aligns() {
        assert_eq!(
            kv(&[("a", "1".into()), ("long", "2".into())]),
            "a     1\nlong  2\n"
        );
    }
}
