//! What each SMTP reply tells the metrics: messages accepted, refusals by stage and
//! enhanced status code, and how long a transaction took from MAIL FROM to the final reply.

use smtp_proto::Request;

use super::reply::Reply;
use super::session::Session;

/// The stage a command belongs to, as the metrics name it. `"data"` is the command whose
/// reply acknowledges (or refuses) a whole message: DATA, or the last BDAT chunk.
pub(super) fn stage(request: &Request<String>) -> &'static str {
    match request {
        Request::Ehlo { .. } | Request::Helo { .. } | Request::Lhlo { .. } => "ehlo",
        Request::Mail { .. } => "mail",
        Request::Rcpt { .. } => "rcpt",
        Request::Data => "data",
        Request::Bdat { is_last: true, .. } => "data",
        Request::Bdat { .. } => "bdat",
        Request::Auth { .. } => "auth",
        Request::StartTls => "starttls",
        _ => "other",
    }
}

impl Session {
    fn listener(&self) -> &'static str {
        if self.service.submission.is_some() {
            "submission"
        } else {
            "mx"
        }
    }

    /// Counts the reply `stage`'s command got.
    pub(super) fn observe(&mut self, stage: &'static str, reply: &Reply) {
        let listener = self.listener();
        tracing::debug!(stage, code = reply.code, status = reply.status, "command");
        if reply.is_error() {
            baedal_metrics::smtp_refused(listener, stage, reply.status);
        }
        match stage {
            "mail" if reply.code == 250 => self.tx_started = Some(std::time::Instant::now()),
            "data" if reply.code != 0 => {
                if reply.code == 250 {
                    baedal_metrics::smtp_message_accepted(listener);
                }
                if let Some(started) = self.tx_started.take() {
                    baedal_metrics::smtp_transaction(listener, started.elapsed());
                }
            }
            _ => {}
        }
    }
}
