//! Message submission (RFC 6409, RFC 8314 for implicit TLS): AUTH (RFC 4954) after TLS,
//! the sender and From: belong to the authenticated user, a missing Date or Message-ID is
//! added (RFC 6409 §8), and the message is DKIM-signed for its From: domain.

use std::time::{Duration, SystemTime};

use baedal_auth::dkim::Signer;
use baedal_auth::sasl::{self, Credentials};
use baedal_auth::{AuthOutcome, LoginAttempt};
use baedal_storage::{Resolution, SpooledMessage};
use mail_parser::{HeaderName, MessageParser};
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};

use super::MAX_COMMAND_LINE;
use super::reply::{self, Reply};
use super::session::{Closed, Session, SubmissionUser};
use crate::conn::Line;
use crate::time::rfc5322_date;

impl Session {
    pub(super) async fn handle_auth(
        &mut self,
        mechanism: u64,
        initial: String,
    ) -> Result<Reply, Closed> {
        if self.service.submission.is_none() {
            return Ok(reply::AUTH_NOT_ENABLED);
        }
        if !self.tls {
            return Ok(reply::ENCRYPTION_REQUIRED);
        }
        if self.user.is_some() {
            return Ok(reply::ALREADY_AUTHENTICATED);
        }
        if self.tx.sender.is_some() {
            return Ok(reply::AUTH_IN_TRANSACTION);
        }
        // RFC 4954 §4: "=" is an empty initial response; none means "ask for it".
        let initial = match initial.trim() {
            "" => None,
            "=" => Some(Vec::new()),
            text => match sasl::decode(text) {
                Ok(bytes) => Some(bytes),
                Err(_) => return Ok(reply::AUTH_BAD_RESPONSE),
            },
        };
        let credentials = if mechanism == AUTH_PLAIN {
            let Some(response) = self.sasl_step(initial, "").await? else {
                return Ok(reply::AUTH_CANCELLED);
            };
            match sasl::decode_plain(&response) {
                Ok((None, c)) => c,
                Ok((Some(authzid), c)) if authzid == c.username => c,
                _ => return Ok(self.refuse_malformed().await),
            }
        } else if mechanism == AUTH_LOGIN {
            // "Username:" and "Password:" (draft-murchison-sasl-login).
            let Some(user) = self.sasl_step(initial, "VXNlcm5hbWU6").await? else {
                return Ok(reply::AUTH_CANCELLED);
            };
            let Some(password) = self.sasl_step(None, "UGFzc3dvcmQ6").await? else {
                return Ok(reply::AUTH_CANCELLED);
            };
            Credentials {
                username: String::from_utf8_lossy(&user).into_owned(),
                password: String::from_utf8_lossy(&password).into_owned(),
            }
        } else {
            return Ok(reply::AUTH_MECHANISM);
        };
        Ok(self.check_credentials(credentials).await)
    }

    /// One SASL response: the initial one, or a `334` challenge and the client's line.
    /// `None` when the client cancels with `*` (RFC 4954 §4) or sends bad base64.
    async fn sasl_step(
        &mut self,
        initial: Option<Vec<u8>>,
        challenge: &str,
    ) -> Result<Option<Vec<u8>>, Closed> {
        if let Some(bytes) = initial {
            return Ok(Some(bytes));
        }
        self.reply(Reply::with_text(334, "", challenge.to_string()));
        let timeout = self.service.limits.command_timeout;
        let line = match self.read_line(MAX_COMMAND_LINE, timeout).await? {
            Line::Complete(line) => line,
            Line::TooLong => return Ok(None),
        };
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if text == "*" {
            return Ok(None);
        }
        Ok(sasl::decode(&text).ok())
    }

    async fn check_credentials(&mut self, credentials: Credentials) -> Reply {
        let Some(submission) = &self.service.submission else {
            return reply::AUTH_NOT_ENABLED;
        };
        let attempt = LoginAttempt {
            username: &credentials.username,
            password: &credentials.password,
            ip: self.info.peer.ip(),
            protocol: "smtp",
        };
        match submission.authenticator.authenticate(attempt).await {
            Ok(AuthOutcome::Accepted(login)) => {
                tracing::debug!(user = %login.user.email, "authenticated");
                self.user = Some(SubmissionUser {
                    id: login.user.id,
                    email: login.user.email,
                });
                reply::AUTH_OK
            }
            Ok(AuthOutcome::Rejected { delay, .. }) => {
                // The authenticator logged the failure; wait, then answer.
                tokio::time::sleep(submission.auth_failure_delay + delay).await;
                reply::AUTH_FAILED
            }
            Err(e) => {
                tracing::error!(error = %e, "authentication backend failed");
                reply::AUTH_TEMPORARY
            }
        }
    }

    /// A PLAIN response that names nobody, or asks to act as somebody else.
    async fn refuse_malformed(&self) -> Reply {
        if let Some(submission) = &self.service.submission {
            let delay = submission
                .authenticator
                .refuse_malformed(self.info.peer.ip(), "smtp");
            tokio::time::sleep(submission.auth_failure_delay + delay).await;
        }
        reply::AUTH_FAILED
    }

    /// True when `address` is the authenticated user's: their own, or an alias that
    /// delivers to them.
    pub(super) async fn owned_by_user(&self, address: &str) -> Result<bool, Reply> {
        let Some(user) = &self.user else {
            return Ok(false);
        };
        if address.eq_ignore_ascii_case(&user.email) {
            return Ok(true);
        }
        if address.is_empty() {
            return Ok(false);
        }
        let resolution = self
            .service
            .directory
            .resolve_recipient(address)
            .await
            .map_err(|e| {
                tracing::error!(address, error = %e, "sender lookup failed");
                reply::LOCAL_ERROR
            })?;
        Ok(match resolution {
            Resolution::Local(users) | Resolution::Forward { local: users, .. } => {
                users.iter().any(|u| u.id == user.id)
            }
            _ => false,
        })
    }

    /// Checks From:, adds Date and Message-ID when missing and signs with the From:
    /// domain's DKIM key; returns the message to deliver (a new spool file when anything
    /// was added) or the refusal.
    pub(super) async fn prepare_submission(
        &self,
        message: SpooledMessage,
    ) -> Result<SpooledMessage, Reply> {
        let Some(submission) = &self.service.submission else {
            return Ok(message);
        };
        let parsed = MessageParser::default().parse_headers(&message.header[..]);
        let from: Vec<String> = parsed
            .as_ref()
            .and_then(|m| m.from())
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.address())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        if from.is_empty() {
            return Err(reply::FROM_NOT_OWNED);
        }
        for address in &from {
            if !self.owned_by_user(address).await? {
                tracing::info!(from = %address, "From: not owned by the sender");
                return Err(reply::FROM_NOT_OWNED);
            }
        }
        let has = |name: HeaderName<'static>| {
            parsed
                .as_ref()
                .is_some_and(|m| m.headers().iter().any(|h| h.name == name))
        };
        let mut added = String::new();
        if !has(HeaderName::Date) {
            added.push_str(&format!("Date: {}\r\n", rfc5322_date(SystemTime::now())));
        }
        if !has(HeaderName::MessageId) {
            added.push_str(&format!(
                "Message-ID: <{}@{}>\r\n",
                message.unique, self.service.hostname
            ));
        }
        let domain = from[0].rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let signature = match submission.dkim.signing_key(domain).await {
            Ok(Some(key)) => {
                match Signer::new(&key.domain, &key.selector, &key.algorithm, &key.private_key) {
                    Ok(signer) => {
                        let file = tokio::fs::File::open(message.path()).await.map_err(|e| {
                            tracing::error!(error = %e, "cannot reopen the spool file");
                            reply::LOCAL_ERROR
                        })?;
                        match signer.sign(added.as_bytes(), file).await {
                            Ok(header) => Some(header),
                            Err(e) => {
                                tracing::error!(domain, error = %e, "DKIM signing failed");
                                return Err(reply::LOCAL_ERROR);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(domain, error = %e, "unusable DKIM key; sending unsigned");
                        None
                    }
                }
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(domain, error = %e, "DKIM key lookup failed");
                return Err(reply::LOCAL_ERROR);
            }
        };
        if added.is_empty() && signature.is_none() {
            message.sync().await.map_err(|e| {
                tracing::error!(error = %e, "cannot sync the spool file");
                reply::LOCAL_ERROR
            })?;
            return Ok(message);
        }
        let prefix = format!("{}{added}", signature.unwrap_or_default());
        self.rewrite_spool(message, prefix.as_bytes(), 0).await
    }
}

/// How long a failed AUTH waits before it answers, by default.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_secs(2);
