//! The language of the texts the server writes to people (delivery reports, quota notices):
//! English or Korean, chosen per domain (`[notices]`). Log lines stay English and UTC.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    English,
    Korean,
}

impl Language {
    /// `en` or `ko`.
    pub fn parse(code: &str) -> Option<Self> {
        match code.to_ascii_lowercase().as_str() {
            "en" => Some(Self::English),
            "ko" => Some(Self::Korean),
            _ => None,
        }
    }
}

/// The site's choice: a default and the domains that differ.
#[derive(Debug, Clone, Default)]
pub struct NoticeLanguages {
    pub default: Language,
    /// Lowercased domain → its language.
    pub by_domain: HashMap<String, Language>,
}

impl NoticeLanguages {
    /// The language for a message to `address` (its domain's, else the default).
    pub fn for_address(&self, address: &str) -> Language {
        address
            .rsplit_once('@')
            .and_then(|(_, domain)| self.by_domain.get(&domain.to_ascii_lowercase()))
            .copied()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_may_differ_from_the_default() {
        let languages = NoticeLanguages {
            default: Language::English,
            by_domain: [("company.kr".to_string(), Language::Korean)].into(),
        };
        assert_eq!(languages.for_address("kim@Company.KR"), Language::Korean);
        assert_eq!(languages.for_address("bob@other.test"), Language::English);
        assert_eq!(languages.for_address("no-domain"), Language::English);
        assert_eq!(Language::parse("KO"), Some(Language::Korean));
        assert_eq!(Language::parse("fr"), None);
    }
}
