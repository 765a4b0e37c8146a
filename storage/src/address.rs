//! Addresses as the directory stores them.
//!
//! The directory keeps every address in lowercase: the domain is case-insensitive
//! (RFC 5321 §2.4) and, like Postfix virtual maps and Dovecot, Baedal treats local parts
//! case-insensitively too, so `Alice@Example.ORG` and `alice@example.org` are one user.
//! Non-ASCII domains must be given in their A-label (punycode) form.

use std::fmt;

use serde::Serialize;

/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets; DNS limits names to 253 characters.
pub const MAX_DOMAIN_LEN: usize = 253;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
pub const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("invalid domain name '{0}': {1}")]
    Domain(String, &'static str),
    #[error("invalid address '{0}': {1}")]
    Address(String, &'static str),
}

/// A validated, lowercase domain name such as `example.org`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let name = input.trim().trim_end_matches('.').to_ascii_lowercase();
        let bad = |why| Err(AddressError::Domain(input.to_string(), why));
        if name.is_empty() {
            return bad("it is empty");
        }
        if !name.is_ascii() {
            return bad("use the punycode (xn--) form for international names");
        }
        if name.len() > MAX_DOMAIN_LEN {
            return bad("longer than 253 characters");
        }
        if !name.contains('.') {
            return bad("it needs at least two labels, like example.org");
        }
        for label in name.split('.') {
            if label.is_empty() {
                return bad("it has an empty label");
            }
            if label.len() > MAX_LABEL_LEN {
                return bad("a label is longer than 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return bad("only letters, digits, '-' and '.' are allowed");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a label starts or ends with '-'");
            }
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated, lowercase mail address `local@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    local: String,
    domain: DomainName,
}

/// RFC 5322 §3.2.3 `atext`: the characters of a dot-atom besides the dot.
fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim();
        let bad = |why| Err(AddressError::Address(input.to_string(), why));
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return bad("it needs the form user@domain");
        };
        let local = local.to_ascii_lowercase();
        if local.is_empty() {
            return bad("the part before '@' is empty");
        }
        if local.len() > MAX_LOCAL_PART_LEN {
            return bad("the part before '@' is longer than 64 characters");
        }
        // RFC 5321 §4.1.2 Dot-string: atoms separated by single dots.
        if local.split('.').any(|atom| atom.is_empty()) {
            return bad("the part before '@' has a leading, trailing or double dot");
        }
        if !local.bytes().all(|b| b == b'.' || is_atext(b)) {
            return bad("the part before '@' has a character that needs quoting");
        }
        let domain = DomainName::parse(domain)
            .map_err(|_| AddressError::Address(input.to_string(), "the domain is not valid"))?;
        Ok(Self { local, domain })
    }

    pub fn local_part(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &DomainName {
        &self.domain
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What an alias rewrites: one address, or every address of a domain (catch-all `@domain`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AliasSource {
    Address(EmailAddress),
    CatchAll(DomainName),
}

impl AliasSource {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        match input.trim().strip_prefix('@') {
            Some(domain) => DomainName::parse(domain).map(Self::CatchAll),
            None => EmailAddress::parse(input).map(Self::Address),
        }
    }

    pub fn domain(&self) -> &DomainName {
        match self {
            Self::Address(address) => address.domain(),
            Self::CatchAll(domain) => domain,
        }
    }
}

impl fmt::Display for AliasSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(address) => address.fmt(f),
            Self::CatchAll(domain) => write!(f, "@{domain}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lowercased_and_validated() {
        let a = EmailAddress::parse(" Alice.Smith@Example.ORG. ").unwrap();
        assert_eq!(a.to_string(), "alice.smith@example.org");
        assert_eq!(a.local_part(), "alice.smith");
        assert_eq!(a.domain().as_str(), "example.org");
        for bad in [
            "alice",
            "@example.org",
            "alice@",
            "al..ice@example.org",
            ".alice@example.org",
            "al ice@example.org",
            "alice@example",
            "alice@exa_mple.org",
            "alice@-example.org",
            "alice@ex..org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
        let long_local = format!("{}@example.org", "a".repeat(65));
        assert!(EmailAddress::parse(&long_local).is_err());
        assert!(EmailAddress::parse("user+tag@example.org").is_ok());
    }

    #[test]
    fn alias_sources_accept_catch_all() {
        assert_eq!(
            AliasSource::parse("@Example.org").unwrap(),
            AliasSource::CatchAll(DomainName::parse("example.org").unwrap())
        );
        assert_eq!(
            AliasSource::parse("sales@example.org").unwrap().to_string(),
            "sales@example.org"
        );
        assert!(AliasSource::parse("@").is_err());
    }
}
