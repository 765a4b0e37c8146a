//! RFC 5322 §3.4 address lists as ENVELOPE gives them (RFC 3501 §7.4.2): a small tokenizer
//! (atoms, quoted strings, comments, domain literals, specials) and a lenient parser of
//! mailboxes, angle addresses with obsolete source routes (RFC 5322 §4.4) and groups.
//!
//! Nothing is decoded: encoded words (RFC 2047) stay as they are written, which is what
//! ENVELOPE sends; SEARCH decodes the whole field value itself.

/// One member of an ENVELOPE address list: `(name adl mailbox host)`.
///
/// RFC 3501 §7.4.2: a group start marker has the group name as mailbox and a NIL host, a
/// group end marker is all NIL. Any other address therefore has a host, empty when the
/// address lacks one, and a mailbox, empty when it lacks one (as Dovecot does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Address {
    pub name: Option<Vec<u8>>,
    pub adl: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

impl Address {
    fn group_start(name: Vec<u8>) -> Self {
        Self {
            mailbox: Some(name),
            ..Self::default()
        }
    }

    /// True for the start and end markers of a group.
    pub fn is_group_marker(&self) -> bool {
        self.host.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    /// A run of atext and dots: an atom, a dot-atom, or a piece of an obsolete one.
    Word(&'a [u8]),
    /// A quoted string: as written (with its quotes) and its content.
    Quoted { raw: &'a [u8], text: Vec<u8> },
    /// A comment's content, without its outer parentheses.
    Comment(Vec<u8>),
    /// A domain literal with its brackets.
    Literal(&'a [u8]),
    /// One of `< > : ; @ ,` (and a stray `)` or `]`).
    Special(u8),
}

fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b':' | b';' | b'@' | b',' | b'"'
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn tokenize(value: &[u8]) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if is_space(b) {
            i += 1;
        } else if b == b'"' {
            // quoted-string: quoted-pairs are resolved; an unterminated one runs to the end.
            let start = i;
            let mut text = Vec::new();
            i += 1;
            while i < value.len() && value[i] != b'"' {
                if value[i] == b'\\' && i + 1 < value.len() {
                    i += 1;
                }
                if !matches!(value[i], b'\r' | b'\n') {
                    text.push(value[i]);
                }
                i += 1;
            }
            i = (i + 1).min(value.len());
            tokens.push(Token::Quoted {
                raw: &value[start..i],
                text,
            });
        } else if b == b'(' {
            // comment: nested comments are part of it.
            let mut depth = 0usize;
            let mut text = Vec::new();
            while i < value.len() {
                match value[i] {
                    b'\\' if i + 1 < value.len() => {
                        i += 1;
                        text.push(value[i]);
                    }
                    b'(' => {
                        if depth > 0 {
                            text.push(b'(');
                        }
                        depth += 1;
                    }
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                        text.push(b')');
                    }
                    c => text.push(c),
                }
                i += 1;
            }
            tokens.push(Token::Comment(text));
        } else if b == b'[' {
            let start = i;
            while i < value.len() && value[i] != b']' {
                if value[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(value.len());
            tokens.push(Token::Literal(&value[start..i]));
        } else if is_special(b) {
            tokens.push(Token::Special(b));
            i += 1;
        } else {
            let start = i;
            while i < value.len() && !is_special(value[i]) && !is_space(value[i]) {
                i += 1;
            }
            tokens.push(Token::Word(&value[start..i]));
        }
    }
    tokens
}

/// The address list of a header field value (unfolded or not).
pub(super) fn parse(value: &[u8]) -> Vec<Address> {
    let mut parser = Parser {
        tokens: tokenize(value),
        pos: 0,
        out: Vec::new(),
    };
    while parser.pos < parser.tokens.len() {
        let before = parser.pos;
        match parser.peek() {
            // Empty list members (RFC 5322 §4.4 obs-addr-list) and stray separators.
            Some(Token::Special(b',' | b';' | b'>' | b')' | b']')) => parser.pos += 1,
            _ => parser.address(true),
        }
        if parser.pos == before {
            parser.pos += 1;
        }
    }
    parser.out
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    out: Vec<Address>,
}

/// Words of a phrase joined by single spaces, quoted strings by their content.
fn phrase(words: &[&Token<'_>]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match word {
            Token::Word(w) | Token::Literal(w) => out.extend_from_slice(w),
            Token::Quoted { text, .. } => out.extend_from_slice(text),
            _ => {}
        }
    }
    (!words.is_empty()).then_some(out)
}

/// A local part or domain: its pieces as written, without the whitespace between them.
fn joined(words: &[&Token<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in words {
        match word {
            Token::Word(w) | Token::Literal(w) | Token::Quoted { raw: w, .. } => {
                out.extend_from_slice(w)
            }
            Token::Special(c) => out.push(*c),
            Token::Comment(_) => {}
        }
    }
    out
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn at(&self, special: u8) -> bool {
        self.peek() == Some(&Token::Special(special))
    }

    /// Words (and comments, kept aside) up to the next special.
    fn words(&mut self, comment: &mut Option<Vec<u8>>) -> Vec<usize> {
        let mut words = Vec::new();
        while let Some(token) = self.peek() {
            match token {
                Token::Special(_) => break,
                Token::Comment(c) => {
                    if comment.is_none() && !c.is_empty() {
                        *comment = Some(c.clone());
                    }
                }
                _ => words.push(self.pos),
            }
            self.pos += 1;
        }
        words
    }

    fn tokens_at(&self, at: &[usize]) -> Vec<&Token<'a>> {
        at.iter().map(|&i| &self.tokens[i]).collect()
    }

    /// A domain: words, literals and dots up to the next special other than those.
    fn domain(&mut self, comment: &mut Option<Vec<u8>>) -> Vec<u8> {
        let at = self.words(comment);
        joined(&self.tokens_at(&at))
    }

    /// One mailbox, or (when `groups` is true) a group of them.
    fn address(&mut self, groups: bool) {
        let mut comment = None;
        let mut at = self.words(&mut comment);
        // RFC 5322 §3.4: no group in a group; a stray colon there is skipped.
        while !groups && self.at(b':') {
            self.pos += 1;
            at = self.words(&mut comment);
        }
        match self.peek() {
            // A group needs its display name; a colon alone is skipped by the caller.
            Some(Token::Special(b':')) if !at.is_empty() => {
                let name = phrase(&self.tokens_at(&at)).unwrap_or_default();
                self.pos += 1;
                self.out.push(Address::group_start(name));
                // RFC 5322 §3.4: group-list is mailboxes, CFWS alone or nothing; a comment
                // is never an address (`undisclosed-recipients: (none) ;`).
                while let Some(token) = self.peek() {
                    match token {
                        Token::Special(b';') => {
                            self.pos += 1;
                            break;
                        }
                        Token::Special(b',' | b'>' | b')' | b']') => self.pos += 1,
                        _ => {
                            let before = self.pos;
                            self.address(false);
                            if self.pos == before {
                                self.pos += 1;
                            }
                        }
                    }
                }
                self.out.push(Address::default());
            }
            Some(Token::Special(b'<')) => {
                let name = phrase(&self.tokens_at(&at));
                self.pos += 1;
                let mut address = self.angle(&mut comment);
                address.name = name.or(comment);
                self.out.push(address);
                self.trailer();
            }
            Some(Token::Special(b'@')) => {
                let mailbox = joined(&self.tokens_at(&at));
                self.pos += 1;
                let host = self.domain(&mut comment);
                self.out.push(Address {
                    name: comment,
                    adl: None,
                    mailbox: Some(mailbox),
                    host: Some(host),
                });
                self.trailer();
            }
            // A local part alone (or a phrase without an address): no host.
            _ if !at.is_empty() => {
                let mailbox = joined(&self.tokens_at(&at));
                self.out.push(Address {
                    name: comment,
                    adl: None,
                    mailbox: Some(mailbox),
                    host: Some(Vec::new()),
                });
            }
            _ => {}
        }
    }

    /// After `<`: `[route ":"] local-part "@" domain ">"` (RFC 5322 §4.4 obs-angle-addr).
    fn angle(&mut self, comment: &mut Option<Vec<u8>>) -> Address {
        let close = self.tokens[self.pos..]
            .iter()
            .position(|t| *t == Token::Special(b'>'))
            .map_or(self.tokens.len(), |p| self.pos + p);
        let mut adl = None;
        if self.at(b'@')
            && let Some(colon) = self.tokens[self.pos..close]
                .iter()
                .position(|t| *t == Token::Special(b':'))
        {
            // obs-route: `@a,@b:` becomes the adl `@a,@b` (RFC 3501 §7.4.2).
            let route: Vec<&Token<'_>> = self.tokens[self.pos..self.pos + colon]
                .iter()
                .filter(|t| !matches!(t, Token::Comment(_)))
                .collect();
            adl = Some(joined(&route));
            self.pos += colon + 1;
        }
        let at = self.words(comment);
        let mailbox = joined(&self.tokens_at(&at));
        let host = if self.at(b'@') {
            self.pos += 1;
            self.domain(comment)
        } else {
            Vec::new()
        };
        // Whatever else is before `>` is not part of the address.
        if close < self.tokens.len() {
            self.pos = self.pos.max(close + 1);
        }
        Address {
            name: None,
            adl,
            mailbox: Some(mailbox),
            host: Some(host),
        }
    }

    /// Skips what follows an address up to the next `,` or `;` (comments, junk).
    fn trailer(&mut self) {
        while let Some(token) = self.peek() {
            if matches!(token, Token::Special(b',' | b';')) {
                break;
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list as ENVELOPE writes it, with `NIL` for absent fields.
    fn envelope_list(value: &str) -> String {
        parse(value.as_bytes())
            .iter()
            .map(|a| {
                let f = |s: &Option<Vec<u8>>| match s {
                    Some(s) => format!("\"{}\"", String::from_utf8_lossy(s)),
                    None => "NIL".into(),
                };
                format!(
                    "({} {} {} {})",
                    f(&a.name),
                    f(&a.adl),
                    f(&a.mailbox),
                    f(&a.host)
                )
            })
            .collect()
    }

    #[test]
    fn address_lists() {
        let cases: &[(&str, &str)] = &[
            ("a@x", r#"(NIL NIL "a" "x")"#),
            (
                "a@x, \"B, C\" <b@y>",
                r#"(NIL NIL "a" "x")("B, C" NIL "b" "y")"#,
            ),
            (
                "Bob Lee <bob@remote.test>",
                r#"("Bob Lee" NIL "bob" "remote.test")"#,
            ),
            (
                "  Bob   (the) Lee <bob@x> (work)",
                r#"("Bob Lee" NIL "bob" "x")"#,
            ),
            // RFC 3501 §7.4.2: group start (name as mailbox, NIL host) and end markers.
            (
                "group: a@x, b@y;",
                r#"(NIL NIL "group" NIL)(NIL NIL "a" "x")(NIL NIL "b" "y")(NIL NIL NIL NIL)"#,
            ),
            (
                "undisclosed-recipients:;",
                r#"(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)"#,
            ),
            (
                "undisclosed-recipients: (none) ;",
                r#"(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)"#,
            ),
            (
                "a@x, \"The Team\": Ann <ann@t>, bo@t; , c@z",
                r#"(NIL NIL "a" "x")(NIL NIL "The Team" NIL)("Ann" NIL "ann" "t")(NIL NIL "bo" "t")(NIL NIL NIL NIL)(NIL NIL "c" "z")"#,
            ),
            // A group without its semicolon still ends.
            (
                "g: a@x",
                r#"(NIL NIL "g" NIL)(NIL NIL "a" "x")(NIL NIL NIL NIL)"#,
            ),
            // RFC 5322 §4.4 obs-route: the route goes to the adl.
            (
                "<@route1,@route2:user@domain>",
                r#"(NIL "@route1,@route2" "user" "domain")"#,
            ),
            (
                "Joe <@a.test, @b.test:joe@c.test>",
                r#"("Joe" "@a.test,@b.test" "joe" "c.test")"#,
            ),
            // Encoded words stay as written.
            (
                "=?UTF-8?B?67CV7KeA7Jew?= <jiyeon@remote.test>",
                r#"("=?UTF-8?B?67CV7KeA7Jew?=" NIL "jiyeon" "remote.test")"#,
            ),
            (
                "\"=?UTF-8?Q?Caf=C3=A9?=\" <c@x>",
                r#"("=?UTF-8?Q?Caf=C3=A9?=" NIL "c" "x")"#,
            ),
            // Quoted pairs resolved in names, quoted local parts kept as written.
            (
                r#""a \"b\" c" <"john doe"@x>"#,
                r#"("a "b" c" NIL ""john doe"" "x")"#,
            ),
            // A comment names an address without a display name (old style).
            ("a@x (Alice A)", r#"("Alice A" NIL "a" "x")"#),
            (
                "john . doe @ example . org",
                r#"(NIL NIL "john.doe" "example.org")"#,
            ),
            ("a@[192.0.2.1]", r#"(NIL NIL "a" "[192.0.2.1]")"#),
            // No host: empty, so that it is not read as a group marker.
            ("alice", r#"(NIL NIL "alice" "")"#),
            ("<>", r#"(NIL NIL "" "")"#),
            ("", ""),
            ("  ,, (just a comment) ", ""),
            // Nested groups are not allowed: the inner colon is skipped.
            (
                "g: h: a@x;",
                r#"(NIL NIL "g" NIL)(NIL NIL "a" "x")(NIL NIL NIL NIL)"#,
            ),
            // Junk does not make the parser loop or panic.
            (
                "<<<@:>>> ;;: \"unterminated",
                r#"(NIL NIL "" "")(NIL NIL ""unterminated" "")"#,
            ),
            // An angle address without its `>` ends at the next comma.
            ("<a@x, b@y", r#"(NIL NIL "a" "x")(NIL NIL "b" "y")"#),
        ];
        for (value, expected) in cases {
            assert_eq!(envelope_list(value), *expected, "for {value:?}");
        }
    }

    #[test]
    fn unbalanced_input_never_panics() {
        for value in [
            "(", ")", "\"", "\\", "[", "]", "<", ">", "@", ":", ";", ",", "(a(b)", "a@", "@a",
            "<@", "<@a", "<@a:", "<@a,@b:", "g:<", "x\\", "\"\\", "(\\", "[\\",
        ] {
            let _ = parse(value.as_bytes());
        }
    }
}
