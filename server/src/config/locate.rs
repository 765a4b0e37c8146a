//! Finding the line of a key in a TOML text, so errors can point at it.

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The dotted key whose value sits on `line` (1-based): the enclosing `[table]` plus the
/// key before `=`. `None` for a line that is not a `key = value` line.
pub fn key_at_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if let Some(header) = l.strip_prefix('[') {
            table = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
        if i + 1 == line {
            let (key, _) = l.split_once('=')?;
            let key = key.trim().trim_matches('"');
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// The 1-based line where dotted `key` is set, whether written under its `[table]` or as a
/// dotted key.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    (1..=text.lines().count()).find(|&line| key_at_line(text, line).as_deref() == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_tables_and_dotted_form() {
        let text = "hostname = \"mx\"\n\n[database]\nurl = \"x\"\n\n[storage.s3]\nbucket = \"b\"\n";
        assert_eq!(line_of_key(text, "hostname"), Some(1));
        assert_eq!(line_of_key(text, "database.url"), Some(4));
        assert_eq!(line_of_key(text, "storage.s3.bucket"), Some(7));
        assert_eq!(line_of_key("database.url = 1\n", "database.url"), Some(1));
        assert_eq!(key_at_line(text, 3), None);
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, text.find("url").unwrap()), 4);
    }
}
