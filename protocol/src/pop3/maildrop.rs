//! The TRANSACTION state (RFC 1939 §5): a snapshot of the INBOX taken at login, numbered
//! 1..n, with deletion marks applied only at QUIT.

use baedal_storage::MailStore;
use baedal_storage::mailstore::MailStoreError;
use tokio::io::AsyncReadExt;

use super::MaildropLock;
use super::reply;
use super::transfer::MessageWriter;
use crate::conn::{Closed, Conn};

/// Output is flushed to the client whenever this much is queued during RETR/TOP.
const FLUSH_AT: usize = 256 * 1024;

pub(super) struct DropMessage {
    uid: i64,
    size: u64,
    blob_key: String,
    deleted: bool,
    /// RETR'd, or TOP'd to its end, in this session.
    retrieved: bool,
}

pub(super) struct Maildrop {
    pub _lock: MaildropLock,
    pub email: String,
    pub mailbox_id: i64,
    pub uidvalidity: i64,
    /// This user's retention in days (0 = keep), for CAPA's EXPIRE.
    pub retention_days: i64,
    messages: Vec<DropMessage>,
}

impl Maildrop {
    /// The INBOX of `user_id` as it is now.
    pub async fn open(
        store: &MailStore,
        lock: MaildropLock,
        user_id: i64,
        email: String,
        retention_days: i64,
    ) -> Result<Self, MailStoreError> {
        let inbox = match store.mailbox(user_id, "INBOX").await? {
            Some(inbox) => inbox,
            None => {
                store.ensure_default_mailboxes(user_id).await?;
                store
                    .mailbox(user_id, "INBOX")
                    .await?
                    .ok_or(MailStoreError::NoRecipients)?
            }
        };
        let messages = store
            .messages(inbox.id)
            .await?
            .into_iter()
            .map(|m| DropMessage {
                uid: m.uid,
                size: m.size as u64,
                blob_key: m.blob_key,
                deleted: false,
                retrieved: false,
            })
            .collect();
        Ok(Self {
            _lock: lock,
            email,
            mailbox_id: inbox.id,
            uidvalidity: inbox.uidvalidity,
            retention_days,
            messages,
        })
    }

    fn live(&self) -> impl Iterator<Item = (usize, &DropMessage)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.deleted)
            .map(|(i, m)| (i + 1, m))
    }

    /// The message with number `arg` (1-based), or the reply to refuse it with.
    fn message(&self, arg: &str) -> Result<usize, &'static str> {
        let n: usize = arg.parse().map_err(|_| reply::NO_SUCH_MESSAGE)?;
        match self.messages.get(n.wrapping_sub(1)) {
            None => Err(reply::NO_SUCH_MESSAGE),
            Some(m) if m.deleted => Err(reply::MESSAGE_DELETED),
            Some(_) => Ok(n - 1),
        }
    }

    /// The unique-id listing of a message: stable forever, the same in every session, made
    /// of its UID and the mailbox's UIDVALIDITY (Dovecot's default `%08Xu%08Xv`).
    fn uidl(&self, m: &DropMessage) -> String {
        format!("{:08X}{:08X}", m.uid, self.uidvalidity)
    }

    pub fn stat(&self) -> String {
        let (count, size) = self
            .live()
            .fold((0, 0), |(c, s), (_, m)| (c + 1, s + m.size));
        format!("+OK {count} {size}")
    }

    /// LIST and UIDL, for one message or all.
    pub fn listing(&self, arg: Option<&str>, unique_ids: bool) -> String {
        let line = |n: usize, m: &DropMessage| {
            if unique_ids {
                format!("{n} {}", self.uidl(m))
            } else {
                format!("{n} {}", m.size)
            }
        };
        match arg {
            Some(arg) => match self.message(arg) {
                Ok(i) => format!("+OK {}", line(i + 1, &self.messages[i])),
                Err(refusal) => refusal.to_string(),
            },
            None => {
                let mut text = String::from("+OK listing follows\r\n");
                for (n, m) in self.live() {
                    text.push_str(&line(n, m));
                    text.push_str("\r\n");
                }
                text.push('.');
                text
            }
        }
    }

    pub fn delete(&mut self, arg: &str) -> String {
        match self.message(arg) {
            Ok(i) => {
                self.messages[i].deleted = true;
                format!("+OK Message {} deleted", i + 1)
            }
            Err(refusal) => refusal.to_string(),
        }
    }

    pub fn reset(&mut self) -> String {
        for m in &mut self.messages {
            m.deleted = false;
        }
        let (count, size) = self
            .live()
            .fold((0, 0), |(c, s), (_, m)| (c + 1, s + m.size));
        format!("+OK Maildrop has {count} messages ({size} octets)")
    }

    /// RETR (`body_lines` = None) and TOP: streams the message from the blob store.
    /// `Ok(Err(reply))` refuses without touching the stream.
    pub async fn send(
        &mut self,
        store: &MailStore,
        conn: &mut Conn,
        arg: &str,
        body_lines: Option<u64>,
    ) -> Result<Result<(), &'static str>, Closed> {
        let i = match self.message(arg) {
            Ok(i) => i,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let size = self.messages[i].size;
        let mut blob = match store.open_blob(&self.messages[i].blob_key).await {
            Ok(blob) => blob,
            Err(e) => {
                tracing::error!(error = %e, "cannot open a message blob");
                return Ok(Err(reply::TEMPORARY));
            }
        };
        let status = match body_lines {
            None => format!("+OK {size} octets\r\n"),
            Some(_) => "+OK top of message follows\r\n".to_string(),
        };
        conn.queue(status.as_bytes());
        let mut writer = MessageWriter::new(body_lines);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match blob.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // The +OK is out: the only honest way on is to drop the connection.
                    tracing::error!(error = %e, "message blob read failed mid-transfer");
                    return Err(Closed::Disconnected);
                }
            };
            if writer.push(&chunk[..n], conn.output()) {
                break;
            }
            if conn.queued() >= FLUSH_AT {
                conn.flush().await?;
            }
        }
        writer.finish(conn.output());
        if writer.sent_whole(size) {
            self.messages[i].retrieved = true;
        }
        Ok(Ok(()))
    }

    /// The UPDATE state (RFC 1939 §6): expunges what was deleted and records what was
    /// retrieved (for the retention sweeper). Returns the reply to QUIT.
    pub async fn update(&self, store: &MailStore) -> String {
        let deleted: Vec<i64> = self
            .messages
            .iter()
            .filter(|m| m.deleted)
            .map(|m| m.uid)
            .collect();
        let retrieved: Vec<i64> = self
            .messages
            .iter()
            .filter(|m| m.retrieved && !m.deleted)
            .map(|m| m.uid)
            .collect();
        let now = baedal_storage::clock::now_secs();
        let result = async {
            store
                .mark_pop3_retrieved(self.mailbox_id, &retrieved, now)
                .await?;
            store.expunge(self.mailbox_id, &deleted).await
        }
        .await;
        match result {
            Ok(removed) => {
                tracing::info!(user = %self.email, deleted = removed.len(), retrieved = retrieved.len(), "maildrop updated");
                format!("+OK Bye ({} messages deleted)", removed.len())
            }
            Err(e) => {
                tracing::error!(user = %self.email, error = %e, "maildrop update failed");
                reply::TEMPORARY.to_string()
            }
        }
    }
}
