//! One IMAP connection.

use std::collections::HashMap;
use std::sync::Arc;

use baedal_auth::sasl::Credentials;
use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::fragmentizer::{
    DecodeMessageError, FragmentInfo, Fragmentizer, LiteralAnnouncement,
};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::{Command, CommandBody, StoreModifier};
use imap_codec::imap_types::core::LiteralMode;
use tracing::Instrument;

use super::ImapService;
use super::condstore::Enabled;
use super::selected::Selected;
use super::syntax::Extras;
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
    Command(Command<'static>, Extras),
    /// A LIST with RFC 5258 syntax: tag, reference, patterns, options.
    ExtendedList(String, String, Vec<String>, super::mailboxes::ListOptions),
    /// `CANCELUPDATE "t"…` (RFC 5267 §4.2): tag, search tags.
    CancelUpdate(String, Vec<String>),
    /// Nothing to run (a syntax error, already answered).
    Nothing,
}

pub(super) enum State {
    NotAuthenticated,
    Authenticated(User),
    Selected(User, Box<Selected>),
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
    pub(super) fn sent() -> Self {
        Self {
            status: "",
            text: String::new(),
        }
    }
}

pub struct Session {
    pub(super) service: Arc<ImapService>,
    pub(super) info: ConnectionInfo,
    pub(super) conn: Conn,
    pub(super) tls: bool,
    pub(super) state: State,
    pub(super) fragmentizer: Fragmentizer,
    /// Header sections read in bulk for the FETCH or SEARCH in progress, by blob key.
    pub(super) headers: HashMap<String, Vec<u8>>,
    /// CONDSTORE/QRESYNC as enabled by the client (RFC 7162).
    pub(super) enabled: Enabled,
    /// COMPRESS=DEFLATE is on (RFC 4978).
    pub(super) compressed: bool,
}

impl Session {
    pub fn new(service: Arc<ImapService>, info: ConnectionInfo, stream: BoxStream) -> Self {
        Self {
            conn: Conn::new(stream, service.limits.idle_timeout, info.shutdown.clone()),
            fragmentizer: Fragmentizer::new(service.limits.max_command),
            tls: info.tls,
            service,
            info,
            state: State::NotAuthenticated,
            headers: HashMap::new(),
            enabled: Enabled::default(),
            compressed: false,
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
        match end {
            Closed::Timeout => self.conn.queue(b"* BYE Autologout; idle for too long\r\n"),
            // RFC 9051 §7.1.5: BYE announces a server shutdown.
            Closed::Shutdown => self.conn.queue(b"* BYE Server shutting down\r\n"),
            Closed::Done | Closed::Disconnected => {}
        }
        self.conn.close().await;
        tracing::info!(reason = ?end, "disconnected");
    }

    /// RFC 3501 §6.1.1, with what this state and connection allow.
    pub(super) fn capabilities(&self) -> String {
        // RFC 7889: the largest APPEND accepted.
        let appendlimit = format!("APPENDLIMIT={}", self.service.limits.max_command);
        let mut caps = vec![
            "IMAP4rev1",
            "IMAP4rev2",
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
            "CREATE-SPECIAL-USE",
            "OBJECTID",
            "SAVEDATE",
            "PREVIEW",
            "METADATA",
            "UIDONLY",
            "CATENATE",
            "MULTIAPPEND",
            "CHILDREN",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "CONDSTORE",
            "QRESYNC",
            "STATUS=SIZE",
            "BINARY",
            "UTF8=ACCEPT",
            "ESEARCH",
            "SEARCHRES",
            "SORT",
            "SORT=DISPLAY",
            "ESORT",
            "CONTEXT=SEARCH",
            "CONTEXT=SORT",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
            &appendlimit,
        ];
        if !matches!(self.state, State::NotAuthenticated) && !self.compressed {
            caps.push("COMPRESS=DEFLATE");
        }
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
            let incoming = self.next_command().await?;
            let started = std::time::Instant::now();
            let (tag, verb, done) = match incoming {
                Incoming::Nothing => continue,
                Incoming::Command(Command { tag, body }, extras) => {
                    let tag = tag.as_ref().to_string();
                    let verb = body.name();
                    let announce = announcement_after(&body);
                    let done = self.dispatch(&tag, body, extras).await?;
                    if let Some(expunges_allowed) = announce
                        && !done.status.is_empty()
                    {
                        self.announce_changes(expunges_allowed).await;
                    }
                    (tag, verb, done)
                }
                Incoming::ExtendedList(tag, reference, patterns, options) => {
                    let done = if matches!(self.state, State::NotAuthenticated) {
                        Done::bad("LIST needs authentication")
                    } else {
                        self.list_mailboxes(&reference, &patterns, &options).await
                    };
                    self.announce_changes(true).await;
                    (tag, "LIST", done)
                }
                Incoming::CancelUpdate(tag, tags) => {
                    let done = self.cancel_update(&tags);
                    self.announce_changes(true).await;
                    (tag, "CANCELUPDATE", done)
                }
            };
            if verb != "IDLE" {
                baedal_metrics::imap_command(verb, started.elapsed());
            }
            tracing::debug!(
                command = verb,
                status = done.status,
                took_ms = started.elapsed().as_millis() as u64,
                "command"
            );
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
                let timeout = self.service.limits.idle_timeout;
                // A stop request ends the wait for a new command, not one half sent (an
                // APPEND's literal).
                let bytes = if self.fragmentizer.message_bytes().is_empty() {
                    self.conn.read_command_bytes(timeout).await?
                } else {
                    self.conn.read_some(timeout).await?
                };
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
            if let Some((tag, tags)) =
                super::search_context::parse_cancel_update(self.fragmentizer.message_bytes())
            {
                return Ok(Incoming::CancelUpdate(tag, tags));
            }
            let reply = if self.fragmentizer.is_max_message_size_exceeded()
                || self.fragmentizer.is_message_poisoned()
            {
                match self.fragmentizer.decode_message(&CommandCodec::default()) {
                    Err(DecodeMessageError::MessageTooLong { .. }) => "BAD Command too long",
                    _ => "BAD Literal too large",
                }
            } else {
                match self.prepared_command() {
                    Ok(Some((command, extras))) => return Ok(Incoming::Command(command, extras)),
                    Ok(None) => "BAD Syntax error",
                    Err(reason) => reason,
                }
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

    /// The complete command in the fragmentizer, parsed after the syntax the parser does not
    /// read was taken off (`syntax`): `None` for a syntax error, `Err` for a BAD reason.
    fn prepared_command(&self) -> Result<Option<(Command<'static>, Extras)>, &'static str> {
        let bytes = self.fragmentizer.message_bytes();
        let unwrapped = match super::append_utf8::unwrap(bytes) {
            // RFC 6855 §4: the UTF8 form is for a client that enabled UTF8=ACCEPT.
            Some(Ok(_)) if !self.enabled.utf8 => {
                return Err("BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT");
            }
            Some(Ok(command)) => Some(command),
            Some(Err(reason)) => return Err(reason),
            None => None,
        };
        let bytes = unwrapped.as_deref().unwrap_or(bytes);
        if let Some(catenate) = super::catenate::parse(bytes) {
            return Ok(match CommandCodec::default().decode(&catenate.stand_in) {
                Ok((b"", command)) => Some((
                    command.into_static(),
                    Extras {
                        catenate: Some(catenate.parts),
                        ..Extras::default()
                    },
                )),
                _ => None,
            });
        }
        if let Some(appends) = super::multiappend::split(bytes) {
            let mut commands = Vec::with_capacity(appends.len());
            for append in &appends {
                match CommandCodec::default().decode(append) {
                    Ok((b"", command)) => commands.push(command.into_static()),
                    _ => return Ok(None),
                }
            }
            let first = commands.remove(0);
            let extras = Extras {
                more_appends: commands,
                ..Extras::default()
            };
            return Ok(Some((first, extras)));
        }
        let substituted = super::syntax::with_saved(bytes, || self.saved_result());
        let source = substituted.as_deref().unwrap_or(bytes);
        let keyed = super::syntax::with_extra_keys(source, |key| self.uids_with_key(key));
        let source = keyed.as_deref().unwrap_or(source);
        let taken = super::syntax::take_extra_items(source);
        let (source, extra_items) = match &taken {
            Some((bytes, ids)) => (&bytes[..], ids.clone()),
            None => (source, Default::default()),
        };
        let (prepared, mut extras) =
            super::syntax::prepare(source).map_err(|_| "BAD Invalid RETURN options")?;
        extras.extra_items = extra_items;
        Ok(match CommandCodec::default().decode(&prepared) {
            Ok((b"", command)) => Some((command.into_static(), extras)),
            _ => None,
        })
    }

    /// The one match of command against state.
    async fn dispatch(
        &mut self,
        tag: &str,
        body: CommandBody<'static>,
        extras: Extras,
    ) -> Result<Done, Closed> {
        let authenticated = !matches!(self.state, State::NotAuthenticated);
        let selected = matches!(self.state, State::Selected(..));
        if self.enabled.uidonly && super::uidonly::uses_sequence_numbers(&body) {
            // RFC 9586 §3.1.
            return Ok(Done::bad(
                "[UIDREQUIRED] Message sequence numbers are not used after ENABLE UIDONLY",
            ));
        }
        Ok(match body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.conn
                    .queue(format!("* CAPABILITY {caps}\r\n").as_bytes());
                Done::ok("CAPABILITY completed")
            }
            // Both report what changed, as every command does at its end.
            CommandBody::Noop => Done::ok("NOOP completed"),
            CommandBody::Check => Done::ok("CHECK completed"),
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
            CommandBody::Enable { capabilities } if authenticated => {
                self.enable(capabilities.as_ref())
            }
            CommandBody::Compress { .. } if authenticated => return self.compress(tag).await,
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
            } if authenticated => {
                self.status(&mailbox, &item_names, &extras.extra_items)
                    .await
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } if authenticated => self.select(&mailbox, false, &parameters).await,
            CommandBody::Examine {
                mailbox,
                parameters,
            } if authenticated => self.select(&mailbox, true, &parameters).await,
            CommandBody::Subscribe { mailbox } if authenticated => {
                self.subscribe(&mailbox, true).await
            }
            CommandBody::Unsubscribe { mailbox } if authenticated => {
                self.subscribe(&mailbox, false).await
            }
            CommandBody::Create { mailbox } if authenticated => {
                self.create(&mailbox, extras.create_use).await
            }
            CommandBody::GetQuotaRoot { mailbox } if authenticated => {
                self.get_quota_root(&mailbox).await
            }
            CommandBody::GetQuota { root } if authenticated => self.get_quota(root.as_ref()).await,
            CommandBody::GetMetadata {
                options,
                mailbox,
                entries,
            } if authenticated => self.get_metadata(&options, &mailbox, &entries).await,
            CommandBody::SetMetadata {
                mailbox,
                entry_values,
            } if authenticated => self.set_metadata(&mailbox, &entry_values).await,
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
            } if authenticated => {
                let mut messages = vec![super::append::Appended::of(flags, date, message)];
                if let Some(parts) = &extras.catenate {
                    match self.catenated(parts).await {
                        Ok(data) => messages[0].set_data(data),
                        Err(done) => return Ok(done),
                    }
                }
                for more in extras.more_appends {
                    if let CommandBody::Append {
                        flags,
                        date,
                        message,
                        ..
                    } = more.body
                    {
                        messages.push(super::append::Appended::of(flags, date, message));
                    }
                }
                self.append(&mailbox, messages).await
            }
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
                self.search(
                    tag,
                    charset.as_deref(),
                    &criteria,
                    uid,
                    extras.return_options,
                )
                .await
            }
            CommandBody::Sort {
                sort_criteria,
                charset,
                search_criteria,
                uid,
            } if selected => {
                self.sort(
                    tag,
                    sort_criteria.as_ref(),
                    charset.as_ref(),
                    &search_criteria,
                    uid,
                    extras.return_options,
                )
                .await
            }
            CommandBody::Thread {
                algorithm,
                charset,
                search_criteria,
                uid,
            } if selected => {
                self.thread(&algorithm, charset.as_ref(), &search_criteria, uid)
                    .await
            }
            CommandBody::Idle if authenticated => return self.idle().await,
            CommandBody::Close if selected => self.close(true).await,
            CommandBody::Unselect if selected => self.close(false).await,
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } if selected => {
                self.fetch(
                    &sequence_set,
                    macro_or_item_names,
                    uid,
                    &modifiers,
                    &extras.extra_items,
                )
                .await?
            }
            CommandBody::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                modifiers,
            } if selected => {
                let unchanged_since = modifiers
                    .iter()
                    .map(|StoreModifier::UnchangedSince(n)| *n)
                    .next();
                self.store(
                    &sequence_set,
                    &kind,
                    &response,
                    &flags,
                    uid,
                    unchanged_since,
                )
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
            | CommandBody::Sort { .. }
            | CommandBody::Thread { .. }
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
}

/// Whether the changes in the selected mailbox are announced after `command` and, if so,
/// whether EXPUNGE responses may be among them: not after FETCH, STORE and SEARCH, whose
/// sequence numbers the client is still using (RFC 3501 §7.4.1; their UID forms may).
/// Commands that leave the mailbox announce nothing.
fn announcement_after(command: &CommandBody<'_>) -> Option<bool> {
    match command {
        CommandBody::Select { .. }
        | CommandBody::Examine { .. }
        | CommandBody::Close
        | CommandBody::Unselect
        | CommandBody::Logout => None,
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Search { uid, .. }
        | CommandBody::Sort { uid, .. }
        | CommandBody::Thread { uid, .. } => Some(*uid),
        _ => Some(true),
    }
}
