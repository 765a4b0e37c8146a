//! The extended LIST syntax (RFC 5258, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE selection),
//! which the command parser does not read: `LIST (opts) ref pattern(s) RETURN (opts)`.

use super::mailboxes::ListOptions;

/// One token of a LIST line: an atom, a quoted string, or a parenthesised list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Atom(String),
    Quoted(String),
    List(Vec<Token>),
}

fn tokens(input: &str) -> Option<Vec<Token>> {
    fn list(
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        depth: usize,
    ) -> Option<Vec<Token>> {
        let mut out = Vec::new();
        loop {
            match chars.peek()? {
                ' ' => {
                    chars.next();
                }
                ')' if depth > 0 => {
                    chars.next();
                    return Some(out);
                }
                '(' => {
                    chars.next();
                    if depth > 3 {
                        return None;
                    }
                    out.push(Token::List(list(chars, depth + 1)?));
                }
                '"' => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next()? {
                            '\\' => s.push(chars.next()?),
                            '"' => break,
                            c => s.push(c),
                        }
                    }
                    out.push(Token::Quoted(s));
                }
                '{' => return None, // literals: leave them to the regular parser
                _ => {
                    let mut s = String::new();
                    while let Some(&c) = chars.peek() {
                        if c == ' ' || c == '(' || c == ')' {
                            break;
                        }
                        s.push(c);
                        chars.next();
                    }
                    out.push(Token::Atom(s));
                }
            }
            if depth == 0 && chars.peek().is_none() {
                return Some(out);
            }
        }
    }
    let mut chars = input.chars().peekable();
    if chars.peek().is_none() {
        return Some(Vec::new());
    }
    list(&mut chars, 0)
}

fn text(t: &Token) -> Option<String> {
    match t {
        Token::Atom(s) | Token::Quoted(s) => Some(s.clone()),
        Token::List(_) => None,
    }
}

/// `(tag, reference, patterns, options)` when `line` is a LIST with extended syntax; `None`
/// for anything else (the regular parser handles it).
pub(super) fn parse(line: &[u8]) -> Option<(String, String, Vec<String>, ListOptions)> {
    let line = std::str::from_utf8(line)
        .ok()?
        .trim_end_matches(['\r', '\n']);
    let (tag, rest) = line.split_once(' ')?;
    let (verb, rest) = rest.split_once(' ')?;
    if !verb.eq_ignore_ascii_case("LIST") {
        return None;
    }
    let toks = tokens(rest)?;
    let mut i = 0;
    let mut options = ListOptions::default();
    let mut extended = false;
    if let Some(Token::List(select)) = toks.first() {
        extended = true;
        for o in select {
            match text(o)?.to_ascii_uppercase().as_str() {
                "SUBSCRIBED" => options.select_subscribed = true,
                "SPECIAL-USE" => options.select_special_use = true,
                "RECURSIVEMATCH" => options.recursive_match = true,
                "REMOTE" => {}
                _ => return None,
            }
        }
        i += 1;
    }
    let reference = text(toks.get(i)?)?;
    i += 1;
    let patterns = match toks.get(i)? {
        Token::List(list) => {
            extended = true;
            list.iter().map(text).collect::<Option<Vec<_>>>()?
        }
        other => vec![text(other)?],
    };
    i += 1;
    if let Some(Token::Atom(ret)) = toks.get(i) {
        if !ret.eq_ignore_ascii_case("RETURN") {
            return None;
        }
        extended = true;
        let Token::List(returns) = toks.get(i + 1)? else {
            return None;
        };
        let mut j = 0;
        while j < returns.len() {
            match text(&returns[j])?.to_ascii_uppercase().as_str() {
                "SUBSCRIBED" => options.return_subscribed = true,
                "CHILDREN" | "SPECIAL-USE" => {}
                "STATUS" => {
                    let Token::List(items) = returns.get(j + 1)? else {
                        return None;
                    };
                    options.status = items.iter().map(text).collect::<Option<Vec<_>>>()?;
                    j += 1;
                }
                _ => return None,
            }
            j += 1;
        }
        i += 2;
    }
    if i != toks.len() || !extended {
        return None;
    }
    Some((tag.to_string(), reference, patterns, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_selection_return_and_status_options() {
        let (tag, reference, patterns, o) =
            parse(b"a1 LIST (SPECIAL-USE) \"\" (\"*\" INBOX) RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN))\r\n").unwrap();
        assert_eq!((tag.as_str(), reference.as_str()), ("a1", ""));
        assert_eq!(patterns, ["*", "INBOX"]);
        assert!(o.select_special_use && o.return_subscribed && !o.select_subscribed);
        assert_eq!(o.status, ["MESSAGES", "UNSEEN"]);
        assert!(
            parse(b"a LIST \"\" \"*\"\r\n").is_none(),
            "plain LIST goes to the regular parser"
        );
        assert!(parse(b"a LIST (BOGUS) \"\" \"*\"\r\n").is_none());
        assert!(parse(b"a LSUB (SUBSCRIBED) \"\" \"*\"\r\n").is_none());
    }
}
