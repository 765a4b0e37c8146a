//! One SMTP connection.

use std::sync::Arc;

use baedal_storage::{LocalUser, SpoolFile};
use smtp_proto::{Error as ParseError, Request};
use tracing::Instrument;

use super::codec::LineEndNormalizer;
use super::reply::{self, Reply};
use super::{MAX_COMMAND_LINE, SmtpService};
use crate::ConnectionInfo;
pub(super) use crate::conn::Closed;
use crate::conn::{Conn, Line};
use crate::stream::BoxStream;

/// The envelope sender of the current transaction.
#[derive(Debug, Clone)]
pub(super) struct Sender {
    /// As given in MAIL FROM, `""` for the null sender.
    pub address: String,
    /// RFC 1870 SIZE= declared by the client, 0 when absent.
    pub declared_size: u64,
    /// RFC 6531 SMTPUTF8 given.
    pub smtputf8: bool,
}

/// One accepted RCPT: the local mailboxes behind it and the remote addresses it goes to
/// (the address itself on submission, or where an alias forwards).
#[derive(Debug, Clone)]
pub(super) struct Recipient {
    pub address: String,
    pub users: Vec<LocalUser>,
    pub remote: Vec<String>,
}

/// Who authenticated on a submission session.
#[derive(Debug, Clone)]
pub(super) struct SubmissionUser {
    pub id: i64,
    pub email: String,
}

/// A BDAT transfer under way (RFC 3030).
pub(super) struct Chunking {
    pub spool: Option<SpoolFile>,
    pub normalizer: LineEndNormalizer,
    /// Set once the message went over the size limit; chunks are read and dropped.
    pub too_big: bool,
}

/// The mail transaction: everything `rset` clears.
#[derive(Default)]
pub(super) struct Transaction {
    pub sender: Option<Sender>,
    pub recipients: Vec<Recipient>,
    pub chunking: Option<Chunking>,
    /// What the transaction's log event reports beyond the envelope.
    pub note: TransactionNote,
}

/// Learnt while a message is taken, reported in the one log event that ends the
/// transaction ([`Session::end_transaction`]).
#[derive(Default)]
pub(super) struct TransactionNote {
    /// The queue id, once the message is stored.
    pub id: Option<String>,
    /// Message bytes received from the client (DATA after dot-unstuffing, BDAT as sent).
    pub size: u64,
    /// SPF, DKIM, ARC and DMARC results, when the message was checked.
    pub checks: Option<String>,
    /// What the checks decided, when it was not plain delivery.
    pub policy: Option<String>,
    /// The content filters' verdicts (`rspamd=... clamav=... attachments=...`).
    pub filters: Option<String>,
    /// Mailboxes it was stored in, and remote recipients it was queued for.
    pub mailboxes: usize,
    pub remote: usize,
}

impl Transaction {
    /// MAIL FROM was accepted and the message is not finished.
    pub fn is_open(&self) -> bool {
        self.sender.is_some() || self.chunking.is_some()
    }

    /// The envelope for a log event: the sender, and the recipients as given.
    pub fn envelope(&self) -> (Option<&str>, Vec<&str>) {
        let from = self.sender.as_ref().map(|s| s.address.as_str());
        let rcpts = self.recipients.iter().map(|r| r.address.as_str()).collect();
        (from, rcpts)
    }
}

pub struct Session {
    pub(super) service: Arc<SmtpService>,
    pub(super) info: ConnectionInfo,
    conn: Conn,
    pub(super) tls: bool,
    /// The EHLO/HELO name, once given.
    pub(super) helo: Option<String>,
    pub(super) esmtp: bool,
    errors: u32,
    pub(super) tx: Transaction,
    /// Set by a successful AUTH (submission only).
    pub(super) user: Option<SubmissionUser>,
    /// When the current transaction's MAIL FROM was accepted (metrics).
    pub(super) tx_started: Option<std::time::Instant>,
    /// DNSBL and FCrDNS of the client, once checked (MX only).
    pub(super) client: Option<super::verify::ClientCheck>,
    /// The reply about to be sent ended a transaction, whose log event already has it.
    pub(super) transaction_logged: bool,
}

impl Session {
    pub fn new(service: Arc<SmtpService>, info: ConnectionInfo, stream: BoxStream) -> Self {
        Self {
            tls: info.tls,
            conn: Conn::new(
                stream,
                service.limits.command_timeout,
                info.shutdown.clone(),
            ),
            service,
            info,
            helo: None,
            esmtp: false,
            errors: 0,
            tx: Transaction::default(),
            user: None,
            tx_started: None,
            client: None,
            transaction_logged: false,
        }
    }

    /// Runs the session until QUIT, a fatal reply, a timeout or the peer's disconnection.
    pub async fn run(self) {
        let span =
            tracing::info_span!("smtp", session = %self.info.session_id, peer = %self.info.peer);
        self.run_in_span().instrument(span).await;
    }

    async fn run_in_span(mut self) {
        tracing::info!(tls = self.tls, "connected");
        let greeting = Reply::with_text(220, "", format!("{} ESMTP Baedal", self.service.hostname));
        self.reply(greeting);
        let end = self.command_loop().await;
        if self.tx.is_open() {
            // The transaction's one event, for a client gone or silent before the end.
            let (from, rcpts) = self.tx.envelope();
            tracing::info!(
                reason = ?end,
                from,
                rcpts = ?rcpts,
                size = self.tx.note.size,
                "transaction abandoned"
            );
        }
        match end {
            Closed::Timeout => self.reply(reply::TIMEOUT),
            // RFC 5321 §3.8: a server that must stop sends 421 before it closes.
            Closed::Shutdown => self.reply(reply::SHUTTING_DOWN),
            Closed::Done | Closed::Disconnected => {}
        }
        self.conn.close().await;
        tracing::info!(reason = ?end, "disconnected");
    }

    async fn command_loop(&mut self) -> Closed {
        loop {
            let timeout = self.service.limits.command_timeout;
            // A stop request waits for an open mail transaction to end (the client is
            // sending a message); between transactions it ends the session with 421.
            let read = if self.tx.is_open() {
                self.conn.read_line(MAX_COMMAND_LINE, timeout).await
            } else {
                self.conn.read_command(MAX_COMMAND_LINE, timeout).await
            };
            let line = match read {
                Ok(line) => line,
                Err(end) => return end,
            };
            let reply_or_end = match line {
                Line::TooLong => Ok(reply::LINE_TOO_LONG),
                Line::Complete(line) => match Request::parse(&mut line.iter()) {
                    Ok(request) => {
                        let stage = super::observe::stage(&request);
                        let reply = self.dispatch(request).await;
                        if let Ok(reply) = &reply {
                            self.observe(stage, reply);
                        }
                        reply
                    }
                    Err(e) => Ok(parse_error_reply(e)),
                },
            };
            match reply_or_end {
                Ok(reply) => {
                    let failed = reply.is_error();
                    self.reply(reply);
                    if failed {
                        self.errors += 1;
                        if self.errors >= self.service.limits.max_errors {
                            tracing::info!(errors = self.errors, "too many errors");
                            self.reply(reply::TOO_MANY_ERRORS);
                            return Closed::Done;
                        }
                    }
                }
                Err(end) => return end,
            }
        }
    }

    /// The one match of a command to its handler. `Err` ends the session.
    async fn dispatch(&mut self, request: Request<String>) -> Result<Reply, Closed> {
        // RFC 3030 §2: during a BDAT transfer only BDAT, RSET and QUIT are valid.
        if self.tx.chunking.is_some()
            && !matches!(
                request,
                Request::Bdat { .. } | Request::Rset | Request::Quit
            )
        {
            return Ok(reply::BDAT_IN_PROGRESS);
        }
        match request {
            Request::Ehlo { host } => Ok(self.handle_ehlo(host, true)),
            Request::Helo { host } => Ok(self.handle_ehlo(host, false)),
            Request::Mail { from } => Ok(self.handle_mail(from).await),
            Request::Rcpt { to } => Ok(self.handle_rcpt(to).await),
            Request::Data => self.handle_data().await,
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.handle_bdat(chunk_size, is_last).await,
            Request::Rset => {
                self.rset();
                Ok(reply::RESET)
            }
            Request::Noop { .. } => Ok(reply::OK),
            Request::Quit => {
                self.reply(reply::CLOSING);
                Err(Closed::Done)
            }
            Request::Help { .. } => Ok(reply::HELP),
            Request::Vrfy { value } => Ok(self.handle_vrfy(&value).await),
            Request::StartTls => self.handle_starttls().await,
            Request::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(mechanism, initial_response).await,
            Request::Expn { .. }
            | Request::Lhlo { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => Ok(reply::NOT_IMPLEMENTED),
        }
    }

    /// Clears the mail transaction (RSET, EHLO, after each message).
    pub(super) fn rset(&mut self) {
        self.tx = Transaction::default();
    }

    async fn handle_vrfy(&self, value: &str) -> Reply {
        if !self.service.vrfy {
            return reply::VRFY_DISABLED;
        }
        let address = value.trim().trim_start_matches('<').trim_end_matches('>');
        match self.service.directory.resolve_recipient(address).await {
            Ok(baedal_storage::Resolution::Local(_)) => {
                Reply::with_text(250, "2.1.5", format!("<{address}>"))
            }
            Ok(_) => reply::UNKNOWN_USER,
            Err(_) => reply::LOCAL_ERROR,
        }
    }

    async fn handle_starttls(&mut self) -> Result<Reply, Closed> {
        if self.tls {
            return Ok(reply::TLS_ACTIVE);
        }
        let Some(acceptor) = self.service.tls.clone() else {
            return Ok(reply::TLS_UNAVAILABLE);
        };
        self.reply(reply::READY_FOR_TLS);
        self.conn.start_tls(&acceptor).await?;
        self.tls = true;
        // RFC 3207 §4.2: forget everything learned before TLS.
        self.helo = None;
        self.esmtp = false;
        self.rset();
        tracing::debug!("TLS started");
        Ok(NO_REPLY)
    }

    pub(super) fn reply(&mut self, reply: Reply) {
        if reply.code == 0 {
            return;
        }
        let logged = std::mem::take(&mut self.transaction_logged);
        if reply.is_error() && !logged {
            tracing::info!(code = reply.code, status = reply.status, text = %reply.text, "refused");
        }
        reply.write_to(self.conn.output());
    }

    /// Reads one line (an AUTH response), flushing what is queued first.
    pub(super) async fn read_line(
        &mut self,
        max: usize,
        timeout: std::time::Duration,
    ) -> Result<Line, Closed> {
        self.conn.read_line(max, timeout).await
    }

    /// Takes up to `max` bytes of message data.
    pub(super) async fn read_data(&mut self, max: usize) -> Result<Vec<u8>, Closed> {
        let timeout = self.service.limits.data_timeout;
        self.conn.read_data(max, timeout).await
    }

    /// Gives back bytes read past the end of the message data (pipelined commands).
    pub(super) fn unread(&mut self, count: usize) {
        self.conn.unread(count);
    }
}

/// Reply for "no reply": STARTTLS answers before the handshake.
pub(super) const NO_REPLY: Reply = Reply::new(0, "", "");

fn parse_error_reply(e: ParseError) -> Reply {
    match e {
        ParseError::UnknownCommand => reply::UNKNOWN_COMMAND,
        ParseError::InvalidSenderAddress => reply::BAD_SENDER_SYNTAX,
        ParseError::InvalidRecipientAddress => reply::BAD_RECIPIENT_SYNTAX,
        ParseError::SyntaxError { syntax } => reply::syntax(syntax),
        ParseError::InvalidParameter { param } => reply::syntax(param),
        ParseError::UnsupportedParameter { param } => reply::unsupported_parameter(&param),
        ParseError::ResponseTooLong => reply::LINE_TOO_LONG,
        ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => {
            reply::syntax("command arguments")
        }
    }
}
