//! `baedal dns records DOMAIN [--json]`: every DNS record a domain served here needs, ready
//! for a zone file; `baedal dns check DOMAIN`: what the configured resolver (`[dns]`) says
//! of each, missing or different.
//!
//! The records: MX; SPF (RFC 7208); DKIM from the stored keys; DMARC (RFC 7489);
//! MTA-STS (RFC 8461 `_mta-sts` TXT and the `mta-sts` host of its policy); TLS-RPT
//! (RFC 8460); SRV for IMAP, POP3 and submission (RFC 6186, RFC 8314); the autoconfig and
//! autodiscover names of client setup.

use std::time::Duration;

use anyhow::{Context, Result};
use baedal_auth::dkim::{self, Algorithm};
use baedal_storage::address::DomainName;
use baedal_storage::dkim::DkimKeys;
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::proto::rr::{RData, RecordType};
use serde::Serialize;

use crate::config::Config;

/// One record to publish.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Record {
    /// The owner name, fully qualified with the trailing dot.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// As written in a zone file (TXT values quoted).
    pub value: String,
    pub purpose: &'static str,
}

/// What `dns check` found for one record.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    #[serde(flatten)]
    pub record: Record,
    /// `ok`, `missing` or `different`.
    pub state: &'static str,
    /// What the resolver answered, as zone-file values.
    pub found: Vec<String>,
}

/// The host clients and other servers reach (`[autoconfig] host`, else `hostname`).
fn mail_host(config: &Config) -> String {
    let host = if config.autoconfig.host.is_empty() {
        &config.hostname
    } else {
        &config.autoconfig.host
    };
    fqdn(host)
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

/// A TXT value in zone-file form: quoted, in strings of at most 255 bytes (RFC 1035 §3.3).
fn txt(value: &str) -> String {
    value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c).replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn record(name: &str, rtype: &'static str, value: String, purpose: &'static str) -> Record {
    Record {
        name: name.to_string(),
        rtype,
        value,
        purpose,
    }
}

/// Every record `domain` needs.
pub async fn records(config: &Config, keys: &DkimKeys, domain: &DomainName) -> Result<Vec<Record>> {
    let d = fqdn(domain.as_str());
    let host = mail_host(config);
    let a = &config.autoconfig;
    let postmaster = format!("postmaster@{}", domain.as_str());
    let srv = |port: u16| format!("0 1 {port} {host}");
    let mut out = vec![
        record(
            &d,
            "MX",
            format!("10 {host}"),
            "mail for the domain comes here",
        ),
        record(
            &d,
            "TXT",
            txt("v=spf1 mx -all"),
            "SPF: only the MX sends for the domain",
        ),
    ];
    for key in keys.list(Some(domain)).await.context("the DKIM keys")? {
        let Ok(algorithm) = Algorithm::parse(&key.algorithm) else {
            continue;
        };
        if key.is_active {
            out.push(record(
                &format!("{}._domainkey.{d}", key.selector),
                "TXT",
                txt(&dkim::dns_record(algorithm, &key.public_key)),
                "DKIM: the public key of outgoing signatures",
            ));
        }
    }
    let rua = format!("rua=mailto:{postmaster}");
    let rows: [(&str, &'static str, String, &'static str); 12] = [
        (
            "_dmarc",
            "TXT",
            txt(&format!("v=DMARC1; p=quarantine; {rua}")),
            "DMARC: what receivers do with mail failing SPF and DKIM",
        ),
        (
            "_mta-sts",
            "TXT",
            txt("v=STSv1; id=1"),
            "MTA-STS: senders must use TLS (change id when the policy changes)",
        ),
        (
            "mta-sts",
            "CNAME",
            host.clone(),
            "MTA-STS: the host serving /.well-known/mta-sts.txt",
        ),
        (
            "_smtp._tls",
            "TXT",
            txt(&format!("v=TLSRPTv1; {rua}")),
            "TLS-RPT: where senders report TLS failures",
        ),
        (
            "_imaps._tcp",
            "SRV",
            srv(a.imap_port),
            "IMAP over TLS (RFC 6186)",
        ),
        (
            "_imap._tcp",
            "SRV",
            "0 0 0 .".into(),
            "no IMAP without TLS (RFC 6186 §4)",
        ),
        ("_pop3s._tcp", "SRV", srv(a.pop3_port), "POP3 over TLS"),
        ("_pop3._tcp", "SRV", "0 0 0 .".into(), "no POP3 without TLS"),
        (
            "_submission._tcp",
            "SRV",
            srv(a.submission_port),
            "submission with STARTTLS",
        ),
        (
            "autoconfig",
            "CNAME",
            host.clone(),
            "Thunderbird autoconfig",
        ),
        (
            "autodiscover",
            "CNAME",
            host.clone(),
            "Outlook Autodiscover",
        ),
        (
            "_autodiscover._tcp",
            "SRV",
            format!("0 0 443 {host}"),
            "Outlook Autodiscover",
        ),
    ];
    for (label, rtype, value, purpose) in rows {
        out.push(record(&format!("{label}.{d}"), rtype, value, purpose));
    }
    Ok(out)
}

/// Asks the resolver for each record and compares.
pub async fn check(resolver: &MessageAuthenticator, records: Vec<Record>) -> Vec<Checked> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let found = lookup(resolver, &record).await;
        let state = if found.is_empty() {
            "missing"
        } else if found.iter().any(|f| same(&record, f)) {
            "ok"
        } else {
            "different"
        };
        out.push(Checked {
            record,
            state,
            found,
        });
    }
    out
}

/// Values of the record's name and type, zone-file form (empty when none or on error).
async fn lookup(resolver: &MessageAuthenticator, record: &Record) -> Vec<String> {
    let rtype = match record.rtype {
        "MX" => RecordType::MX,
        "TXT" => RecordType::TXT,
        "CNAME" => RecordType::CNAME,
        "SRV" => RecordType::SRV,
        _ => return Vec::new(),
    };
    let query = resolver.resolver().lookup(record.name.as_str(), rtype);
    let Ok(Ok(answer)) = tokio::time::timeout(Duration::from_secs(10), query).await else {
        return Vec::new();
    };
    // The version tag (`v=spf1`, `v=DKIM1`, …): other TXT records at the name are not ours.
    let txt_prefix: String = record
        .value
        .trim_start_matches('"')
        .split([';', ' '])
        .next()
        .filter(|tag| tag.starts_with("v="))
        .unwrap_or("")
        .to_string();
    answer
        .answers()
        .iter()
        .filter(|r| r.record_type() == rtype)
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some(format!(
                "{} {}",
                mx.preference,
                fqdn(&mx.exchange.to_utf8())
            )),
            RData::CNAME(name) => Some(fqdn(&name.0.to_utf8())),
            RData::SRV(srv) => Some(format!(
                "{} {} {} {}",
                srv.priority,
                srv.weight,
                srv.port,
                fqdn(&srv.target.to_utf8())
            )),
            RData::TXT(t) => {
                let joined: String = t
                    .txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect();
                (txt_prefix.is_empty() || joined.starts_with(&txt_prefix)).then(|| txt(&joined))
            }
            _ => None,
        })
        .collect()
}

/// Whether `found` says what `record` asks for (spacing and case aside).
fn same(record: &Record, found: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase()
    };
    let (want, got) = (norm(&record.value), norm(found));
    // RFC 2782 / RFC 6186 §4: a target of "." says "no such service", whatever the port.
    let no_service = |s: &str| record.rtype == "SRV" && s.ends_with(" .");
    want == got || (no_service(&want) && no_service(&got))
}

/// The zone-file lines, a comment for each.
pub fn render(records: &[Record]) -> String {
    let width = records.iter().map(|r| r.name.len()).max().unwrap_or(0);
    records
        .iter()
        .map(|r| {
            format!(
                "; {}\n{:<width$} IN {:<5} {}\n",
                r.purpose, r.name, r.rtype, r.value
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_values_are_split_into_strings() {
        let long = "p=".to_string() + &"A".repeat(400);
        let out = txt(&long);
        assert!(out.starts_with("\"p=AAA"));
        assert_eq!(out.matches('"').count(), 4, "{out}");
        assert_eq!(txt("v=spf1 mx -all"), "\"v=spf1 mx -all\"");
    }

    #[test]
    fn found_values_compare_loosely() {
        let r = Record {
            name: "x.".into(),
            rtype: "MX",
            value: "10 mail.example.org.".into(),
            purpose: "",
        };
        assert!(same(&r, "10  MAIL.example.org."));
        assert!(!same(&r, "20 mail.example.org."));
    }
}
