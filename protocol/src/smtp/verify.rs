//! Inbound checks on the MX (never on submission): the client's reputation once per
//! session at the first MAIL (DNSBL, FCrDNS), and SPF/DKIM/ARC/DMARC of each message at the
//! end of DATA, with its Authentication-Results added and the enforcement verdict applied.
//!
//! One reply answers every recipient after DATA, so recipients' domains that disagree are
//! combined: refused only when every recipient's domain refuses; deferred when any asks to
//! defer; otherwise delivered, into Junk for recipients whose domain would refuse or
//! quarantine.

use std::collections::{HashMap, HashSet};
use std::io::SeekFrom;
use std::sync::Arc;

use baedal_auth::verify::policy::{Enforcement, Reason, Verdict};
use baedal_auth::verify::reputation::iprev_result;
use baedal_auth::verify::{AuthResult, Envelope, IprevOutput, Verifier, with_our_results};
use baedal_storage::SpooledMessage;
use tokio::io::AsyncSeekExt;

use super::reply::{self, Reply};
use super::session::Session;

/// What FCrDNS of the client leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FcrdnsAction {
    Off,
    /// Recorded as `iprev=` in Authentication-Results.
    Tag,
    /// A client whose reverse DNS does not confirm is refused at MAIL.
    Reject,
}

/// The MX's checks, built once from `[verify]`.
pub struct InboundChecks {
    pub verifier: Arc<Verifier>,
    /// The site's enforcement.
    pub enforcement: Enforcement,
    /// Local domains (lower case) with their own enforcement.
    pub domains: HashMap<String, Enforcement>,
    /// DNSBL zones; empty = off.
    pub dnsbl: Vec<String>,
    pub fcrdns: FcrdnsAction,
}

impl InboundChecks {
    fn enforcement_for(&self, address: &str) -> &Enforcement {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        self.domains.get(&domain).unwrap_or(&self.enforcement)
    }
}

/// What the session learned about its client at the first MAIL.
#[derive(Debug, Clone)]
pub(super) struct ClientCheck {
    /// Every MAIL of the session gets this refusal.
    refusal: Option<Reply>,
    iprev: Option<IprevOutput>,
}

/// Where the message goes after the checks: the users (ids) whose copy goes to Junk.
pub(super) struct Checked {
    pub message: SpooledMessage,
    pub junk: HashSet<i64>,
}

impl Session {
    /// DNSBL and FCrDNS of the client, once per session; a refusal for MAIL, if any.
    pub(super) async fn check_client(&mut self) -> Option<Reply> {
        let service = Arc::clone(&self.service);
        let checks = service.checks.as_ref()?;
        if service.submission.is_some() {
            return None;
        }
        if let Some(done) = &self.client {
            return done.refusal.clone();
        }
        // An IPv4 client on a dual-stack listener is checked as IPv4.
        let ip = self.info.peer.ip().to_canonical();
        let mut refusal = None;
        if !checks.dnsbl.is_empty()
            && let Some(zone) = checks.verifier.dnsbl_listing(ip, &checks.dnsbl).await
        {
            tracing::info!(%ip, zone, "client listed on a DNSBL");
            refusal = Some(reply::dnsbl_listed(ip, &zone));
        }
        let mut iprev = None;
        if refusal.is_none() && checks.fcrdns != FcrdnsAction::Off {
            let output = checks.verifier.iprev(ip).await;
            let result = iprev_result(&output);
            tracing::info!(%ip, iprev = result.as_str(), "FCrDNS");
            if checks.fcrdns == FcrdnsAction::Reject {
                refusal = match result {
                    AuthResult::Pass => None,
                    AuthResult::TempError => Some(reply::FCRDNS_TEMPERROR),
                    _ => Some(reply::FCRDNS_FAILED),
                };
            }
            iprev = Some(output);
        }
        self.client = Some(ClientCheck {
            refusal: refusal.clone(),
            iprev,
        });
        refusal
    }

    /// SPF, DKIM, ARC and DMARC of a received message: the message with our
    /// Authentication-Results (forged ones removed), or the reply that refuses it.
    pub(super) async fn check_message(
        &mut self,
        message: SpooledMessage,
    ) -> Result<Checked, Reply> {
        let unchecked = |message| Checked {
            message,
            junk: HashSet::new(),
        };
        let Some(checks) = &self.service.checks else {
            return Ok(unchecked(message));
        };
        // Authenticated submission is never checked this way.
        if self.service.submission.is_some() || self.user.is_some() {
            return Ok(unchecked(message));
        }
        let mail_from = self
            .tx
            .sender
            .as_ref()
            .map(|s| s.address.as_str())
            .unwrap_or("");
        let envelope = Envelope {
            client_ip: self.info.peer.ip().to_canonical(),
            helo: self.helo.as_deref().unwrap_or(""),
            mail_from,
        };
        // The spool keeps the header section up to its limit; a longer one (not ending in
        // the empty line) is not parsed: its DKIM signatures stay unverified.
        let header = &message.header[..];
        let complete = message.header_complete();
        if !complete {
            tracing::warn!(
                bytes = header.len(),
                "header section over the parse limit: DKIM, ARC and DMARC not evaluated"
            );
        }
        let failed = |e: std::io::Error| {
            tracing::error!(error = %e, "cannot read the spool file");
            reply::LOCAL_ERROR
        };
        let mut body = tokio::fs::File::open(message.path())
            .await
            .map_err(failed)?;
        body.seek(SeekFrom::Start(header.len() as u64))
            .await
            .map_err(failed)?;
        let iprev = self.client.as_ref().and_then(|c| c.iprev.as_ref());
        let parsed = if complete { header } else { &b"\r\n"[..] };
        let results = checks
            .verifier
            .verify(&envelope, parsed, body, iprev)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "verification failed");
                reply::LOCAL_ERROR
            })?;
        let dkim: Vec<String> = results
            .dkim
            .iter()
            .map(|d| format!("{}:{}", d.domain, d.result.as_str()))
            .collect();
        self.tx.note.checks = Some(format!(
            "spf_helo={} spf={} dkim={} arc={} dmarc={} dmarc_policy={} from_domain={}",
            results.spf_helo.as_str(),
            results.spf_mail_from.as_str(),
            if dkim.is_empty() {
                "none".to_string()
            } else {
                dkim.join(",")
            },
            results.arc.as_str(),
            results.dmarc.result.as_str(),
            results.dmarc.policy.as_str(),
            results.dmarc.domain,
        ));

        // One verdict per recipient, by the recipient's domain.
        let verdicts: Vec<Verdict> = self
            .tx
            .recipients
            .iter()
            .map(|r| checks.enforcement_for(&r.address).decide(&results))
            .collect();
        if let Some(Verdict::Reject(reason)) = verdicts.first()
            && verdicts.iter().all(|v| matches!(v, Verdict::Reject(_)))
        {
            self.tx.note.policy = Some(format!("reject: {reason:?}"));
            return Err(refusal(reason));
        }
        if let Some(Verdict::Defer(reason)) =
            verdicts.iter().find(|v| matches!(v, Verdict::Defer(_)))
        {
            self.tx.note.policy = Some(format!("defer: {reason:?}"));
            return Err(refusal(reason));
        }
        let junk: HashSet<i64> = self
            .tx
            .recipients
            .iter()
            .zip(&verdicts)
            .filter(|(_, v)| matches!(v, Verdict::Quarantine(_) | Verdict::Reject(_)))
            .flat_map(|(r, _)| r.users.iter().map(|u| u.id))
            .collect();
        if !junk.is_empty() {
            self.tx.note.policy = Some(format!("junk: {} mailboxes", junk.len()));
        }
        let message = self
            .add_results(message, checks.verifier.authserv_id(), &results.header)
            .await?;
        Ok(Checked { message, junk })
    }

    /// A new spool file: the header section with our Authentication-Results, then the rest.
    async fn add_results(
        &self,
        message: SpooledMessage,
        authserv_id: &str,
        results: &str,
    ) -> Result<SpooledMessage, Reply> {
        let (header, removed) = with_our_results(&message.header, authserv_id, results);
        let skip = message.header.len() as u64;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed Authentication-Results claiming our authserv-id"
            );
        }
        self.rewrite_spool(message, &header, skip).await
    }
}

/// The reply for a refused or deferred message.
fn refusal(reason: &Reason) -> Reply {
    match reason {
        Reason::Dmarc { domain, .. } => reply::dmarc_reject(domain),
        Reason::SpfFail { domain } => reply::spf_fail(domain),
        Reason::DmarcTempError { domain } => reply::dmarc_temperror(domain),
        Reason::SpfTempError { domain } => reply::spf_temperror(domain),
    }
}
