//! [`ContentFilters`]: the content stage of the message pipeline. The filters that are on
//! look at one spooled message concurrently; their verdicts combine into one [`Outcome`].
//!
//! Precedence when several speak: a virus (`554 5.7.0`), then a blocked attachment
//! (`554 5.7.1`), then spam (`550 5.7.1`), then a scan that could not finish by its policy,
//! then a temporary failure (`451 4.7.1`). A filter that is down or slow defers the message
//! (`451 4.7.1`: the sender retries, nothing unscanned is delivered) unless it is
//! `fail_open`, in which case the message is delivered with `X-Baedal-Unscanned`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::attachments::{AttachmentPolicy, Blocked};
use crate::clamav::{ClamVerdict, Clamd, ClamdAddress};
use crate::config::{
    AttachmentsConfig, ClamavConfig, QuarantineConfig, RefusalAction, RspamdConfig, RspamdDomain,
    ScanFailure, SpamAction,
};
use crate::headers::{self, HeaderEdit};
use crate::rspamd::{Rspamd, RspamdReply};
use crate::verdict::{Combined, spam_verdict};
use crate::{Envelope, FilterError};

/// One message to filter, with the facts of its session.
#[derive(Debug, Clone)]
pub struct Scan<'a> {
    /// The spool file: the whole message as it will be stored.
    pub path: &'a Path,
    pub size: u64,
    /// Its header section (ending with the empty line when `header_complete`).
    pub header: &'a [u8],
    pub header_complete: bool,
    pub envelope: Envelope<'a>,
    pub submission: bool,
}

/// A reply that refuses the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub status: &'static str,
    pub text: String,
}

/// Recipients whose copy goes to the quarantine instead, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Indexes into [`Envelope::recipients`].
    pub recipients: Vec<usize>,
    /// `spam`, `rejected`, `virus` or `attachment`.
    pub verdict: &'static str,
    pub reason: String,
}

/// What the filters decided.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub refusal: Option<Refusal>,
    /// Recipients whose copy is held (never also in `junk`).
    pub hold: Option<Hold>,
    /// Indexes (into [`Envelope::recipients`]) of recipients whose copy goes to Junk.
    pub junk: Vec<usize>,
    /// The new header section, when a filter changed it.
    pub header: Option<Vec<u8>>,
    /// `rspamd=... clamav=... attachments=...`, for the message's log line.
    pub log: String,
}

/// A filter's daemon, as `/readyz` reports it.
#[derive(Debug, Clone)]
pub struct FilterHealth {
    pub filter: &'static str,
    /// Why it did not answer; `None` when it did.
    pub error: Option<String>,
    pub fail_open: bool,
}

struct RspamdStage {
    client: Rspamd,
    config: RspamdConfig,
}

struct ClamavStage {
    client: Clamd,
    config: ClamavConfig,
}

/// The content filters of one configuration generation.
pub struct ContentFilters {
    rspamd: Option<RspamdStage>,
    clamav: Option<ClamavStage>,
    attachments: Option<AttachmentPolicy>,
    quarantine: QuarantineConfig,
}

/// How bad a refusal is: the lowest rank answers.
type Ranked = (u8, Refusal);
const RANK_VIRUS: u8 = 0;
const RANK_ATTACHMENT: u8 = 1;
const RANK_SPAM: u8 = 2;
const RANK_POLICY: u8 = 3;
const RANK_TEMPFAIL: u8 = 4;

/// What one stage found.
#[derive(Default)]
struct StageOutcome {
    refusal: Option<Ranked>,
    junk: Vec<usize>,
    edit: HeaderEdit,
    subject: Option<String>,
    /// Why the message is spam, when it is (for a quarantine entry).
    spam: Option<String>,
    log: String,
}

impl StageOutcome {
    fn logged(log: String) -> Self {
        Self {
            log,
            ..Self::default()
        }
    }

    /// Refused with `code status text`, ranked `rank` among the other stages' refusals.
    fn refused(rank: u8, code: u16, status: &'static str, text: String, log: String) -> Self {
        Self {
            refusal: Some((rank, Refusal { code, status, text })),
            log,
            ..Self::default()
        }
    }
}

impl ContentFilters {
    /// The filters the configuration turns on; `None` when none is.
    pub fn new(
        rspamd: Option<&RspamdConfig>,
        clamav: Option<&ClamavConfig>,
        attachments: &AttachmentsConfig,
        quarantine: &QuarantineConfig,
    ) -> Result<Option<Self>, FilterError> {
        let rspamd = match rspamd {
            Some(config) => Some(RspamdStage {
                client: Rspamd::new(&config.url, Duration::from_millis(config.timeout_ms))?,
                config: config.clone(),
            }),
            None => None,
        };
        let clamav = clamav.map(|config| ClamavStage {
            client: Clamd::new(
                ClamdAddress::parse(&config.address),
                Duration::from_millis(config.timeout_ms),
            ),
            config: config.clone(),
        });
        let attachments = attachments
            .enabled
            .then(|| AttachmentPolicy::new(attachments));
        if rspamd.is_none() && clamav.is_none() && attachments.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            rspamd,
            clamav,
            attachments,
            quarantine: quarantine.clone(),
        }))
    }

    /// Runs every filter that is on over the message, concurrently.
    pub async fn run(&self, scan: &Scan<'_>) -> Outcome {
        let (spam, virus, attachment) = tokio::join!(
            self.run_rspamd(scan),
            self.run_clamav(scan),
            self.run_attachments(scan),
        );
        let stages = [spam, virus, attachment];
        let mut outcome = Outcome {
            log: stages
                .iter()
                .map(|s| s.log.as_str())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            ..Outcome::default()
        };
        let recipients = scan.envelope.recipients;
        if let Some((rank, refusal)) = stages
            .iter()
            .filter_map(|s| s.refusal.as_ref())
            .min_by_key(|(rank, _)| *rank)
        {
            // Held instead only when every recipient's domain says so: one reply answers
            // them all.
            let verdict = match *rank {
                RANK_VIRUS => Some("virus"),
                RANK_ATTACHMENT => Some("attachment"),
                RANK_SPAM => Some("rejected"),
                _ => None,
            };
            let held = verdict.filter(|v| {
                recipients
                    .iter()
                    .all(|r| self.quarantine.refusal_for(v, r) == RefusalAction::Quarantine)
            });
            match held {
                Some(verdict) => {
                    outcome.hold = Some(Hold {
                        recipients: (0..recipients.len()).collect(),
                        verdict,
                        reason: refusal.text.clone(),
                    });
                    return outcome;
                }
                None => {
                    outcome.refusal = Some(refusal.clone());
                    return outcome;
                }
            }
        }
        let mut edit = HeaderEdit::default();
        let mut subject = None;
        let mut spam = None;
        for stage in stages {
            outcome.junk.extend(stage.junk);
            edit.add.extend(stage.edit.add);
            edit.remove.extend(stage.edit.remove);
            subject = subject.or(stage.subject);
            spam = spam.or(stage.spam);
        }
        outcome.junk.sort_unstable();
        outcome.junk.dedup();
        // Spam for a domain that quarantines it is held rather than filed in Junk.
        let (held, junk): (Vec<usize>, Vec<usize>) = outcome.junk.iter().partition(|&&i| {
            recipients
                .get(i)
                .is_some_and(|r| self.quarantine.spam_for(r) == SpamAction::Quarantine)
        });
        outcome.junk = junk;
        if !held.is_empty() {
            outcome.hold = Some(Hold {
                recipients: held,
                verdict: "spam",
                reason: spam.unwrap_or_else(|| "spam".into()),
            });
        }
        if !edit.is_empty() || subject.is_some() {
            outcome.header = Some(headers::apply(
                scan.header,
                scan.header_complete,
                &edit,
                subject.as_deref(),
            ));
        }
        outcome
    }

    /// Whether each daemon answers now (for `/readyz`).
    pub async fn health(&self) -> Vec<FilterHealth> {
        let mut out = Vec::new();
        if let Some(stage) = &self.rspamd {
            let error = stage.client.ping().await.err().map(|e| e.to_string());
            baedal_metrics::set_filter_up("rspamd", error.is_none());
            out.push(FilterHealth {
                filter: "rspamd",
                error,
                fail_open: stage.config.fail_open,
            });
        }
        if let Some(stage) = &self.clamav {
            let error = stage.client.ping().await.err().map(|e| e.to_string());
            baedal_metrics::set_filter_up("clamav", error.is_none());
            out.push(FilterHealth {
                filter: "clamav",
                error,
                fail_open: stage.config.fail_open,
            });
        }
        out
    }

    async fn run_rspamd(&self, scan: &Scan<'_>) -> StageOutcome {
        let Some(stage) = &self.rspamd else {
            return StageOutcome::default();
        };
        if scan.submission && !stage.config.submission {
            return StageOutcome::logged("rspamd=off".into());
        }
        // The domains whose rules apply: each recipient's; on submission the sender's.
        let domain_of = |address: &str| -> RspamdDomain {
            let domain = address
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            stage
                .config
                .domains
                .get(&domain)
                .cloned()
                .unwrap_or_default()
        };
        let rules: Vec<RspamdDomain> = if scan.submission {
            let envelope = &scan.envelope;
            let sender = domain_of(envelope.user.unwrap_or(envelope.mail_from));
            vec![sender; envelope.recipients.len()]
        } else {
            scan.envelope
                .recipients
                .iter()
                .map(|r| domain_of(r))
                .collect()
        };
        if rules.iter().all(|r| !r.enabled) {
            return StageOutcome::logged("rspamd=off".into());
        }
        let started = Instant::now();
        let result = stage
            .client
            .check(&scan.envelope, scan.path, scan.size)
            .await;
        baedal_metrics::filter_scan("rspamd", started.elapsed());
        let took = started.elapsed().as_millis();
        let reply = match result {
            Ok(reply) => {
                baedal_metrics::set_filter_up("rspamd", true);
                reply
            }
            Err(e) => {
                baedal_metrics::set_filter_up("rspamd", false);
                return unavailable("rspamd", "Spam filter", &e, stage.config.fail_open, took);
            }
        };
        let verdicts: Vec<_> = rules
            .iter()
            .map(|rule| rule.enabled.then(|| spam_verdict(rule, &reply)))
            .collect();
        let log = format!(
            "rspamd={} score={:.2}/{:.2} symbols={} rspamd_ms={took}",
            reply.action.as_str().replace(' ', "_"),
            reply.score,
            reply.required_score,
            reply.symbols.join(",")
        );
        spam_outcome(scan, reply, crate::verdict::combine(&verdicts), log)
    }

    async fn run_clamav(&self, scan: &Scan<'_>) -> StageOutcome {
        let Some(stage) = &self.clamav else {
            return StageOutcome::default();
        };
        let started = Instant::now();
        let result = stage.client.scan(scan.path).await;
        baedal_metrics::filter_scan("clamav", started.elapsed());
        let took = started.elapsed().as_millis();
        baedal_metrics::set_filter_up("clamav", result.is_ok());
        let failure = |policy: ScanFailure, what: &str, log: String| match policy {
            ScanFailure::Tempfail => {
                baedal_metrics::filter_verdict("clamav", "tempfail");
                StageOutcome::refused(
                    RANK_TEMPFAIL,
                    451,
                    "4.7.1",
                    format!("{what}, try again later"),
                    log,
                )
            }
            ScanFailure::Reject => {
                baedal_metrics::filter_verdict("clamav", "blocked");
                StageOutcome::refused(RANK_POLICY, 554, "5.7.0", format!("{what}: refused"), log)
            }
            ScanFailure::Accept => unscanned("clamav", what, log),
        };
        match result {
            Ok(ClamVerdict::Clean) => {
                baedal_metrics::filter_verdict("clamav", "clean");
                StageOutcome::logged(format!("clamav=clean clamav_ms={took}"))
            }
            Ok(ClamVerdict::Virus(name)) => {
                baedal_metrics::filter_verdict("clamav", "virus");
                let name = ascii(&name);
                StageOutcome::refused(
                    RANK_VIRUS,
                    554,
                    "5.7.0",
                    format!("Virus found: {name}"),
                    format!("clamav=virus:{name} clamav_ms={took}"),
                )
            }
            Ok(ClamVerdict::Oversize) => failure(
                stage.config.oversize,
                "Message too large for the virus scanner",
                format!("clamav=oversize clamav_ms={took}"),
            ),
            Ok(ClamVerdict::Error(text)) => {
                tracing::warn!(reply = %text, "clamd could not scan a message");
                failure(
                    stage.config.scan_error,
                    "Virus scan failed",
                    format!("clamav=error clamav_ms={took}"),
                )
            }
            Err(e) => unavailable("clamav", "Virus scanner", &e, stage.config.fail_open, took),
        }
    }

    async fn run_attachments(&self, scan: &Scan<'_>) -> StageOutcome {
        let Some(policy) = &self.attachments else {
            return StageOutcome::default();
        };
        let started = Instant::now();
        // The MIME parser needs the message in memory: the attachment stage reads it once,
        // off the async runtime.
        let path = scan.path.to_path_buf();
        let policy = policy.clone();
        let found = tokio::task::spawn_blocking(move || -> Result<Option<Blocked>, String> {
            let raw = std::fs::read(&path).map_err(|e| e.to_string())?;
            Ok(policy.check(&raw))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        baedal_metrics::filter_scan("attachments", started.elapsed());
        match found {
            Ok(None) => {
                baedal_metrics::filter_verdict("attachments", "clean");
                StageOutcome::logged("attachments=ok".into())
            }
            Ok(Some(blocked)) => {
                baedal_metrics::filter_verdict("attachments", "blocked");
                StageOutcome::refused(
                    RANK_ATTACHMENT,
                    554,
                    "5.7.1",
                    format!(
                        "Attachment refused: {}: {}",
                        ascii(&blocked.file),
                        blocked.reason
                    ),
                    format!(
                        "attachments=blocked:{:?} reason={:?}",
                        blocked.file, blocked.reason
                    ),
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "attachment check failed");
                baedal_metrics::filter_verdict("attachments", "tempfail");
                StageOutcome::refused(
                    RANK_TEMPFAIL,
                    451,
                    "4.7.1",
                    "Attachment check failed, try again later".into(),
                    "attachments=error".into(),
                )
            }
        }
    }
}

/// Rspamd's verdict for the whole message.
fn spam_outcome(
    scan: &Scan<'_>,
    reply: RspamdReply,
    combined: Combined,
    log: String,
) -> StageOutcome {
    let message = reply.smtp_message.clone();
    match combined {
        Combined::Reject => {
            baedal_metrics::filter_verdict("rspamd", "spam");
            let text = message.as_deref().unwrap_or("spam message rejected");
            StageOutcome::refused(
                RANK_SPAM,
                550,
                "5.7.1",
                format!("Message refused as spam: {text}"),
                log,
            )
        }
        Combined::Defer => {
            baedal_metrics::filter_verdict("rspamd", "tempfail");
            StageOutcome::refused(
                RANK_TEMPFAIL,
                451,
                "4.7.1",
                format!(
                    "Try again later: {}",
                    message
                        .as_deref()
                        .unwrap_or("message deferred by the spam filter")
                ),
                log,
            )
        }
        Combined::Deliver { junk, rewrite } => {
            let spam = !junk.is_empty() || rewrite;
            let reason = spam.then(|| {
                format!(
                    "spam: Rspamd {} at {:.2}/{:.2}",
                    reply.action.as_str(),
                    reply.score,
                    reply.required_score
                )
            });
            baedal_metrics::filter_verdict("rspamd", if spam { "spam" } else { "clean" });
            // Submitted mail is already DKIM-signed and leaves as the user wrote it: Rspamd
            // may refuse it, or send local copies to Junk, but not rewrite it.
            if scan.submission {
                return StageOutcome {
                    junk,
                    spam: reason,
                    log,
                    ..StageOutcome::default()
                };
            }
            // Our own Authentication-Results (the checks wrote it, and removed any that
            // claimed our authserv-id) stays, whatever Rspamd asks.
            let mut edit = reply.headers;
            edit.remove
                .retain(|name| !name.eq_ignore_ascii_case("Authentication-Results"));
            StageOutcome {
                junk,
                subject: if rewrite { reply.subject } else { None },
                edit,
                spam: reason,
                log,
                ..StageOutcome::default()
            }
        }
    }
}

/// A filter that did not answer: deferred, or delivered unscanned when `fail_open`.
fn unavailable(
    filter: &'static str,
    what: &str,
    error: &FilterError,
    fail_open: bool,
    took: u128,
) -> StageOutcome {
    tracing::warn!(filter, error = %error, fail_open, "content filter unavailable");
    let log = format!("{filter}=unavailable {filter}_ms={took}");
    if fail_open {
        return unscanned(filter, &format!("{what} unavailable ({error})"), log);
    }
    baedal_metrics::filter_verdict(filter, "tempfail");
    StageOutcome::refused(
        RANK_TEMPFAIL,
        451,
        "4.7.1",
        format!("{what} unavailable, try again later"),
        log,
    )
}

/// Delivered with a header that says the filter did not look at it.
fn unscanned(filter: &'static str, why: &str, log: String) -> StageOutcome {
    baedal_metrics::filter_verdict(filter, "unscanned");
    StageOutcome {
        edit: HeaderEdit {
            add: vec![(
                "X-Baedal-Unscanned".into(),
                headers::clean_value(&format!("{filter}: {why}")),
            )],
            remove: Vec::new(),
        },
        log,
        ..StageOutcome::default()
    }
}

/// Text for an SMTP reply: printable ASCII, anything else as `?`.
fn ascii(s: &str) -> String {
    s.chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}
