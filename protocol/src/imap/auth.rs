//! STARTTLS, LOGIN and AUTHENTICATE (PLAIN, LOGIN; SASL-IR): no credentials before TLS,
//! a delay and one log line per failure.

use baedal_auth::AuthOutcome;
use baedal_auth::sasl::{self, Credentials};
use baedal_storage::EmailAddress;
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
        tracing::info!("TLS started");
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
                    _ => Ok(self.failed_login("-").await),
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
        let Ok(address) = EmailAddress::parse(&credentials.username) else {
            return self.failed_login(&credentials.username).await;
        };
        match self
            .service
            .authenticator
            .authenticate(&address, &credentials.password)
            .await
        {
            Ok(AuthOutcome::Accepted(_)) => {}
            Ok(AuthOutcome::Rejected) => return self.failed_login(&credentials.username).await,
            Err(e) => {
                tracing::error!(user = %address, error = %e, "authentication backend failed");
                return Done::no("[UNAVAILABLE] Temporary server problem, try again later");
            }
        }
        match self.service.directory.require_user(&address).await {
            Ok(user) => {
                if let Err(e) = self.service.store.ensure_default_mailboxes(user.id).await {
                    tracing::error!(user = %address, error = %e, "cannot create the default mailboxes");
                    return Done::no("[UNAVAILABLE] Temporary server problem, try again later");
                }
                tracing::info!(user = %address, "logged in");
                self.state = State::Authenticated(User {
                    id: user.id,
                    email: user.email,
                });
                Done::ok(format!("[CAPABILITY {}] Logged in", self.capabilities()))
            }
            Err(e) => {
                tracing::error!(user = %address, error = %e, "user lookup failed");
                Done::no("[UNAVAILABLE] Temporary server problem, try again later")
            }
        }
    }

    /// One greppable line per failure (fail2ban), then the delay.
    async fn failed_login(&mut self, user: &str) -> Done {
        tracing::warn!(protocol = "imap", user, ip = %self.info.peer.ip(), "authentication failed");
        tokio::time::sleep(self.service.limits.auth_failure_delay).await;
        Done::no("[AUTHENTICATIONFAILED] Authentication failed")
    }
}
