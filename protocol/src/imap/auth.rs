//! STARTTLS, LOGIN and AUTHENTICATE (PLAIN, LOGIN; SASL-IR): no credentials before TLS,
//! a delay and one log line per failure.

use std::time::Duration;

use baedal_auth::sasl::{self, Credentials};
use baedal_auth::{AuthOutcome, LoginAttempt};
use imap_codec::fragmentizer::Fragmentizer;
use imap_codec::imap_types::auth::AuthMechanism;

use super::session::{Done, Session, State, User};
use crate::conn::Closed;

impl Session {
    pub(super) async fn starttls(&mut self, tag: &str) -> Result<Done, Closed> {
        if self.tls {
            return Ok(Done::bad("TLS already active"));
        }
        let Some(acceptor) = self.service.tls.clone() else {
            return Ok(Done::no("TLS not available"));
        };
        self.conn
            .queue(format!("{tag} OK Begin TLS negotiation now\r\n").as_bytes());
        // RFC 3501 §6.2.1: nothing the client sent before the handshake counts.
        self.fragmentizer = Fragmentizer::new(self.service.limits.max_command);
        self.conn.start_tls(&acceptor).await?;
        self.tls = true;
        tracing::debug!("TLS started");
        // The tagged OK went out before the handshake; nothing more to say.
        Ok(Done::sent())
    }

    pub(super) async fn authenticate(
        &mut self,
        mechanism: AuthMechanism<'static>,
        initial: Option<Vec<u8>>,
    ) -> Result<Done, Closed> {
        if !self.tls {
            return Ok(Done::no(
                "[PRIVACYREQUIRED] Authentication needs TLS: use STARTTLS",
            ));
        }
        match mechanism {
            AuthMechanism::Plain => {
                let Some(response) = self.sasl_step(initial, b"+ \r\n").await? else {
                    return Ok(Done::bad("Authentication cancelled"));
                };
                match sasl::decode_plain(&response) {
                    Ok((None, credentials)) => Ok(self.login(credentials).await),
                    Ok((Some(authzid), credentials)) if authzid == credentials.username => {
                        Ok(self.login(credentials).await)
                    }
                    _ => {
                        let delay = self
                            .service
                            .authenticator
                            .refuse_malformed(self.info.peer.ip(), "imap");
                        Ok(self.failed_login(delay).await)
                    }
                }
            }
            AuthMechanism::Login => {
                // "Username:" and "Password:" prompts, base64 (draft-murchison-sasl-login).
                let Some(user) = self.sasl_step(initial, b"+ VXNlcm5hbWU6\r\n").await? else {
                    return Ok(Done::bad("Authentication cancelled"));
                };
                let Some(password) = self.sasl_step(None, b"+ UGFzc3dvcmQ6\r\n").await? else {
                    return Ok(Done::bad("Authentication cancelled"));
                };
                let credentials = Credentials {
                    username: String::from_utf8_lossy(&user).into_owned(),
                    password: String::from_utf8_lossy(&password).into_owned(),
                };
                Ok(self.login(credentials).await)
            }
            _ => Ok(Done::no("Unsupported authentication mechanism")),
        }
    }

    /// One SASL response: the initial one if given, else read after `prompt`. `None` when
    /// the client cancels ("*") or sends bad base64.
    async fn sasl_step(
        &mut self,
        initial: Option<Vec<u8>>,
        prompt: &[u8],
    ) -> Result<Option<Vec<u8>>, Closed> {
        if let Some(bytes) = initial {
            return Ok(Some(bytes));
        }
        // RFC 3501 §6.2.2: a continuation, then one base64 line.
        self.conn.queue(prompt);
        let line = self.read_raw_line().await?;
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if text == "*" {
            return Ok(None);
        }
        Ok(sasl::decode(&text).ok())
    }

    pub(super) async fn login(&mut self, credentials: Credentials) -> Done {
        if !self.tls {
            return Done::no("[PRIVACYREQUIRED] LOGIN needs TLS: use STARTTLS");
        }
        let attempt = LoginAttempt {
            username: &credentials.username,
            password: &credentials.password,
            ip: self.info.peer.ip(),
            protocol: "imap",
        };
        let user = match self.service.authenticator.authenticate(attempt).await {
            Ok(AuthOutcome::Accepted(login)) => login.user,
            Ok(AuthOutcome::Rejected { delay, .. }) => return self.failed_login(delay).await,
            Err(e) => {
                tracing::error!(error = %e, "authentication backend failed");
                return Done::no("[UNAVAILABLE] Temporary server problem, try again later");
            }
        };
        if let Err(e) = self.service.store.ensure_default_mailboxes(user.id).await {
            tracing::error!(user = %user.email, error = %e, "cannot create the default mailboxes");
            return Done::no("[UNAVAILABLE] Temporary server problem, try again later");
        }
        tracing::debug!(user = %user.email, "logged in");
        self.state = State::Authenticated(User {
            id: user.id,
            email: user.email,
        });
        Done::ok(format!("[CAPABILITY {}] Logged in", self.capabilities()))
    }

    /// The authenticator logged the failure; wait, then answer.
    async fn failed_login(&mut self, extra_delay: Duration) -> Done {
        tokio::time::sleep(self.service.limits.auth_failure_delay + extra_delay).await;
        Done::no("[AUTHENTICATIONFAILED] Authentication failed")
    }

    /// COMPRESS DEFLATE (RFC 4978): the OK goes out uncompressed, everything after it
    /// compressed both ways. Once only: a second time is `NO [COMPRESSIONACTIVE]`.
    pub(super) async fn compress(&mut self, tag: &str) -> Result<Done, Closed> {
        if self.compressed {
            return Ok(Done::no("[COMPRESSIONACTIVE] DEFLATE is already active"));
        }
        self.conn
            .queue(format!("{tag} OK DEFLATE active\r\n").as_bytes());
        self.conn.start_deflate().await?;
        self.compressed = true;
        tracing::debug!("compression on");
        Ok(Done::sent())
    }
}
