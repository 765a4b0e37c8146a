//! The SMTP client of the outbound queue (RFC 5321 as a sender): one transaction per
//! connection, opportunistic or required STARTTLS (RFC 3207), AUTH PLAIN for a smarthost,
//! a reply per recipient, and the message streamed from the blob store with dot-stuffing.
//!
//! Opportunistic TLS does not check the certificate (RFC 7435: encryption without
//! authentication beats none, and most MX certificates would not match anyway).

mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::stream::BoxStream;

/// Longest reply line accepted from a server.
const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one multi-line reply.
const MAX_REPLY_LINES: usize = 100;

/// How TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// STARTTLS when offered, plain otherwise.
    Opportunistic,
    /// STARTTLS or fail (temporary).
    Required,
    /// TLS from the first byte (port 465 smarthosts).
    Implicit,
}

/// How a client connects and introduces itself.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Our EHLO name.
    pub hostname: String,
    pub connect_timeout: Duration,
    /// RFC 5321 §4.5.3.2: per-command waits (the DATA end gets `data_timeout`).
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub tls: TlsPolicy,
    /// AUTH PLAIN user and password (smarthost).
    pub auth: Option<(String, String)>,
}

/// A server reply: code and text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    pub text: String,
}

impl ServerReply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }
}

impl std::fmt::Display for ServerReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientResult {
    Accepted,
    Temporary(String),
    Permanent(String),
}

/// A failure of the whole transaction: every recipient shares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionError {
    pub permanent: bool,
    pub message: String,
}

impl TransactionError {
    fn temporary(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }

    fn from_reply(stage: &str, reply: &ServerReply) -> Self {
        Self {
            permanent: reply.is_permanent(),
            message: format!("{stage}: {reply}"),
        }
    }
}

/// One outbound transaction to one host: the result for each recipient, in order.
pub async fn send(
    settings: &ClientSettings,
    address: SocketAddr,
    server_name: &str,
    sender: &str,
    recipients: &[String],
    message: impl AsyncRead + Unpin,
) -> Result<Vec<RecipientResult>, TransactionError> {
    let mut connection = Connection::open(settings, address, server_name).await?;
    let result = connection.send(sender, recipients, message).await;
    connection.quit().await;
    result
}

/// An open session with a server, ready for transactions: several messages to one
/// destination share it (RFC 5321 §3.3: a new MAIL starts the next transaction).
pub struct Connection<'a> {
    client: Client<'a>,
    ehlo: ServerReply,
    /// A failed transaction may leave the session unusable.
    usable: bool,
}

impl<'a> Connection<'a> {
    /// Connects, reads the greeting, says EHLO, starts TLS as the policy asks, and logs in
    /// when the settings carry credentials.
    pub async fn open(
        settings: &'a ClientSettings,
        address: SocketAddr,
        server_name: &str,
    ) -> Result<Self, TransactionError> {
        let tcp = tokio::time::timeout(settings.connect_timeout, TcpStream::connect(address))
            .await
            .map_err(|_| TransactionError::temporary(format!("connect to {address}: timed out")))?
            .map_err(|e| TransactionError::temporary(format!("connect to {address}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream: BoxStream = if settings.tls == TlsPolicy::Implicit {
            tls_connect(Box::new(tcp), server_name, settings).await?
        } else {
            Box::new(tcp)
        };
        let mut client = Client {
            stream,
            input: Vec::new(),
            settings,
        };
        let ehlo = client.start(server_name).await?;
        Ok(Self {
            client,
            ehlo,
            usable: true,
        })
    }

    /// True while another transaction may follow on this session.
    pub fn is_usable(&self) -> bool {
        self.usable
    }

    /// One transaction. After an error the session is not used again.
    pub async fn send(
        &mut self,
        sender: &str,
        recipients: &[String],
        message: impl AsyncRead + Unpin,
    ) -> Result<Vec<RecipientResult>, TransactionError> {
        let result = self
            .client
            .transaction(&self.ehlo, sender, recipients, message)
            .await;
        if result.is_err() {
            self.usable = false;
        }
        result
    }

    /// QUIT, politely; its answer does not matter.
    pub async fn quit(mut self) {
        let _ = self.client.command("QUIT").await;
    }
}

async fn tls_connect(
    stream: BoxStream,
    server_name: &str,
    settings: &ClientSettings,
) -> Result<BoxStream, TransactionError> {
    let connector = TlsConnector::from(Arc::new(tls::opportunistic_config()));
    let name = rustls_pki_types::ServerName::try_from(server_name.to_string())
        .map_err(|e| TransactionError::temporary(format!("TLS name {server_name}: {e}")))?;
    let tls = tokio::time::timeout(settings.command_timeout, connector.connect(name, stream))
        .await
        .map_err(|_| TransactionError::temporary("TLS handshake timed out"))?
        .map_err(|e| TransactionError::temporary(format!("TLS handshake: {e}")))?;
    Ok(Box::new(tls))
}

struct Client<'a> {
    stream: BoxStream,
    input: Vec<u8>,
    settings: &'a ClientSettings,
}

impl Client<'_> {
    /// Greeting, EHLO, STARTTLS and AUTH: the EHLO reply that counts.
    async fn start(&mut self, server_name: &str) -> Result<ServerReply, TransactionError> {
        let greeting = self.read_reply(self.settings.command_timeout).await?;
        if greeting.code != 220 {
            return Err(TransactionError::from_reply("greeting", &greeting));
        }
        let mut ehlo = self.ehlo().await?;
        let tls_active = self.settings.tls == TlsPolicy::Implicit;
        if !tls_active && offers(&ehlo, "STARTTLS") {
            let reply = self.command("STARTTLS").await?;
            if reply.code != 220 {
                return Err(TransactionError::from_reply("STARTTLS", &reply));
            }
            let plain = std::mem::replace(&mut self.stream, Box::new(tokio::io::duplex(1).0));
            self.stream = tls_connect(plain, server_name, self.settings).await?;
            self.input.clear();
            // RFC 3207 §4.2: start over after the handshake.
            ehlo = self.ehlo().await?;
        } else if !tls_active && self.settings.tls == TlsPolicy::Required {
            return Err(TransactionError::temporary(
                "the server offers no STARTTLS and TLS is required",
            ));
        }
        if let Some((user, password)) = &self.settings.auth {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            let reply = self.command(&format!("AUTH PLAIN {token}")).await?;
            if reply.code != 235 {
                return Err(TransactionError::from_reply("AUTH", &reply));
            }
        }
        Ok(ehlo)
    }

    async fn transaction(
        &mut self,
        ehlo: &ServerReply,
        sender: &str,
        recipients: &[String],
        message: impl AsyncRead + Unpin,
    ) -> Result<Vec<RecipientResult>, TransactionError> {
        let utf8 = !sender.is_ascii() || recipients.iter().any(|r| !r.is_ascii());
        let mut mail = format!("MAIL FROM:<{sender}>");
        if offers(ehlo, "8BITMIME") {
            mail.push_str(" BODY=8BITMIME");
        }
        if utf8 && offers(ehlo, "SMTPUTF8") {
            mail.push_str(" SMTPUTF8");
        }
        let reply = self.command(&mail).await?;
        if !reply.is_positive() {
            let _ = self.command("RSET").await;
            return Err(TransactionError::from_reply("MAIL FROM", &reply));
        }
        let mut results = Vec::with_capacity(recipients.len());
        for rcpt in recipients {
            let reply = self.command(&format!("RCPT TO:<{rcpt}>")).await?;
            results.push(if reply.is_positive() {
                RecipientResult::Accepted
            } else if reply.is_permanent() {
                RecipientResult::Permanent(format!("RCPT TO: {reply}"))
            } else {
                RecipientResult::Temporary(format!("RCPT TO: {reply}"))
            });
        }
        if !results.contains(&RecipientResult::Accepted) {
            self.command("RSET").await?;
            return Ok(results);
        }
        let reply = self.command("DATA").await?;
        if reply.code != 354 {
            return Err(TransactionError::from_reply("DATA", &reply));
        }
        self.send_data(message).await?;
        let reply = self.read_reply(self.settings.data_timeout).await?;
        if !reply.is_positive() {
            return Err(TransactionError::from_reply("end of DATA", &reply));
        }
        Ok(results)
    }

    async fn ehlo(&mut self) -> Result<ServerReply, TransactionError> {
        let reply = self
            .command(&format!("EHLO {}", self.settings.hostname))
            .await?;
        if reply.code == 250 {
            return Ok(reply);
        }
        // RFC 5321 §3.2: fall back to HELO.
        let helo = self
            .command(&format!("HELO {}", self.settings.hostname))
            .await?;
        if helo.code != 250 {
            return Err(TransactionError::from_reply("HELO", &helo));
        }
        Ok(helo)
    }

    async fn command(&mut self, line: &str) -> Result<ServerReply, TransactionError> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(&bytes).await?;
        self.read_reply(self.settings.command_timeout).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), TransactionError> {
        tokio::time::timeout(self.settings.command_timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| TransactionError::temporary("write timed out"))?
            .map_err(|e| TransactionError::temporary(format!("write: {e}")))
    }

    /// Streams the message with dot-stuffing (RFC 5321 §4.5.2) and the final `.`.
    async fn send_data(
        &mut self,
        mut message: impl AsyncRead + Unpin,
    ) -> Result<(), TransactionError> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut out = Vec::with_capacity(chunk.len() + 1024);
        let mut stuffer = DotStuffer::default();
        loop {
            let n = message.read(&mut chunk).await.map_err(|e| {
                TransactionError::temporary(format!("reading the queued message: {e}"))
            })?;
            if n == 0 {
                break;
            }
            out.clear();
            stuffer.stuff(&chunk[..n], &mut out);
            self.write(&out).await?;
        }
        out.clear();
        stuffer.finish(&mut out);
        self.write(&out).await?;
        self.stream
            .flush()
            .await
            .map_err(|e| TransactionError::temporary(format!("write: {e}")))
    }

    /// Reads one reply, multi-line or not (RFC 5321 §4.2.1).
    async fn read_reply(&mut self, timeout: Duration) -> Result<ServerReply, TransactionError> {
        let mut lines: Vec<String> = Vec::new();
        loop {
            let line = self.read_line(timeout).await?;
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let code = text
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| TransactionError::temporary(format!("malformed reply {text:?}")))?;
            let last = text.as_bytes().get(3) != Some(&b'-');
            lines.push(text.get(4..).unwrap_or("").to_string());
            if last {
                return Ok(ServerReply {
                    code,
                    text: lines.join(" / "),
                });
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(TransactionError::temporary("reply with too many lines"));
            }
        }
    }

    async fn read_line(&mut self, timeout: Duration) -> Result<Vec<u8>, TransactionError> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=end).collect();
                return Ok(line);
            }
            if self.input.len() > MAX_REPLY_LINE {
                return Err(TransactionError::temporary("reply line too long"));
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(timeout, self.stream.read(&mut buf))
                .await
                .map_err(|_| TransactionError::temporary("timed out waiting for the server"))?
                .map_err(|e| TransactionError::temporary(format!("read: {e}")))?;
            if n == 0 {
                return Err(TransactionError::temporary(
                    "connection closed by the server",
                ));
            }
            self.input.extend_from_slice(&buf[..n]);
        }
    }
}

/// True when an EHLO reply lists `keyword` (RFC 5321 §4.1.1.1).
fn offers(ehlo: &ServerReply, keyword: &str) -> bool {
    ehlo.text.split(" / ").skip(1).any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

/// Dot-stuffing across chunk boundaries, with bare LF made CRLF.
#[derive(Debug)]
struct DotStuffer {
    at_line_start: bool,
    last: u8,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self {
            at_line_start: true,
            last: b'\n',
        }
    }
}

impl DotStuffer {
    fn stuff(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if self.at_line_start && b == b'.' {
                out.push(b'.');
            }
            if b == b'\n' && self.last != b'\r' {
                out.push(b'\r');
            }
            out.push(b);
            self.at_line_start = b == b'\n';
            self.last = b;
        }
    }

    /// The end of data: a CRLF if the message lacks one, then `.`.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffs_dots_across_chunks_and_ends_the_data() {
        let mut s = DotStuffer::default();
        let mut out = Vec::new();
        s.stuff(b".start\r\nmid\r", &mut out);
        s.stuff(b"\n.", &mut out);
        s.stuff(b"dot\nend", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"..start\r\nmid\r\n..dot\r\nend\r\n.\r\n");
    }

    #[test]
    fn reads_ehlo_keywords() {
        let ehlo = ServerReply {
            code: 250,
            text: "mx.example Hello / PIPELINING / STARTTLS / SIZE 100".into(),
        };
        assert!(offers(&ehlo, "starttls"));
        assert!(offers(&ehlo, "SIZE"));
        assert!(!offers(&ehlo, "AUTH"));
    }
}
