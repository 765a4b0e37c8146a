//! What Rspamd's reply means for one recipient, by the recipient's domain's thresholds.

use crate::config::RspamdDomain;
use crate::rspamd::{Action, RspamdReply};

/// Where one recipient's copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpamVerdict {
    Deliver,
    /// Delivered with the Subject Rspamd wrote.
    Rewrite,
    Junk,
    /// `451 4.7.1`: Rspamd asks for a retry (soft reject, greylist).
    Defer,
    Reject,
}

/// A domain's thresholds replace Rspamd's for reject and Junk; a retry Rspamd asks for is
/// always honoured.
pub(crate) fn spam_verdict(domain: &RspamdDomain, reply: &RspamdReply) -> SpamVerdict {
    let reject = match domain.reject_score {
        Some(threshold) => reply.score >= threshold,
        None => reply.action == Action::Reject,
    };
    if reject {
        return SpamVerdict::Reject;
    }
    if matches!(reply.action, Action::SoftReject | Action::Greylist) {
        return SpamVerdict::Defer;
    }
    let junk = match domain.junk_score {
        Some(threshold) => reply.score >= threshold,
        None => reply.action == Action::AddHeader,
    };
    if junk {
        return SpamVerdict::Junk;
    }
    if reply.action == Action::RewriteSubject {
        return SpamVerdict::Rewrite;
    }
    SpamVerdict::Deliver
}

/// The message's fate from every recipient's verdict (`None`: Rspamd is off for that
/// recipient's domain). One reply answers all recipients after DATA: refused only if every
/// recipient refuses, deferred if any defers; otherwise delivered, to Junk where asked.
pub(crate) fn combine(verdicts: &[Option<SpamVerdict>]) -> Combined {
    let checked: Vec<SpamVerdict> = verdicts.iter().flatten().copied().collect();
    if !checked.is_empty()
        && checked.len() == verdicts.len()
        && checked.iter().all(|v| *v == SpamVerdict::Reject)
    {
        return Combined::Reject;
    }
    if checked.contains(&SpamVerdict::Defer) {
        return Combined::Defer;
    }
    let junk = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Some(SpamVerdict::Junk | SpamVerdict::Reject)))
        .map(|(i, _)| i)
        .collect();
    Combined::Deliver {
        junk,
        rewrite: checked.contains(&SpamVerdict::Rewrite),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Combined {
    Reject,
    Defer,
    Deliver { junk: Vec<usize>, rewrite: bool },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderEdit;

    fn reply(action: Action, score: f64) -> RspamdReply {
        RspamdReply {
            action,
            score,
            required_score: 15.0,
            symbols: Vec::new(),
            subject: None,
            headers: HeaderEdit::default(),
            smtp_message: None,
        }
    }

    #[test]
    fn follows_rspamd_without_thresholds() {
        let d = RspamdDomain::default();
        assert_eq!(
            spam_verdict(&d, &reply(Action::Reject, 15.0)),
            SpamVerdict::Reject
        );
        assert_eq!(
            spam_verdict(&d, &reply(Action::SoftReject, 9.0)),
            SpamVerdict::Defer
        );
        assert_eq!(
            spam_verdict(&d, &reply(Action::Greylist, 4.0)),
            SpamVerdict::Defer
        );
        assert_eq!(
            spam_verdict(&d, &reply(Action::AddHeader, 6.0)),
            SpamVerdict::Junk
        );
        assert_eq!(
            spam_verdict(&d, &reply(Action::RewriteSubject, 5.0)),
            SpamVerdict::Rewrite
        );
        assert_eq!(
            spam_verdict(&d, &reply(Action::NoAction, 0.0)),
            SpamVerdict::Deliver
        );
    }

    #[test]
    fn domain_thresholds_replace_rspamds() {
        let strict = RspamdDomain {
            reject_score: Some(5.0),
            junk_score: Some(2.0),
            ..Default::default()
        };
        assert_eq!(
            spam_verdict(&strict, &reply(Action::AddHeader, 6.0)),
            SpamVerdict::Reject
        );
        assert_eq!(
            spam_verdict(&strict, &reply(Action::NoAction, 3.0)),
            SpamVerdict::Junk
        );
        let lenient = RspamdDomain {
            reject_score: Some(100.0),
            junk_score: Some(50.0),
            ..Default::default()
        };
        assert_eq!(
            spam_verdict(&lenient, &reply(Action::Reject, 15.0)),
            SpamVerdict::Deliver
        );
    }

    #[test]
    fn combines_recipients() {
        use SpamVerdict::*;
        assert_eq!(combine(&[Some(Reject), Some(Reject)]), Combined::Reject);
        // A recipient whose domain does not filter still gets the message.
        assert_eq!(
            combine(&[Some(Reject), None]),
            Combined::Deliver {
                junk: vec![0],
                rewrite: false
            }
        );
        assert_eq!(combine(&[Some(Deliver), Some(Defer)]), Combined::Defer);
        assert_eq!(
            combine(&[Some(Junk), Some(Rewrite), Some(Deliver)]),
            Combined::Deliver {
                junk: vec![0],
                rewrite: true
            }
        );
    }
}
