//! `[notices]`: the language of the texts the server writes to people (delivery reports,
//! quota notices), `en` or `ko`, with domains that differ from the default.
//!
//! ```toml
//! [notices]
//! language = "en"
//! [notices.domains]
//! "company.kr" = "ko"
//! ```

use std::collections::BTreeMap;

use baedal_protocol::language::{Language, NoticeLanguages};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticesConfig {
    /// `en` or `ko`.
    pub language: String,
    /// Domain → `en` or `ko`.
    pub domains: BTreeMap<String, String>,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            language: "en".into(),
            domains: BTreeMap::new(),
        }
    }
}

impl NoticesConfig {
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if Language::parse(&self.language).is_none() {
            return Some(("notices.language", "must be \"en\" or \"ko\"".into()));
        }
        self.domains
            .iter()
            .find(|(_, code)| Language::parse(code).is_none())
            .map(|(domain, _)| {
                (
                    "notices.domains",
                    format!("{domain}: must be \"en\" or \"ko\""),
                )
            })
    }

    /// The languages as the sessions and the queue use them.
    pub fn languages(&self) -> NoticeLanguages {
        NoticeLanguages {
            default: Language::parse(&self.language).unwrap_or_default(),
            by_domain: self
                .domains
                .iter()
                .filter_map(|(d, code)| Some((d.to_ascii_lowercase(), Language::parse(code)?)))
                .collect(),
        }
    }
}
