//! One POP3 connection: AUTHORIZATION, TRANSACTION and UPDATE (RFC 1939 §3).

use std::sync::Arc;
use std::time::Duration;

use baedal_auth::sasl::{self, Credentials, MAX_SASL_LINE, Mechanism};
use baedal_auth::{AuthOutcome, LoginAttempt};
use tracing::Instrument;

use super::maildrop::Maildrop;
use super::{Pop3Service, reply};
use crate::ConnectionInfo;
use crate::conn::{Closed, Conn, Line};
use crate::stream::BoxStream;

/// RFC 2449 §4 limits commands to 255 octets; SASL responses may be longer.
const MAX_LINE: usize = MAX_SASL_LINE;
/// Errors in a row before the session is closed.
const MAX_ERRORS: u32 = 20;

enum State {
    /// Before login; `user` is what USER gave.
    Authorization {
        user: Option<String>,
    },
    Transaction(Box<Maildrop>),
}

pub struct Session {
    service: Arc<Pop3Service>,
    info: ConnectionInfo,
    conn: Conn,
    tls: bool,
    state: State,
    errors: u32,
}

impl Session {
    pub fn new(service: Arc<Pop3Service>, info: ConnectionInfo, stream: BoxStream) -> Self {
        Self {
            conn: Conn::new(stream, service.limits.idle_timeout, info.shutdown.clone()),
            tls: info.tls,
            service,
            info,
            state: State::Authorization { user: None },
            errors: 0,
        }
    }

    pub async fn run(self) {
        let span =
            tracing::info_span!("pop3", session = %self.info.session_id, peer = %self.info.peer);
        self.run_in_span().instrument(span).await;
    }

    async fn run_in_span(mut self) {
        tracing::info!(tls = self.tls, "connected");
        self.send(&format!(
            "+OK {} {}",
            self.service.hostname,
            reply::GREETING_SUFFIX
        ));
        let end = self.command_loop().await.err().unwrap_or(Closed::Done);
        match end {
            // RFC 1939 §3: an autologout does not enter UPDATE; nothing is deleted.
            Closed::Timeout => self.send(reply::IDLE),
            // Neither does a server stop: the client's next session sees every message.
            Closed::Shutdown => self.send(reply::SHUTTING_DOWN),
            Closed::Done | Closed::Disconnected => {}
        }
        self.conn.close().await;
        tracing::info!(reason = ?end, "disconnected");
    }

    fn send(&mut self, line: &str) {
        if line.starts_with("-ERR") {
            tracing::info!(reply = line, "refused");
        }
        self.conn.queue(line.as_bytes());
        self.conn.queue(b"\r\n");
    }

    /// A SASL response line.
    async fn read_line(&mut self) -> Result<Option<String>, Closed> {
        let line = self
            .conn
            .read_line(MAX_LINE, self.service.limits.idle_timeout)
            .await?;
        Ok(Self::text(line))
    }

    /// The next command line; a stop request ends the wait.
    async fn read_command(&mut self) -> Result<Option<String>, Closed> {
        let line = self
            .conn
            .read_command(MAX_LINE, self.service.limits.idle_timeout)
            .await?;
        Ok(Self::text(line))
    }

    fn text(line: Line) -> Option<String> {
        match line {
            Line::TooLong => None,
            Line::Complete(bytes) => Some(
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
        }
    }

    async fn command_loop(&mut self) -> Result<(), Closed> {
        loop {
            let reply = match self.read_command().await? {
                None => reply::LINE_TOO_LONG.to_string(),
                Some(line) => {
                    let (verb, args) = match line.split_once(' ') {
                        Some((verb, args)) => (verb.to_ascii_uppercase(), args.trim().to_string()),
                        None => (line.trim().to_ascii_uppercase(), String::new()),
                    };
                    // The peer's word, cut and escaped; never the arguments (PASS).
                    let command: String = verb.chars().take(16).collect();
                    tracing::debug!(command = ?command, "command");
                    match self.dispatch(&verb, &args).await? {
                        Some(reply) => reply,
                        None => continue,
                    }
                }
            };
            let failed = reply.starts_with("-ERR");
            self.send(&reply);
            self.errors = if failed { self.errors + 1 } else { 0 };
            if self.errors >= MAX_ERRORS {
                self.send("-ERR Too many errors");
                return Err(Closed::Done);
            }
        }
    }

    /// The one match of command against state. `Ok(None)`: the handler already replied.
    async fn dispatch(&mut self, verb: &str, args: &str) -> Result<Option<String>, Closed> {
        let authorized = matches!(self.state, State::Transaction(_));
        let reply = match (verb, authorized) {
            ("CAPA", _) => self.capa(),
            ("NOOP", _) => reply::OK.to_string(),
            ("QUIT", _) => {
                let bye = match &self.state {
                    State::Transaction(maildrop) => maildrop.update(&self.service.store).await,
                    State::Authorization { .. } => reply::BYE.to_string(),
                };
                self.send(&bye);
                return Err(Closed::Done);
            }
            ("STLS", false) => return self.stls().await,
            ("USER", false) => self.user(args),
            ("PASS", false) => self.pass(args).await,
            ("AUTH", false) => return self.auth(args).await,
            ("STAT", true) => self.maildrop().stat(),
            ("LIST", true) => self.maildrop().listing(optional(args), false),
            ("UIDL", true) => self.maildrop().listing(optional(args), true),
            ("DELE", true) => self.maildrop().delete(args),
            ("RSET", true) => self.maildrop().reset(),
            ("RETR", true) => return self.transfer(args, None).await,
            ("TOP", true) => {
                let mut parts = args.split_whitespace();
                match (
                    parts.next(),
                    parts.next().and_then(|n| n.parse::<u64>().ok()),
                    parts.next(),
                ) {
                    (Some(n), Some(lines), None) => {
                        let n = n.to_string();
                        return self.transfer(&n, Some(lines)).await;
                    }
                    _ => reply::SYNTAX.to_string(),
                }
            }
            ("STLS" | "USER" | "PASS" | "AUTH", true)
            | ("STAT" | "LIST" | "UIDL" | "DELE" | "RSET" | "RETR" | "TOP", false) => {
                reply::WRONG_STATE.to_string()
            }
            _ => reply::UNKNOWN_COMMAND.to_string(),
        };
        Ok(Some(reply))
    }

    fn maildrop(&mut self) -> &mut Maildrop {
        match &mut self.state {
            State::Transaction(maildrop) => maildrop,
            State::Authorization { .. } => unreachable!("dispatch checks the state"),
        }
    }

    async fn transfer(&mut self, arg: &str, lines: Option<u64>) -> Result<Option<String>, Closed> {
        let State::Transaction(maildrop) = &mut self.state else {
            return Ok(Some(reply::WRONG_STATE.to_string()));
        };
        match maildrop
            .send(&self.service.store, &mut self.conn, arg, lines)
            .await?
        {
            Ok(()) => Ok(None),
            Err(refusal) => Ok(Some(refusal.to_string())),
        }
    }

    /// RFC 2449 §5: what this server offers now.
    fn capa(&self) -> String {
        let mut caps = vec![
            "TOP".to_string(),
            "UIDL".to_string(),
            "RESP-CODES".to_string(),
            "AUTH-RESP-CODE".to_string(),
            "PIPELINING".to_string(),
        ];
        // RFC 2449 §6.7: NEVER when mail is kept; before login the value may vary per user.
        caps.push(match &self.state {
            State::Transaction(maildrop) => expire(maildrop.retention_days),
            State::Authorization { .. } => format!("{} USER", expire(self.service.retention_days)),
        });
        caps.push("IMPLEMENTATION Baedal".to_string());
        if let State::Authorization { .. } = self.state {
            if self.tls {
                caps.push("USER".to_string());
                caps.push("SASL PLAIN LOGIN".to_string());
            } else if self.service.tls.is_some() {
                caps.push("STLS".to_string());
            }
        }
        format!("{}\r\n{}\r\n.", reply::CAPA, caps.join("\r\n"))
    }

    async fn stls(&mut self) -> Result<Option<String>, Closed> {
        if self.tls {
            return Ok(Some(reply::TLS_ACTIVE.to_string()));
        }
        let Some(acceptor) = self.service.tls.clone() else {
            return Ok(Some(reply::TLS_UNAVAILABLE.to_string()));
        };
        self.send(reply::BEGIN_TLS);
        self.conn.start_tls(&acceptor).await?;
        self.tls = true;
        // RFC 2595 §4: discard what was learned before TLS.
        self.state = State::Authorization { user: None };
        tracing::debug!("TLS started");
        Ok(None)
    }

    fn user(&mut self, args: &str) -> String {
        if !self.tls {
            return reply::PLAINTEXT_DISALLOWED.to_string();
        }
        if args.is_empty() {
            return reply::SYNTAX.to_string();
        }
        self.state = State::Authorization {
            user: Some(args.to_string()),
        };
        reply::USER_OK.to_string()
    }

    async fn pass(&mut self, password: &str) -> String {
        if !self.tls {
            return reply::PLAINTEXT_DISALLOWED.to_string();
        }
        let State::Authorization { user: Some(user) } = &self.state else {
            return reply::USER_FIRST.to_string();
        };
        let credentials = Credentials {
            username: user.clone(),
            password: password.to_string(),
        };
        self.state = State::Authorization { user: None };
        self.login(credentials).await
    }

    /// RFC 5034: AUTH mechanism [initial-response].
    async fn auth(&mut self, args: &str) -> Result<Option<String>, Closed> {
        if !self.tls {
            return Ok(Some(reply::PLAINTEXT_DISALLOWED.to_string()));
        }
        let mut parts = args.split_whitespace();
        let Some(mechanism) = parts.next().and_then(Mechanism::parse) else {
            return Ok(Some(reply::UNKNOWN_MECHANISM.to_string()));
        };
        let initial = parts.next().map(str::to_string);
        let credentials = match mechanism {
            Mechanism::Plain => {
                let Some(response) = self.sasl_response(initial, reply::SASL_CONTINUE).await?
                else {
                    return Ok(Some(reply::AUTH_CANCELLED.to_string()));
                };
                match sasl::decode_plain(&response) {
                    Ok((None, credentials)) => credentials,
                    Ok((Some(authzid), credentials)) if authzid == credentials.username => {
                        credentials
                    }
                    _ => {
                        let delay = self
                            .service
                            .authenticator
                            .refuse_malformed(self.info.peer.ip(), "pop3");
                        return Ok(Some(self.failed_login(delay).await));
                    }
                }
            }
            Mechanism::Login => {
                let Some(user) = self.sasl_response(initial, reply::LOGIN_USERNAME).await? else {
                    return Ok(Some(reply::AUTH_CANCELLED.to_string()));
                };
                let Some(password) = self.sasl_response(None, reply::LOGIN_PASSWORD).await? else {
                    return Ok(Some(reply::AUTH_CANCELLED.to_string()));
                };
                Credentials {
                    username: String::from_utf8_lossy(&user).into_owned(),
                    password: String::from_utf8_lossy(&password).into_owned(),
                }
            }
        };
        Ok(Some(self.login(credentials).await))
    }

    /// The initial response, or one read after `prompt`. `None` when the client cancels
    /// ("*") or sends something undecodable.
    async fn sasl_response(
        &mut self,
        initial: Option<String>,
        prompt: &str,
    ) -> Result<Option<Vec<u8>>, Closed> {
        let line = match initial {
            Some(line) => line,
            None => {
                self.send(prompt);
                match self.read_line().await? {
                    Some(line) => line,
                    None => return Ok(None),
                }
            }
        };
        if line.trim() == "*" {
            return Ok(None);
        }
        Ok(sasl::decode(&line).ok())
    }

    async fn login(&mut self, credentials: Credentials) -> String {
        let attempt = LoginAttempt {
            username: &credentials.username,
            password: &credentials.password,
            ip: self.info.peer.ip(),
            protocol: "pop3",
        };
        let user = match self.service.authenticator.authenticate(attempt).await {
            Ok(AuthOutcome::Accepted(login)) => login.user,
            Ok(AuthOutcome::Rejected { delay, .. }) => return self.failed_login(delay).await,
            Err(e) => {
                tracing::error!(error = %e, "authentication backend failed");
                return reply::TEMPORARY.to_string();
            }
        };
        let address = user.email.clone();
        let Some(lock) = self.service.lock(user.id) else {
            tracing::info!(user = %address, "maildrop in use");
            return reply::IN_USE.to_string();
        };
        let retention = user
            .pop3_retention_days
            .unwrap_or(self.service.retention_days);
        match Maildrop::open(&self.service.store, lock, user.id, user.email, retention).await {
            Ok(maildrop) => {
                tracing::debug!(user = %address, messages = maildrop.stat(), "logged in");
                self.state = State::Transaction(Box::new(maildrop));
                reply::LOGGED_IN.to_string()
            }
            Err(e) => {
                tracing::error!(user = %address, error = %e, "cannot open the maildrop");
                reply::TEMPORARY.to_string()
            }
        }
    }

    /// The authenticator logged the failure; wait, then `-ERR [AUTH]`.
    async fn failed_login(&mut self, extra_delay: Duration) -> String {
        tokio::time::sleep(self.service.limits.auth_failure_delay + extra_delay).await;
        reply::AUTH_FAILED.to_string()
    }
}

fn optional(args: &str) -> Option<&str> {
    (!args.is_empty()).then_some(args)
}

fn expire(days: i64) -> String {
    if days <= 0 {
        "EXPIRE NEVER".to_string()
    } else {
        format!("EXPIRE {days}")
    }
}
