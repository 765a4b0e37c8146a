//! DMARC when a lookup of the policy walk fails. mail-auth walks `_dmarc.<name>` from the
//! From domain up to its top-level domain and answers `temperror` when any query of the
//! walk fails, even one that cannot change the verdict. Here only these may defer:
//!
//! - the From domain's own record, while none was found (RFC 7489 §6.6.3 step 1);
//! - without that record, the walk toward the organizational domain, whose record would
//!   apply (§6.6.3 steps 2–3);
//! - with it, the organizational domain only where relaxed alignment (§3.1) compares it:
//!   an identifier, neither the From domain itself nor in another top-level domain, that
//!   passed or failed temporarily;
//! - SPF and the DKIM keys of identifiers that align (mail-auth's own temperror).
//!
//! And none of them when SPF or DKIM passed for the From domain itself: identical domains
//! align in either mode, so DMARC passes or does not apply ([`author_pass`]).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use mail_auth::common::to_a_label;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dmarc::{Alignment, Dmarc};
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, DnsError, Error,
    Parameters, ResolverCache, SpfOutput, SpfResult, Txt,
};
use tokio::time::{Instant, timeout_at};

use super::Verifier;

/// What DMARC is evaluated from: the message and its SPF and DKIM results.
pub(crate) struct Inputs<'x> {
    pub message: &'x AuthenticatedMessage<'x>,
    pub dkim: &'x [DkimOutput<'x>],
    pub spf_domain: &'x str,
    pub spf: &'x SpfOutput,
}

impl Verifier {
    /// mail-auth's DMARC result, or, when its walk failed (no record, `temperror`) and the
    /// From domain's own record can be read, the result of that record alone: what the
    /// failed lookups cannot change stays as that record decides it, the rest `temperror`.
    pub(crate) async fn dmarc_despite_walk_errors(
        &self,
        deadline: Instant,
        inputs: &Inputs<'_>,
        walked: DmarcOutput,
    ) -> DmarcOutput {
        let walk_failed = walked.dmarc_record().is_none()
            && matches!(walked.dkim_result(), DmarcResult::TempError(_));
        if !walk_failed || walked.domain().is_empty() {
            return walked;
        }
        let from = walked.domain().to_string();
        let key = format!("_dmarc.{from}.");
        let lookup = self.resolver().txt_lookup::<Dmarc>(&key, Some(&self.txt));
        let record = match timeout_at(deadline, lookup).await {
            Ok(Ok(record)) => record,
            // §6.6.3: without a record of its own, the policy comes from the walk that failed.
            Ok(Err(e)) => {
                tracing::debug!(domain = from, error = %e, "DMARC: no own record, walk failed");
                return walked;
            }
            Err(_) => return walked,
        };
        let answers = OwnRecordOnly::new(&from, &record, inputs);
        let params = Parameters::new(DmarcParameters::new(
            inputs.message,
            inputs.dkim,
            inputs.spf_domain,
            inputs.spf,
        ))
        .with_txt_cache(&answers);
        let Ok(own) = timeout_at(deadline, self.resolver().verify_dmarc(params)).await else {
            return walked;
        };
        if own.dmarc_record().is_none()
            || author_pass(&from, inputs.spf_domain, inputs.spf, inputs.dkim)
            || !needs_org_domain(&from, &record, inputs)
        {
            tracing::info!(
                domain = from,
                "DMARC decided by the From domain's own record; a failed lookup of the walk changes nothing"
            );
            return own;
        }
        // Relaxed alignment needs the organizational domain the walk could not find.
        let temperror = walked.dkim_result().clone();
        own.with_spf_result(temperror.clone())
            .with_dkim_result(temperror)
    }
}

/// Whether SPF (for the MAIL FROM domain) or a DKIM signature (for its `d=`) passed for
/// the From domain itself: aligned in strict and relaxed mode (RFC 7489 §3.1.1, §3.1.2),
/// so DMARC passes whatever record applies, or does not apply: no `_dmarc` lookup can
/// change the verdict.
pub(crate) fn author_pass(
    from: &str,
    spf_domain: &str,
    spf: &SpfOutput,
    dkim: &[DkimOutput<'_>],
) -> bool {
    (spf.result() == SpfResult::Pass && same(spf_domain, from))
        || dkim.iter().any(|d| {
            *d.result() == DkimResult::Pass && d.signature().is_some_and(|s| same(&s.d, from))
        })
}

/// Whether the From domain's record leaves the result to the organizational domain: an
/// identifier that passed or failed temporarily, compared in relaxed mode, neither the
/// From domain itself nor in another top-level domain (which never aligns).
fn needs_org_domain(from: &str, record: &Dmarc, inputs: &Inputs<'_>) -> bool {
    let open = |domain: &str, mode: Alignment| {
        mode == Alignment::Relaxed && !same(domain, from) && tld(domain) == tld(from)
    };
    (matches!(inputs.spf.result(), SpfResult::Pass | SpfResult::TempError)
        && open(inputs.spf_domain, record.aspf))
        || candidates(inputs.dkim).any(|d| open(&d, record.adkim))
}

/// The `d=` of every DKIM signature DMARC looks at: passed or failed temporarily.
fn candidates<'a>(dkim: &'a [DkimOutput<'_>]) -> impl Iterator<Item = String> + 'a {
    dkim.iter()
        .filter(|d| matches!(d.result(), DkimResult::Pass | DkimResult::TempError(_)))
        .filter_map(|d| d.signature().map(|s| normal(&s.d)))
}

fn normal(domain: &str) -> String {
    to_a_label(domain.trim_end_matches('.')).into_owned()
}

fn same(domain: &str, from: &str) -> bool {
    normal(domain) == normal(from)
}

fn tld(domain: &str) -> String {
    normal(domain)
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// mail-auth's TXT cache for evaluating the From domain's own record alone: that record
/// at `_dmarc.<from>`, "no record" at every other `_dmarc` name the evaluation walks (the
/// From domain's and each identifier's parents), so it asks no DNS. Nothing is kept.
struct OwnRecordOnly {
    answers: HashMap<Box<str>, Txt>,
}

impl OwnRecordOnly {
    fn new(from: &str, record: &Arc<Dmarc>, inputs: &Inputs<'_>) -> Self {
        let mut names = vec![normal(from), normal(inputs.spf_domain)];
        names.extend(candidates(inputs.dkim));
        let mut answers = HashMap::new();
        for name in &names {
            let mut suffix = name.as_str();
            loop {
                if !suffix.is_empty() {
                    answers.insert(
                        format!("_dmarc.{suffix}.").into_boxed_str(),
                        Txt::Error(Error::Dns(DnsError::InvalidRecordType)),
                    );
                }
                match suffix.split_once('.') {
                    Some((_, parent)) => suffix = parent,
                    None => break,
                }
            }
        }
        answers.insert(
            format!("_dmarc.{}.", normal(from)).into_boxed_str(),
            Txt::Dmarc(Arc::clone(record)),
        );
        Self { answers }
    }
}

impl ResolverCache<Box<str>, Txt> for OwnRecordOnly {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.answers.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: StdInstant) {}
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::dkim::Signature;
    use mail_auth::dmarc::Policy;

    use super::*;

    /// A verifier whose only nameserver never answers: every DNS answer the tests need is
    /// in its cache (the walk's errors are given, not asked).
    fn verifier(from: &str, record: &str) -> Verifier {
        let resolver =
            crate::dns::resolver(&["127.0.0.1:9".parse().unwrap()], Duration::from_millis(50))
                .expect("resolver");
        let verifier = Verifier::new(resolver, "mx.test", "mx.test", Duration::from_secs(2));
        let record = Dmarc::parse(record.as_bytes()).expect("record");
        verifier.txt.insert(
            format!("_dmarc.{from}.").into_boxed_str(),
            Txt::Dmarc(Arc::new(record)),
            StdInstant::now() + Duration::from_secs(60),
        );
        verifier
    }

    /// The DMARC result of a message from `a@walk.example`, SPF passed for `spf_domain`
    /// and one DKIM signature passed for `d`, after the walk failed.
    async fn after_walk_error(record: &str, spf_domain: &str, d: &str) -> DmarcOutput {
        let verifier = verifier("walk.example", record);
        let header = b"From: a@walk.example\r\nSubject: s\r\n\r\n";
        let message = AuthenticatedMessage::parse(header).expect("message");
        let signature = Signature {
            d: d.to_string(),
            ..Default::default()
        };
        let dkim = [DkimOutput::pass().with_signature(&signature)];
        let spf = SpfOutput::new(spf_domain.to_string()).with_result(SpfResult::Pass);
        let inputs = Inputs {
            message: &message,
            dkim: &dkim,
            spf_domain,
            spf: &spf,
        };
        let refused = DmarcResult::TempError(Error::Dns(DnsError::Resolver("REFUSED".into())));
        let walked = DmarcOutput::new("walk.example".into())
            .with_spf_result(refused.clone())
            .with_dkim_result(refused);
        verifier
            .dmarc_despite_walk_errors(Instant::now() + Duration::from_secs(2), &inputs, walked)
            .await
    }

    #[tokio::test]
    async fn the_from_domains_record_decides_what_the_walk_cannot_change() {
        let reject = "v=DMARC1; p=reject";
        // Identical identifiers align in either mode: pass.
        let out = after_walk_error(reject, "other.test", "walk.example").await;
        assert_eq!(out.result(), DmarcResult::Pass);
        assert_eq!(out.policy(), Policy::Reject);
        // Identifiers in another top-level domain never align: fail, p=reject applies.
        let out = after_walk_error(reject, "other.test", "other.test").await;
        assert!(matches!(out.result(), DmarcResult::Fail(_)), "{out:?}");
        assert_eq!(out.policy(), Policy::Reject);
        // A subdomain aligns in relaxed mode only by the organizational domain, which the
        // walk did not find: temperror, with the record's policy.
        let out = after_walk_error(reject, "other.test", "mail.walk.example").await;
        assert!(matches!(out.result(), DmarcResult::TempError(_)), "{out:?}");
        assert_eq!(out.policy(), Policy::Reject);
        // ... and never in strict mode: fail.
        let strict = "v=DMARC1; p=quarantine; adkim=s; aspf=s";
        let out = after_walk_error(strict, "mail.walk.example", "mail.walk.example").await;
        assert!(matches!(out.result(), DmarcResult::Fail(_)), "{out:?}");
        assert_eq!(out.policy(), Policy::Quarantine);
        // SPF for the From domain itself: pass, whatever the DKIM signature says.
        let out = after_walk_error(reject, "walk.example", "mail.walk.example").await;
        assert_eq!(out.result(), DmarcResult::Pass);
    }
}
