//! One IMAP connection.

use std::sync::Arc;

use baedal_auth::AuthOutcome;
use baedal_auth::sasl::{self, Credentials};
use baedal_storage::EmailAddress;
use imap_codec::CommandCodec;
use imap_codec::fragmentizer::{
    DecodeMessageError, FragmentInfo, Fragmentizer, LiteralAnnouncement,
};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::auth::AuthMechanism;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::LiteralMode;
use tracing::Instrument;

use super::ImapService;
use super::selected::Selected;
use crate::ConnectionInfo;
use crate::conn::{Closed, Conn};
use crate::stream::BoxStream;

/// The logged-in user.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: i64,
    pub email: String,
}

/// What the client sent.
enum Incoming {
    Command(Command<'static>),
    /// A LIST with RFC 5258 syntax: tag, reference, patterns, options.
    ExtendedList(String, String, Vec<String>, super::mailboxes::ListOptions),
    /// Nothing to run (a syntax error, already answered).
    Nothing,
}

pub(super) enum State {
    NotAuthenticated,
    Authenticated(User),
    Selected(User, Selected),
}

/// A tagged completion: `tag OK/NO/BAD [code] text`.
pub(super) struct Done {
    pub status: &'static str,
    pub text: String,
}

impl Done {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            status: "OK",
            text: text.into(),
        }
    }
    pub fn no(text: impl Into<String>) -> Self {
        Self {
            status: "NO",
            text: text.into(),
        }
    }
    pub fn bad(text: impl Into<String>) -> Self {
        Self {
            status: "BAD",
            text: text.into(),
        }
    }
    /// The command already sent its completion (STARTTLS, before the handshake).
    fn sent() -> Self {
        Self {
            status: "",
            text: String::new(),
        }
    }
}

pub struct Session {
    pub(super) service: Arc<ImapService>,
    info: ConnectionInfo,
    pub(super) conn: Conn,
    tls: bool,
    pub(super) state: State,
    fragmentizer: Fragmentizer,
}

impl Session {
    pub fn new(service: Arc<ImapService>, info: ConnectionInfo, stream: BoxStream) -> Self {
        Self {
            conn: Conn::new(stream, service.limits.idle_timeout),
            fragmentizer: Fragmentizer::new(service.limits.max_command),
            tls: info.tls,
            service,
            info,
            state: State::NotAuthenticated,
        }
    }

    pub async fn run(self) {
        let span =
            tracing::info_span!("imap", session = %self.info.session_id, peer = %self.info.peer);
        self.run_in_span().instrument(span).await;
    }

    async fn run_in_span(mut self) {
        tracing::info!(tls = self.tls, "connected");
        let greeting = format!(
            "* OK [CAPABILITY {}] {} Baedal IMAP ready\r\n",
            self.capabilities(),
            self.service.hostname
        );
        self.conn.queue(greeting.as_bytes());
        let end = self.command_loop().await.err().unwrap_or(Closed::Done);
        if end == Closed::Timeout {
            self.conn.queue(b"* BYE Autologout; idle for too long\r\n");
        }
        self.conn.close().await;
        tracing::info!(reason = ?end, "disconnected");
    }

    /// RFC 3501 §6.1.1, with what this state and connection allow.
    fn capabilities(&self) -> String {
        // RFC 7889: the largest APPEND accepted.
        let appendlimit = format!("APPENDLIMIT={}", self.service.limits.max_command);
        let mut caps = vec![
            "IMAP4rev1",
            "LITERAL+",
            "SASL-IR",
            "ID",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "UIDPLUS",
            "MOVE",
            "ENABLE",
            "SPECIAL-USE",
            "CHILDREN",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            &appendlimit,
        ];
        if matches!(self.state, State::NotAuthenticated) {
            if self.tls {
                caps.push("AUTH=PLAIN");
                caps.push("AUTH=LOGIN");
            } else {
                // RFC 3501 §6.2.3 / RFC 8314: no plaintext login without TLS.
                caps.push("LOGINDISABLED");
                if self.service.tls.is_some() {
                    caps.push("STARTTLS");
                }
            }
        }
        caps.join(" ")
    }

    async fn command_loop(&mut self) -> Result<(), Closed> {
        loop {
            let (tag, verb, done) = match self.next_command().await? {
                Incoming::Nothing => continue,
                Incoming::Command(Command { tag, body }) => {
                    let tag = tag.as_ref().to_string();
                    let verb = body.name();
                    let done = self.dispatch(&tag, body).await?;
                    (tag, verb, done)
                }
                Incoming::ExtendedList(tag, reference, patterns, options) => {
                    let done = if matches!(self.state, State::NotAuthenticated) {
                        Done::bad("LIST needs authentication")
                    } else {
                        self.list_mailboxes(&reference, &patterns, &options).await
                    };
                    (tag, "LIST", done)
                }
            };
            if done.status.is_empty() {
                continue;
            }
            if done.status != "OK" {
                tracing::info!(command = verb, status = done.status, text = %done.text, "refused");
            }
            self.conn
                .queue(format!("{tag} {} {}\r\n", done.status, done.text).as_bytes());
        }
    }

    /// The next complete command, answering literal announcements on the way. `None`
    /// when the bytes were not a command (already answered with BAD).
    async fn next_command(&mut self) -> Result<Incoming, Closed> {
        loop {
            let Some(fragment) = self.fragmentizer.progress() else {
                let bytes = self
                    .conn
                    .read_some(self.service.limits.idle_timeout)
                    .await?;
                self.fragmentizer.enqueue_bytes(&bytes);
                continue;
            };
            if let FragmentInfo::Line {
                announcement: Some(LiteralAnnouncement { mode, length }),
                ..
            } = fragment
            {
                if length > self.service.limits.max_command {
                    // RFC 7888 §4: a too-large literal is refused; a non-synchronising one
                    // still arrives and is skipped with the message.
                    self.fragmentizer.poison_message();
                } else if mode == LiteralMode::Sync {
                    self.conn.queue(b"+ Ready for literal data\r\n");
                    self.conn.flush().await?;
                }
                continue;
            }
            if !self.fragmentizer.is_message_complete() {
                continue;
            }
            if let Some((tag, reference, patterns, options)) =
                super::list_extended::parse(self.fragmentizer.message_bytes())
            {
                return Ok(Incoming::ExtendedList(tag, reference, patterns, options));
            }
            let decoded = self.fragmentizer.decode_message(&CommandCodec::default());
            let reply = match decoded {
                Ok(command) => return Ok(Incoming::Command(command.into_static())),
                Err(DecodeMessageError::MessageTooLong { .. }) => "BAD Command too long",
                Err(DecodeMessageError::MessagePoisoned { .. }) => "BAD Literal too large",
                Err(_) => "BAD Syntax error",
            };
            let tag = self
                .fragmentizer
                .decode_tag()
                .map(|t| t.as_ref().to_string())
                .unwrap_or_else(|| "*".into());
            self.conn.queue(format!("{tag} {reply}\r\n").as_bytes());
            return Ok(Incoming::Nothing);
        }
    }

    /// The one match of command against state.
    async fn dispatch(&mut self, tag: &str, body: CommandBody<'static>) -> Result<Done, Closed> {
        let authenticated = !matches!(self.state, State::NotAuthenticated);
        let selected = matches!(self.state, State::Selected(..));
        Ok(match body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.conn
                    .queue(format!("* CAPABILITY {caps}\r\n").as_bytes());
                Done::ok("CAPABILITY completed")
            }
            CommandBody::Noop | CommandBody::Check => {
                self.refresh().await;
                Done::ok("NOOP completed")
            }
            CommandBody::Logout => {
                self.conn.queue(
                    format!("* BYE Logging out\r\n{tag} OK LOGOUT completed\r\n").as_bytes(),
                );
                return Err(Closed::Done);
            }
            CommandBody::Id { .. } => {
                self.conn.queue(b"* ID (\"name\" \"Baedal\")\r\n");
                Done::ok("ID completed")
            }
            CommandBody::StartTLS if !authenticated => return self.starttls(tag).await,
            CommandBody::Login { username, password } if !authenticated => {
                let credentials = Credentials {
                    username: String::from_utf8_lossy(username.as_ref()).into_owned(),
                    password: String::from_utf8_lossy(password.declassify().as_ref()).into_owned(),
                };
                self.login(credentials).await
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } if !authenticated => {
                self.authenticate(mechanism, initial_response.map(|r| r.declassify().to_vec()))
                    .await?
            }
            CommandBody::Enable { .. } if authenticated => {
                self.conn.queue(b"* ENABLED\r\n");
                Done::ok("ENABLE completed")
            }
            CommandBody::Namespace if authenticated => {
                self.conn.queue(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                Done::ok("NAMESPACE completed")
            }
            CommandBody::List {
                reference,
                mailbox_wildcard,
                ..
            } if authenticated => self.list(&reference, &mailbox_wildcard, false).await,
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } if authenticated => self.list(&reference, &mailbox_wildcard, true).await,
            CommandBody::Status {
                mailbox,
                item_names,
            } if authenticated => self.status(&mailbox, &item_names).await,
            CommandBody::Select { mailbox, .. } if authenticated => {
                self.select(&mailbox, false).await
            }
            CommandBody::Examine { mailbox, .. } if authenticated => {
                self.select(&mailbox, true).await
            }
            CommandBody::Subscribe { mailbox } if authenticated => {
                self.subscribe(&mailbox, true).await
            }
            CommandBody::Unsubscribe { mailbox } if authenticated => {
                self.subscribe(&mailbox, false).await
            }
            CommandBody::Create { mailbox } if authenticated => self.create(&mailbox).await,
            CommandBody::GetQuotaRoot { mailbox } if authenticated => {
                self.get_quota_root(&mailbox).await
            }
            CommandBody::GetQuota { root } if authenticated => self.get_quota(root.as_ref()).await,
            CommandBody::SetQuota { .. } if authenticated => {
                Done::no("[NOPERM] Quotas are set with the baedal CLI")
            }
            CommandBody::Delete { mailbox } if authenticated => self.delete(&mailbox).await,
            CommandBody::Rename { from, to } if authenticated => self.rename(&from, &to).await,
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } if authenticated => self.append(&mailbox, &flags, date.as_ref(), &message).await,
            CommandBody::Copy {
                sequence_set,
                mailbox,
                uid,
            } if selected => self.copy_or_move(&sequence_set, &mailbox, uid, false).await,
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid,
            } if selected => self.copy_or_move(&sequence_set, &mailbox, uid, true).await,
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } if selected => {
                let charset = charset.map(|c| c.as_ref().to_string());
                self.search(charset.as_deref(), &criteria, uid).await
            }
            CommandBody::Idle if authenticated => return self.idle().await,
            CommandBody::Close if selected => self.close(true).await,
            CommandBody::Unselect if selected => self.close(false).await,
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                ..
            } if selected => self.fetch(&sequence_set, macro_or_item_names, uid).await?,
            CommandBody::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                ..
            } if selected => {
                self.store(&sequence_set, &kind, &response, &flags, uid)
                    .await
            }
            CommandBody::Expunge if selected => self.expunge(None).await,
            CommandBody::ExpungeUid { sequence_set } if selected => {
                self.expunge(Some(&sequence_set)).await
            }
            CommandBody::StartTLS
            | CommandBody::Login { .. }
            | CommandBody::Authenticate { .. } => Done::bad("Already authenticated"),
            other if !authenticated => Done::bad(format!("{} needs authentication", other.name())),
            CommandBody::Close
            | CommandBody::Unselect
            | CommandBody::Copy { .. }
            | CommandBody::Move { .. }
            | CommandBody::Search { .. }
            | CommandBody::Fetch { .. }
            | CommandBody::Store { .. }
            | CommandBody::Expunge
            | CommandBody::ExpungeUid { .. }
                if !selected =>
            {
                Done::bad("No mailbox selected")
            }
            other => Done::no(format!("{} is not available yet", other.name())),
        })
    }

    pub(super) fn user_id(&self) -> Option<i64> {
        match &self.state {
            State::NotAuthenticated => None,
            State::Authenticated(user) | State::Selected(user, _) => Some(user.id),
        }
    }

    pub(super) fn user_email(&self) -> Option<String> {
        match &self.state {
            State::NotAuthenticated => None,
            State::Authenticated(user) | State::Selected(user, _) => Some(user.email.clone()),
        }
    }

    async fn starttls(&mut self, tag: &str) -> Result<Done, Closed> {
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

    async fn authenticate(
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

    async fn login(&mut self, credentials: Credentials) -> Done {
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

    /// A line that is not a command (an AUTHENTICATE response, IDLE's DONE), read through
    /// the fragmentizer so no byte is lost between it and the commands.
    async fn read_raw_line(&mut self) -> Result<Vec<u8>, Closed> {
        loop {
            if self.fragmentizer.progress().is_some() {
                if self.fragmentizer.is_message_complete() {
                    if self.fragmentizer.is_max_message_size_exceeded() {
                        return Ok(Vec::new());
                    }
                    return Ok(self.fragmentizer.message_bytes().to_vec());
                }
                continue;
            }
            let bytes = self
                .conn
                .read_some(self.service.limits.idle_timeout)
                .await?;
            self.fragmentizer.enqueue_bytes(&bytes);
        }
    }

    /// RFC 2177 IDLE: "+ idling", changes as they happen, until DONE.
    async fn idle(&mut self) -> Result<Done, Closed> {
        enum Event {
            Line(Result<Vec<u8>, Closed>),
            Changed,
            Tick,
        }
        // Subscribe before the continuation, so no change slips between them.
        let mut changes = self.service.store.subscribe();
        let selected_id = match &self.state {
            State::Selected(_, selected) => Some(selected.mailbox.id),
            _ => None,
        };
        self.conn.queue(b"+ idling\r\n");
        self.conn.flush().await?;
        let started = tokio::time::Instant::now();
        let poll = self.service.limits.idle_poll;
        loop {
            // In-process changes arrive on the bus at once; a slow poll catches changes made
            // by other processes (the CLI, other nodes).
            let event = tokio::select! {
                line = self.read_raw_line() => Event::Line(line),
                change = changes.recv() => match change {
                    Ok(id) if Some(id) != selected_id => continue,
                    _ => Event::Changed,
                },
                () = tokio::time::sleep(poll) => Event::Tick,
            };
            match event {
                Event::Line(line) => {
                    let done = String::from_utf8_lossy(&line?)
                        .trim()
                        .eq_ignore_ascii_case("DONE");
                    return Ok(if done {
                        Done::ok("IDLE terminated")
                    } else {
                        Done::bad("Expected DONE")
                    });
                }
                Event::Changed | Event::Tick => {
                    self.refresh().await;
                    self.conn.flush().await?;
                    if started.elapsed() > self.service.limits.idle_timeout {
                        return Err(Closed::Timeout);
                    }
                }
            }
        }
    }
}
