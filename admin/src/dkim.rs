//! `baedal dkim generate|list|show|remove`: DKIM signing keys and the DNS records to
//! publish for them.

use baedal_auth::dkim::{self, Algorithm};
use baedal_storage::{DomainName, NewDkimKey};
use clap::Subcommand;
use serde_json::json;

use crate::output::yes_no;
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Create a signing key for DOMAIN and print the DNS TXT record to publish
    Generate {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        /// The selector: the record goes to SELECTOR._domainkey.DOMAIN
        #[arg(long, default_value = "baedal")]
        selector: String,
        /// rsa (2048 bits) or ed25519
        #[arg(long, default_value = "rsa")]
        algorithm: String,
    },
    /// List the keys, optionally of one domain
    List {
        #[arg(long, value_parser = input::domain)]
        domain: Option<DomainName>,
    },
    /// Show one key and its DNS record
    Show {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        #[arg(long, default_value = "baedal")]
        selector: String,
    },
    /// Remove a key (mail from the domain is no longer signed with it)
    Remove {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        #[arg(long, default_value = "baedal")]
        selector: String,
    },
}

fn selector(text: &str) -> Result<String, AdminError> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(AdminError::Input(format!(
            "selector '{text}': letters, digits, '-' and '.' only"
        )))
    }
}

pub async fn run(cmd: DkimCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let keys = &ctx.dkim;
    let out = ctx.output;
    match cmd {
        DkimCommand::Generate {
            domain,
            selector: sel,
            algorithm,
        } => {
            let selector = selector(&sel)?;
            let algorithm =
                Algorithm::parse(&algorithm).map_err(|e| AdminError::Input(e.to_string()))?;
            if ctx.directory.domain(&domain).await?.is_none() {
                return Err(AdminError::Failed(format!("unknown domain {domain}")));
            }
            // RSA key generation takes a moment of CPU: off the runtime.
            let generated = tokio::task::spawn_blocking(move || dkim::generate(algorithm))
                .await
                .map_err(|e| AdminError::Failed(e.to_string()))?
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            let record = keys
                .add(NewDkimKey {
                    domain: domain.clone(),
                    selector: selector.clone(),
                    algorithm: algorithm.name().to_string(),
                    private_key: generated.private_key,
                    public_key: generated.public_key.clone(),
                })
                .await?;
            print_record(ctx, &record, algorithm);
        }
        DkimCommand::List { domain } => {
            let list = keys.list(domain.as_ref()).await?;
            out.list(
                &list,
                &["DOMAIN", "SELECTOR", "ALGORITHM", "ACTIVE", "CREATED"],
                |k| {
                    vec![
                        k.domain.clone(),
                        k.selector.clone(),
                        k.algorithm.clone(),
                        yes_no(k.is_active),
                        k.created_at.clone(),
                    ]
                },
            );
        }
        DkimCommand::Show {
            domain,
            selector: sel,
        } => {
            let record = keys
                .get(&domain, &selector(&sel)?)
                .await?
                .ok_or_else(|| AdminError::Failed(format!("no key {sel} for {domain}")))?;
            let algorithm = Algorithm::parse(&record.algorithm)
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            print_record(ctx, &record, algorithm);
        }
        DkimCommand::Remove {
            domain,
            selector: sel,
        } => {
            let selector = selector(&sel)?;
            let removed = keys.remove(&domain, &selector).await?;
            if !removed {
                return Err(AdminError::Failed(format!(
                    "no key {selector} for {domain}"
                )));
            }
            out.done(
                &format!("removed DKIM key {selector} of {domain}"),
                &json!({ "domain": domain.to_string(), "selector": selector }),
            );
        }
    }
    Ok(())
}

/// The key's DNS record: the exact TXT value, and the zone-file line with 255-byte strings.
fn print_record(ctx: &AdminContext, record: &baedal_storage::DkimKeyRecord, algorithm: Algorithm) {
    let name = format!("{}._domainkey.{}", record.selector, record.domain);
    let txt = dkim::dns_record(algorithm, &record.public_key);
    let zone = dkim::zone_line(
        &record.domain,
        &record.selector,
        algorithm,
        &record.public_key,
    );
    if ctx.output.json {
        println!(
            "{}",
            json!({
                "domain": record.domain,
                "selector": record.selector,
                "algorithm": record.algorithm,
                "is_active": record.is_active,
                "created_at": record.created_at,
                "dns_name": name,
                "dns_txt": txt,
                "zone_line": zone,
            })
        );
    } else {
        println!("Publish this TXT record for {name}:");
        println!("{txt}");
        println!();
        println!("As a zone-file line:");
        println!("{zone}");
    }
}
