//! Printing results: aligned tables and `key: value` lines for people, JSON for scripts.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// A message for people, or `value` as JSON.
    pub fn done<T: Serialize>(&self, message: &str, value: &T) {
        if self.json {
            self.print_json(value);
        } else {
            println!("{message}");
        }
    }

    /// A list: a table for people, a JSON array for scripts.
    pub fn list<T: Serialize>(
        &self,
        items: &[T],
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) {
        if self.json {
            self.print_json(&items);
        } else {
            print!("{}", table(headers, items.iter().map(row).collect()));
        }
    }

    /// One record: `key: value` lines for people, a JSON object for scripts.
    pub fn record<T: Serialize>(&self, value: &T, fields: &[(&str, String)]) {
        if self.json {
            self.print_json(value);
        } else {
            let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (key, val) in fields {
                println!("{key:width$}  {val}");
            }
        }
    }

    fn print_json<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot print JSON: {e}"),
        }
    }
}

/// Left-aligned columns separated by two spaces.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

pub fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["DOMAIN", "USERS"],
            vec![
                vec!["example.org".into(), "3".into()],
                vec!["a.kr".into(), "10".into()],
            ],
        );
        assert_eq!(t, "DOMAIN       USERS\nexample.org  3\na.kr         10\n");
    }
}
