//! DKIM keys as the console and the API show them: each with the DNS record to publish.

use baedal_auth::dkim::{self, Algorithm};
use serde::Serialize;

use super::{Actor, Permission};
use crate::{AdminContext, AdminError};

#[derive(Debug, Clone, Serialize)]
pub struct DkimKeyView {
    pub domain: String,
    pub selector: String,
    pub algorithm: String,
    pub is_active: bool,
    pub created_at: String,
    /// Where the TXT record goes: `SELECTOR._domainkey.DOMAIN`.
    pub dns_name: String,
    /// The exact TXT value.
    pub dns_txt: String,
}

pub async fn list(ctx: &AdminContext, actor: &Actor) -> Result<Vec<DkimKeyView>, AdminError> {
    actor.check(Permission::ManageDkim, None)?;
    let mut views = Vec::new();
    for k in ctx.dkim.list(None).await? {
        let dns_txt = Algorithm::parse(&k.algorithm)
            .map(|a| dkim::dns_record(a, &k.public_key))
            .unwrap_or_default();
        views.push(DkimKeyView {
            dns_name: format!("{}._domainkey.{}", k.selector, k.domain),
            dns_txt,
            domain: k.domain,
            selector: k.selector,
            algorithm: k.algorithm,
            is_active: k.is_active,
            created_at: k.created_at,
        });
    }
    Ok(views)
}
