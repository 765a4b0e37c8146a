//! DATA (RFC 5321 §4.1.1.4), BDAT (RFC 3030) and delivery into the mail store.
//!
//! Steps, in order: precondition → spool with trace headers → stream the data, enforcing
//! the size limit → quota → store (blob synced, index committed) → `250`. Nothing is
//! acknowledged before the mail store says it is durable.

use baedal_storage::events::{self, Event, EventKind};
use std::collections::HashSet;
use std::io::SeekFrom;
use std::net::IpAddr;
use std::time::SystemTime;

use baedal_storage::queue::Outgoing;
use baedal_storage::{DeliveryTarget, SpoolFile, SpooledMessage};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::codec::{DotDecoder, LineEndNormalizer};
use super::reply::{self, Reply};
use super::session::{Chunking, Closed, Session};
use crate::time::rfc5322_date;

/// How much message data is decoded and written at a time.
const DATA_CHUNK: usize = 64 * 1024;
/// Peer-given names copied into trace headers are cut at this length.
const MAX_TRACE_FIELD: usize = 255;

impl Session {
    /// Why a message cannot start now, if it cannot.
    fn data_precondition(&self) -> Option<Reply> {
        if self.tx.sender.is_none() {
            Some(reply::NEED_MAIL)
        } else if self.tx.recipients.is_empty() {
            Some(reply::NEED_RCPT)
        } else {
            None
        }
    }

    pub(super) async fn handle_data(&mut self) -> Result<Reply, Closed> {
        if let Some(refusal) = self.data_precondition() {
            return Ok(refusal);
        }
        let mut spool = match self.open_spool().await {
            Ok(spool) => spool,
            Err(refusal) => return Ok(refusal),
        };
        self.reply(reply::START_DATA);
        let max = self.service.limits.max_message_size;
        let mut decoder = DotDecoder::default();
        let mut decoded = Vec::with_capacity(DATA_CHUNK + 1024);
        let (mut received, mut too_big, mut write_failed) = (0u64, false, false);
        loop {
            // A timeout or disconnection here drops the spool file: nothing was acknowledged.
            let chunk = self.read_data(DATA_CHUNK).await?;
            decoded.clear();
            let end = decoder.decode(&chunk, &mut decoded);
            if let Some(consumed) = end {
                self.unread(chunk.len() - consumed);
            }
            received += decoded.len() as u64;
            too_big |= received > max;
            if !too_big
                && !write_failed
                && let Err(e) = spool.write(&decoded).await
            {
                tracing::error!(error = %e, "spool write failed");
                write_failed = true;
            }
            if end.is_some() {
                break;
            }
        }
        self.tx.note.size = received;
        let reply = if too_big {
            reply::MESSAGE_TOO_BIG
        } else if write_failed {
            reply::LOCAL_ERROR
        } else {
            self.deliver(spool).await
        };
        Ok(self.end_transaction(reply))
    }

    /// Ends the mail transaction with `reply` to its message: the transaction's one log
    /// event (accepted or refused, with envelope, size and checks), then RSET.
    pub(super) fn end_transaction(&mut self, reply: Reply) -> Reply {
        let (from, rcpts) = self.tx.envelope();
        let note = &self.tx.note;
        let listener = if self.service.submission.is_some() {
            "submission"
        } else {
            "smtp"
        };
        let (kind, result) = if reply.code == 250 {
            (EventKind::Delivery, "accepted".to_string())
        } else {
            (EventKind::Error, format!("{} {}", reply.code, reply.status))
        };
        // One event per recipient, so that each domain's administrator sees their own.
        for rcpt in &rcpts {
            events::record(
                Event::new(kind, listener, &result)
                    .address(format!("{} -> {rcpt}", from.unwrap_or("")))
                    .ip(self.info.peer.ip())
                    .message_id(note.id.clone().unwrap_or_default())
                    .detail(if reply.code == 250 {
                        String::new()
                    } else {
                        reply.text.to_string()
                    }),
            );
        }
        if reply.code == 250 {
            tracing::info!(
                id = note.id.as_deref(),
                from,
                rcpts = ?rcpts,
                size = note.size,
                mailboxes = note.mailboxes,
                remote = note.remote,
                checks = note.checks.as_deref(),
                policy = note.policy.as_deref(),
                filters = note.filters.as_deref(),
                "message accepted"
            );
        } else {
            tracing::info!(
                code = reply.code,
                status = reply.status,
                text = %reply.text,
                from,
                rcpts = ?rcpts,
                size = note.size,
                checks = note.checks.as_deref(),
                policy = note.policy.as_deref(),
                filters = note.filters.as_deref(),
                "message refused"
            );
        }
        self.rset();
        self.transaction_logged = true;
        reply
    }

    pub(super) async fn handle_bdat(&mut self, size: usize, last: bool) -> Result<Reply, Closed> {
        // RFC 3030 §2: the chunk is read whatever the reply will be.
        let mut chunking = match self.tx.chunking.take() {
            Some(chunking) => chunking,
            None => {
                if let Some(refusal) = self.data_precondition() {
                    self.skip(size).await?;
                    return Ok(refusal);
                }
                match self.open_spool().await {
                    Ok(spool) => Chunking {
                        spool: Some(spool),
                        normalizer: LineEndNormalizer::default(),
                        too_big: false,
                    },
                    Err(refusal) => {
                        self.skip(size).await?;
                        self.rset();
                        return Ok(refusal);
                    }
                }
            }
        };
        let max = self.service.limits.max_message_size;
        let mut left = size;
        let mut normalized = Vec::with_capacity(DATA_CHUNK + 1024);
        let mut write_failed = false;
        while left > 0 {
            let chunk = self.read_data(left.min(DATA_CHUNK)).await?;
            left -= chunk.len();
            self.tx.note.size += chunk.len() as u64;
            if chunking.too_big || write_failed {
                continue;
            }
            normalized.clear();
            chunking.normalizer.normalize(&chunk, &mut normalized);
            let Some(spool) = chunking.spool.as_mut() else {
                continue;
            };
            if spool.size() + normalized.len() as u64 > max {
                chunking.too_big = true;
                continue;
            }
            if let Err(e) = spool.write(&normalized).await {
                tracing::error!(error = %e, "spool write failed");
                write_failed = true;
            }
        }
        if chunking.too_big {
            return Ok(self.end_transaction(reply::MESSAGE_TOO_BIG));
        }
        if write_failed {
            return Ok(self.end_transaction(reply::LOCAL_ERROR));
        }
        if !last {
            self.tx.chunking = Some(chunking);
            return Ok(Reply::with_text(
                250,
                "2.0.0",
                format!("{size} octets received"),
            ));
        }
        let reply = match chunking.spool.take() {
            Some(spool) => self.deliver(spool).await,
            None => reply::LOCAL_ERROR,
        };
        Ok(self.end_transaction(reply))
    }

    /// A new spool file: `head`, then the message from byte `skip` on (submission adds
    /// header fields in front; the MX replaces the header section).
    pub(super) async fn rewrite_spool(
        &self,
        message: SpooledMessage,
        head: &[u8],
        skip: u64,
    ) -> Result<SpooledMessage, Reply> {
        let failed = |e: std::io::Error| {
            tracing::error!(error = %e, "cannot rewrite the spool file");
            reply::LOCAL_ERROR
        };
        let mut out = self
            .service
            .spool
            .create_for(&message.unique)
            .await
            .map_err(failed)?;
        out.write(head).await.map_err(failed)?;
        let mut file = tokio::fs::File::open(message.path())
            .await
            .map_err(failed)?;
        file.seek(SeekFrom::Start(skip)).await.map_err(failed)?;
        let mut chunk = vec![0u8; DATA_CHUNK];
        loop {
            let n = file.read(&mut chunk).await.map_err(failed)?;
            if n == 0 {
                break;
            }
            out.write(&chunk[..n]).await.map_err(failed)?;
        }
        out.finish().await.map_err(failed)
    }

    /// Reads and drops `size` bytes of a refused BDAT chunk.
    async fn skip(&mut self, mut size: usize) -> Result<(), Closed> {
        while size > 0 {
            size -= self.read_data(size.min(DATA_CHUNK)).await?.len();
        }
        Ok(())
    }

    /// A new spool file that starts with the trace headers.
    async fn open_spool(&mut self) -> Result<SpoolFile, Reply> {
        let mut spool = self.service.spool.create().await.map_err(|e| {
            tracing::error!(error = %e, "cannot create a spool file");
            reply::LOCAL_ERROR
        })?;
        let trace = self.trace_headers(spool.unique());
        spool.write(trace.as_bytes()).await.map_err(|e| {
            tracing::error!(error = %e, "spool write failed");
            reply::LOCAL_ERROR
        })?;
        Ok(spool)
    }

    /// `Return-Path` and `Received` (RFC 5321 §4.4), prepended to every message.
    fn trace_headers(&self, id: &str) -> String {
        let sender = self
            .tx
            .sender
            .as_ref()
            .map(|s| s.address.as_str())
            .unwrap_or("");
        let smtputf8 = self.tx.sender.as_ref().is_some_and(|s| s.smtputf8);
        // RFC 3848 / RFC 6531 §3.7.3 protocol names.
        let protocol = match (smtputf8, self.esmtp, self.tls) {
            (true, _, false) => "UTF8SMTP",
            (true, _, true) => "UTF8SMTPS",
            (false, true, false) => "ESMTP",
            (false, true, true) => "ESMTPS",
            (false, false, _) => "SMTP",
        };
        let ip = match self.info.peer.ip() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("IPv6:{v6}"),
        };
        let helo = trace_field(self.helo.as_deref().unwrap_or("unknown"));
        // RFC 5321 §7.6: name the recipient only when there is exactly one.
        let for_clause = match self.tx.recipients.as_slice() {
            [one] => format!("\r\n\tfor <{}>", trace_field(&one.address)),
            _ => String::new(),
        };
        // RFC 5321 §4.4: Return-Path is added at final delivery, so not to mail that leaves.
        let leaves = self.tx.recipients.iter().any(|r| !r.remote.is_empty());
        let return_path = if self.service.submission.is_some() || leaves {
            String::new()
        } else {
            format!("Return-Path: <{}>\r\n", trace_field(sender))
        };
        let protocol = if self.user.is_some() {
            // RFC 3848: the A suffix for authenticated sessions.
            format!("{protocol}A")
        } else {
            protocol.to_string()
        };
        format!(
            "{return_path}Received: from {helo} ([{ip}])\r\n\tby {} (Baedal) with {protocol} id {id}{for_clause};\r\n\t{}\r\n",
            self.service.hostname,
            rfc5322_date(SystemTime::now()),
        )
    }

    /// Stores the message for every local recipient, queues it for the remote ones, and
    /// answers for the whole transaction.
    async fn deliver(&mut self, spool: SpoolFile) -> Reply {
        // Submitted mail is usually rewritten (DKIM, Date, Message-ID), checked inbound
        // mail always (Authentication-Results): only the final file needs the fsync.
        let sync = self.service.submission.is_none() && self.service.checks.is_none();
        let message = match spool.finish_with(sync).await {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(error = %e, "cannot sync the spool file");
                return reply::LOCAL_ERROR;
            }
        };
        let message = match self.prepare_submission(message).await {
            Ok(message) => message,
            Err(refusal) => return refusal,
        };
        let (message, mut junk) = match self.check_message(message).await {
            Ok(checked) => (checked.message, checked.junk),
            Err(refusal) => return refusal,
        };
        let (message, held) = match self.filter_message(message).await {
            Ok(filtered) => {
                junk.extend(filtered.junk);
                (filtered.message, filtered.held)
            }
            Err(reply) => return reply,
        };
        // Recipients whose copy was quarantined get none here.
        let delivered = || {
            self.tx
                .recipients
                .iter()
                .enumerate()
                .filter(|(i, _)| !held.contains(i))
                .map(|(_, r)| r)
        };
        let mut seen = HashSet::new();
        let users: Vec<_> = delivered()
            .flat_map(|r| r.users.iter())
            .filter(|u| seen.insert(u.id))
            .collect();
        let mut seen_remote = HashSet::new();
        let remote: Vec<String> = delivered()
            .flat_map(|r| r.remote.iter())
            .filter(|a| seen_remote.insert(a.to_ascii_lowercase()))
            .cloned()
            .collect();
        if remote.is_empty() && users.iter().all(|u| u.over_quota(message.size)) {
            let full: Vec<_> = users.iter().map(|u| (*u).clone()).collect();
            super::quota::refused(&self.service, &full);
            return reply::MAILBOX_FULL;
        }
        for user in users.iter().filter(|u| u.over_quota(message.size)) {
            // One reply covers every recipient after DATA; the others must not lose the
            // message, so this one goes over quota by one message.
            tracing::warn!(user = %user.email, size = message.size, "delivered over quota");
        }
        let targets: Vec<DeliveryTarget> = users
            .iter()
            .map(|u| match junk.contains(&u.id) {
                true => DeliveryTarget::junk(u),
                false => DeliveryTarget::inbox(u),
            })
            .collect();
        let id = message.unique.clone();
        let size = message.size;
        let now = baedal_storage::clock::now_secs();
        let from = self
            .tx
            .sender
            .as_ref()
            .map(|s| s.address.clone())
            .unwrap_or_default();
        // The queue copies the spool file first: local delivery then moves it.
        let queued = match (&self.service.outbound, remote.is_empty()) {
            (_, true) => None,
            (None, false) => return reply::LOCAL_ERROR,
            (Some(outbound), false) => {
                let outgoing = Outgoing {
                    id: &id,
                    spool_file: message.path(),
                    size,
                    sender: &from,
                    recipients: &remote,
                    last_use: targets.is_empty(),
                };
                if let Err(e) = outbound
                    .queue
                    .enqueue(&outgoing, now, outbound.lifetime_secs)
                    .await
                {
                    tracing::error!(id, error = %e, "cannot queue the message");
                    self.withdraw_hold(&id, !held.is_empty()).await;
                    return reply::LOCAL_ERROR;
                }
                Some(outbound)
            }
        };
        if !targets.is_empty()
            && let Err(e) = self.service.store.deliver(message, &targets, now).await
        {
            tracing::error!(id, error = %e, "delivery failed");
            // Nothing may go out for a transaction the client will send again.
            if let Some(outbound) = queued
                && let Err(e) = outbound.queue.delete(&id).await
            {
                tracing::error!(id, error = %e, "cannot withdraw the queued copy");
            }
            self.withdraw_hold(&id, !held.is_empty()).await;
            return reply::LOCAL_ERROR;
        }
        if let Some(outbound) = queued {
            outbound.wake.notify_one();
        }
        super::quota::warn_after_delivery(&self.service, &users);
        self.tx.note.mailboxes = targets.len();
        self.tx.note.remote = remote.len();
        let reply = Reply::with_text(250, "2.0.0", format!("OK: queued as {id}"));
        self.tx.note.id = Some(id);
        reply
    }
}

impl Session {
    /// Removes the quarantined copy of a transaction the client will send again.
    async fn withdraw_hold(&self, id: &str, held: bool) {
        if held
            && let Some(quarantine) = &self.service.quarantine
            && let Err(e) = quarantine.store.delete(id).await
        {
            tracing::error!(id, error = %e, "cannot withdraw the quarantined copy");
        }
    }
}

/// A peer-given string made safe for a header: no control characters, bounded length.
fn trace_field(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TRACE_FIELD)
        .collect()
}
