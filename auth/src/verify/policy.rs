//! What the site does with the results: the enforcement settings (global defaults, each
//! local domain may override them) and the verdict for one recipient domain.
//!
//! Order of strength when several rules apply: reject, then defer, then quarantine.

use super::{AuthResult, DmarcPolicy, Verification};

/// What an SPF `fail` (`-all`) without any passing DKIM signature leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfFailAction {
    /// `550 5.7.23` at the end of DATA (RFC 7372 §3.2).
    Reject,
    /// Delivered; the result is only recorded in Authentication-Results.
    Tag,
}

/// How one local domain (or the site) treats inbound results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    /// Record results only: never refuse, defer or quarantine.
    pub monitor: bool,
    pub spf_fail: SpfFailAction,
    /// Answer `451` when a DNS error leaves a deciding check open (else deliver).
    pub defer_on_temperror: bool,
}

impl Default for Enforcement {
    fn default() -> Self {
        Self {
            monitor: false,
            spf_fail: SpfFailAction::Reject,
            defer_on_temperror: true,
        }
    }
}

/// Why a message is refused, deferred or quarantined; names the domain whose policy asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// DMARC failed and the author domain publishes `p=reject` or `p=quarantine`.
    Dmarc { domain: String, policy: DmarcPolicy },
    /// The MAIL FROM domain's SPF record says `fail` and no DKIM signature passed.
    SpfFail { domain: String },
    /// A DNS error left DMARC undecided for a domain that may publish a policy.
    DmarcTempError { domain: String },
    /// A DNS error left SPF undecided while an SPF fail would be refused.
    SpfTempError { domain: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Deliver,
    /// Into the recipient's Junk folder (RFC 7489 §6.3 `p=quarantine`).
    Quarantine(Reason),
    /// `451`: a DNS error, try again later.
    Defer(Reason),
    /// `550` at the end of DATA.
    Reject(Reason),
}

impl Verdict {
    fn strength(&self) -> u8 {
        match self {
            Self::Deliver => 0,
            Self::Quarantine(_) => 1,
            Self::Defer(_) => 2,
            Self::Reject(_) => 3,
        }
    }

    /// The stronger of two verdicts.
    pub fn max(self, other: Verdict) -> Verdict {
        if other.strength() > self.strength() {
            other
        } else {
            self
        }
    }
}

impl Enforcement {
    /// The verdict for a message with `results`, under these settings.
    pub fn decide(&self, results: &Verification) -> Verdict {
        if self.monitor {
            return Verdict::Deliver;
        }
        let mut verdict = Verdict::Deliver;
        let dmarc = &results.dmarc;
        match (dmarc.result, dmarc.policy) {
            // RFC 7489 §6.6.2: a failing message is treated as the policy asks.
            (AuthResult::Fail, DmarcPolicy::Reject) => {
                verdict = verdict.max(Verdict::Reject(Reason::Dmarc {
                    domain: dmarc.domain.clone(),
                    policy: DmarcPolicy::Reject,
                }));
            }
            (AuthResult::Fail, DmarcPolicy::Quarantine) => {
                verdict = verdict.max(Verdict::Quarantine(Reason::Dmarc {
                    domain: dmarc.domain.clone(),
                    policy: DmarcPolicy::Quarantine,
                }));
            }
            // RFC 7489 §6.6.3 (temperror): the receiver may defer. A known `p=none` needs
            // no answer; a policy that could not be fetched might be reject; a message
            // aligned by the From domain itself passes whatever it is (§3.1).
            (AuthResult::TempError, DmarcPolicy::Reject | DmarcPolicy::Quarantine)
            | (AuthResult::TempError, DmarcPolicy::Unknown)
                if self.defer_on_temperror && !dmarc.author_pass =>
            {
                verdict = verdict.max(Verdict::Defer(Reason::DmarcTempError {
                    domain: dmarc.domain.clone(),
                }));
            }
            _ => {}
        }
        let dkim_pass = results.dkim.iter().any(|d| d.result == AuthResult::Pass);
        if self.spf_fail == SpfFailAction::Reject && !dkim_pass && dmarc.result != AuthResult::Pass
        {
            let domain = results.spf_domain.clone();
            match results.spf_mail_from {
                // RFC 7208 §8.4: the domain asks that the mail be refused.
                AuthResult::Fail => {
                    verdict = verdict.max(Verdict::Reject(Reason::SpfFail { domain }));
                }
                AuthResult::TempError if self.defer_on_temperror => {
                    verdict = verdict.max(Verdict::Defer(Reason::SpfTempError { domain }));
                }
                _ => {}
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{DkimCheck, DmarcCheck};

    fn results(
        spf: AuthResult,
        dkim: AuthResult,
        dmarc: AuthResult,
        p: DmarcPolicy,
    ) -> Verification {
        Verification {
            spf_helo: AuthResult::None,
            spf_mail_from: spf,
            spf_domain: "sender.example".into(),
            dkim: vec![DkimCheck {
                result: dkim,
                domain: "sender.example".into(),
            }],
            arc: AuthResult::None,
            dmarc: DmarcCheck {
                result: dmarc,
                policy: p,
                domain: "sender.example".into(),
                author_pass: false,
            },
            iprev: None,
            header: String::new(),
        }
    }

    #[test]
    fn dmarc_policies_and_spf_fail() {
        use AuthResult::*;
        let e = Enforcement::default();
        let v = |spf, dkim, dmarc, p| e.decide(&results(spf, dkim, dmarc, p));
        assert!(matches!(
            v(Fail, None, Fail, DmarcPolicy::Reject),
            Verdict::Reject(Reason::Dmarc { .. })
        ));
        assert!(matches!(
            v(Pass, None, Fail, DmarcPolicy::Quarantine),
            Verdict::Quarantine(_)
        ));
        assert_eq!(v(Pass, None, Fail, DmarcPolicy::None), Verdict::Deliver);
        assert!(matches!(
            v(Fail, None, None, DmarcPolicy::Unknown),
            Verdict::Reject(Reason::SpfFail { .. })
        ));
        assert_eq!(v(Fail, Pass, Pass, DmarcPolicy::Reject), Verdict::Deliver);
        assert!(matches!(
            v(TempError, TempError, TempError, DmarcPolicy::Unknown),
            Verdict::Defer(_)
        ));
        assert_eq!(
            v(TempError, None, TempError, DmarcPolicy::None),
            Verdict::Defer(Reason::SpfTempError {
                domain: "sender.example".into()
            })
        );
        let tag = Enforcement {
            spf_fail: SpfFailAction::Tag,
            ..e
        };
        assert_eq!(
            tag.decide(&results(Fail, None, None, DmarcPolicy::Unknown)),
            Verdict::Deliver
        );
        let monitor = Enforcement { monitor: true, ..e };
        assert_eq!(
            monitor.decide(&results(Fail, None, Fail, DmarcPolicy::Reject)),
            Verdict::Deliver
        );
        // Aligned by the From domain itself: nothing a policy lookup says changes that.
        let mut aligned = results(Pass, Pass, TempError, DmarcPolicy::Unknown);
        aligned.dmarc.author_pass = true;
        assert_eq!(e.decide(&aligned), Verdict::Deliver);
        let accept = Enforcement {
            defer_on_temperror: false,
            ..e
        };
        assert_eq!(
            accept.decide(&results(TempError, None, TempError, DmarcPolicy::Unknown)),
            Verdict::Deliver
        );
    }
}
