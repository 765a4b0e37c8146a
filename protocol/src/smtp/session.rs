//! One SMTP connection.

use std::sync::Arc;
use std::time::Duration;

use baedal_storage::{LocalUser, SpoolFile};
use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Instrument;

use super::codec::LineEndNormalizer;
use super::reply::{self, Reply};
use super::{ConnectionInfo, MAX_COMMAND_LINE, SmtpService};
use crate::stream::BoxStream;

/// Read buffer size; pipelined commands and message data arrive in chunks of this.
const READ_CHUNK: usize = 64 * 1024;
/// How long a TLS handshake may take after STARTTLS.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a session ends.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Closed {
    /// QUIT, or a reply after which we close (421).
    Done,
    /// The peer went away or the stream failed.
    Disconnected,
    Timeout,
}

/// One line read from the peer.
pub(super) enum Line {
    Complete(Vec<u8>),
    TooLong,
}

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

/// One accepted RCPT.
#[derive(Debug, Clone)]
pub(super) struct Recipient {
    pub address: String,
    pub users: Vec<LocalUser>,
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
}

pub struct Session {
    pub(super) service: Arc<SmtpService>,
    pub(super) info: ConnectionInfo,
    stream: Option<BoxStream>,
    /// Bytes read but not yet consumed, from `input_pos`.
    input: Vec<u8>,
    input_pos: usize,
    /// Replies waiting to be flushed (pipelining, RFC 2920).
    output: Vec<u8>,
    pub(super) tls: bool,
    /// The EHLO/HELO name, once given.
    pub(super) helo: Option<String>,
    pub(super) esmtp: bool,
    errors: u32,
    pub(super) tx: Transaction,
}

impl Session {
    pub fn new(service: Arc<SmtpService>, info: ConnectionInfo, stream: BoxStream) -> Self {
        Self {
            tls: info.tls,
            service,
            info,
            stream: Some(stream),
            input: Vec::with_capacity(READ_CHUNK),
            input_pos: 0,
            output: Vec::with_capacity(4096),
            helo: None,
            esmtp: false,
            errors: 0,
            tx: Transaction::default(),
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
        if end == Closed::Timeout {
            self.reply(reply::TIMEOUT);
        }
        let _ = self.flush().await;
        if let Some(mut stream) = self.stream.take() {
            let _ = stream.shutdown().await;
        }
        tracing::info!(reason = ?end, "disconnected");
    }

    async fn command_loop(&mut self) -> Closed {
        loop {
            let line = match self.read_line().await {
                Ok(line) => line,
                Err(end) => return end,
            };
            let reply_or_end = match line {
                Line::TooLong => Ok(reply::LINE_TOO_LONG),
                Line::Complete(line) => match Request::parse(&mut line.iter()) {
                    Ok(request) => self.dispatch(request).await,
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
            Request::Mail { from } => Ok(self.handle_mail(from)),
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
            Request::Auth { .. } => Ok(reply::AUTH_NOT_ENABLED),
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
        self.flush().await?;
        // RFC 3207 §4.2 (and CVE-2011-0411): nothing sent before the handshake counts.
        self.input.clear();
        self.input_pos = 0;
        let plain = self.stream.take().ok_or(Closed::Disconnected)?;
        let tls = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(plain))
            .await
            .map_err(|_| Closed::Timeout)?
            .map_err(|e| {
                tracing::info!(error = %e, "TLS handshake failed");
                Closed::Disconnected
            })?;
        self.stream = Some(Box::new(tls));
        self.tls = true;
        // RFC 3207 §4.2: forget everything learned before TLS.
        self.helo = None;
        self.esmtp = false;
        self.rset();
        tracing::info!("TLS started");
        Ok(NO_REPLY)
    }

    pub(super) fn reply(&mut self, reply: Reply) {
        if reply.code == 0 {
            return;
        }
        if reply.is_error() {
            tracing::info!(code = reply.code, status = reply.status, text = %reply.text, "refused");
        }
        reply.write_to(&mut self.output);
    }

    pub(super) async fn flush(&mut self) -> Result<(), Closed> {
        if self.output.is_empty() {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or(Closed::Disconnected)?;
        let result = tokio::time::timeout(self.service.limits.command_timeout, async {
            stream.write_all(&self.output).await?;
            stream.flush().await
        })
        .await;
        self.output.clear();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Closed::Disconnected),
            Err(_) => Err(Closed::Timeout),
        }
    }

    /// Reads more input, flushing pending replies first (a client waits for them before it
    /// sends more). Returns the bytes read; 0 never (a closed stream is an error).
    async fn fill(&mut self, timeout: Duration) -> Result<usize, Closed> {
        self.flush().await?;
        if self.input_pos > 0 {
            self.input.drain(..self.input_pos);
            self.input_pos = 0;
        }
        let start = self.input.len();
        self.input.resize(start + READ_CHUNK, 0);
        let stream = self.stream.as_mut().ok_or(Closed::Disconnected)?;
        let read = tokio::time::timeout(timeout, stream.read(&mut self.input[start..])).await;
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Closed::Disconnected),
            Ok(Ok(n)) => Ok(n),
            Err(_) => Err(Closed::Timeout),
        };
        self.input.truncate(start + *n.as_ref().unwrap_or(&0));
        n
    }

    /// The next command line, through its LF, bounded by [`MAX_COMMAND_LINE`].
    async fn read_line(&mut self) -> Result<Line, Closed> {
        let mut discarding = false;
        loop {
            let pending = &self.input[self.input_pos..];
            if let Some(lf) = pending.iter().position(|&b| b == b'\n') {
                let line = pending[..=lf].to_vec();
                self.input_pos += lf + 1;
                if discarding || line.len() > MAX_COMMAND_LINE {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Complete(line));
            }
            if pending.len() > MAX_COMMAND_LINE {
                // Drop what we have and keep reading to the end of the line.
                discarding = true;
                self.input_pos = self.input.len();
            }
            self.fill(self.service.limits.command_timeout).await?;
        }
    }

    /// Takes up to `max` buffered input bytes, reading more when none are buffered.
    pub(super) async fn read_data(&mut self, max: usize) -> Result<Vec<u8>, Closed> {
        if self.input_pos >= self.input.len() {
            self.fill(self.service.limits.data_timeout).await?;
        }
        let end = self.input.len().min(self.input_pos + max);
        let data = self.input[self.input_pos..end].to_vec();
        self.input_pos = end;
        Ok(data)
    }

    /// Gives back bytes read past the end of the message data (pipelined commands).
    pub(super) fn unread(&mut self, count: usize) {
        self.input_pos -= count;
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
