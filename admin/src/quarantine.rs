//! `baedal quarantine list|show|release|delete`: messages the content filters held.
//!
//! A release delivers the held bytes unchanged, as the message would have been delivered
//! without the quarantine: into the INBOX of each local recipient it was held for, and to the
//! queue, with the original MAIL FROM, for the remote ones.

use baedal_storage::clock::{now_secs, utc_timestamp as when};
use baedal_storage::directory::Resolution;
use baedal_storage::queue::Outgoing;
use baedal_storage::{DeliveryTarget, QuarantinedMessage};
use clap::Subcommand;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Every held message: id, verdict, sender, recipients, subject
    List,
    /// One held message: its envelope, verdict and header (`--raw`: the whole message)
    Show {
        id: String,
        /// Print the message exactly as held, nothing else
        #[arg(long)]
        raw: bool,
    },
    /// Deliver the message to the recipients it was held for
    Release { id: String },
    /// Remove the message for good
    Delete { id: String },
}

fn failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(e.to_string())
}

pub async fn run(cmd: QuarantineCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let out = ctx.output;
    match cmd {
        QuarantineCommand::List => {
            let held = ctx.quarantine.list().await?;
            out.list(
                &held,
                &["ID", "HELD", "VERDICT", "FROM", "RECIPIENTS", "SUBJECT"],
                |m| {
                    vec![
                        m.id.clone(),
                        when(m.created_at),
                        m.verdict.clone(),
                        sender(m),
                        m.recipients.0.join(", "),
                        m.subject.clone(),
                    ]
                },
            );
        }
        QuarantineCommand::Show { id, raw } => {
            let message = find(ctx, &id).await?;
            let bytes = read(ctx, &message).await?;
            if raw {
                use std::io::Write;
                std::io::stdout().write_all(&bytes).map_err(failed)?;
                return Ok(());
            }
            let header = header_section(&bytes);
            if out.json {
                let mut value = serde_json::to_value(&message).map_err(failed)?;
                value["header"] = json!(header);
                println!("{}", serde_json::to_string_pretty(&value).map_err(failed)?);
            } else {
                println!("id:          {}", message.id);
                println!("held:        {}", when(message.created_at));
                println!("expires:     {}", when(message.expires_at));
                println!("verdict:     {}", message.verdict);
                println!("reason:      {}", message.reason);
                println!("client:      {}", message.client_ip);
                println!("from:        <{}>", sender(&message));
                println!("recipients:  {}", message.recipients.0.join(", "));
                println!("local users: {}", message.local_users.0.join(", "));
                println!("remote:      {}", message.remote.0.join(", "));
                println!("size:        {}", message.size);
                println!();
                print!("{header}");
            }
        }
        QuarantineCommand::Release { id } => {
            let message = find(ctx, &id).await?;
            let (mailboxes, remote) = release(ctx, &message).await?;
            ctx.quarantine.delete(&message.id).await?;
            out.done(
                &format!(
                    "released {id}: delivered to {mailboxes} mailbox(es), queued for {remote} remote recipient(s)"
                ),
                &json!({"released": id, "mailboxes": mailboxes, "remote": remote}),
            );
        }
        QuarantineCommand::Delete { id } => {
            if !ctx.quarantine.delete(&id).await? {
                return Err(AdminError::Failed(format!("no quarantined message {id}")));
            }
            out.done(&format!("deleted {id}"), &json!({"deleted": id}));
        }
    }
    Ok(())
}

fn sender(message: &QuarantinedMessage) -> String {
    if message.sender.is_empty() {
        "<>".into()
    } else {
        message.sender.clone()
    }
}

async fn find(ctx: &AdminContext, id: &str) -> Result<QuarantinedMessage, AdminError> {
    ctx.quarantine
        .get(id)
        .await?
        .ok_or_else(|| AdminError::Failed(format!("no quarantined message {id}")))
}

async fn read(ctx: &AdminContext, message: &QuarantinedMessage) -> Result<Vec<u8>, AdminError> {
    let mut reader = ctx.quarantine.open(message).await?;
    let mut bytes = Vec::with_capacity(message.size.max(0) as usize);
    reader.read_to_end(&mut bytes).await.map_err(failed)?;
    Ok(bytes)
}

/// The header section of a message, through its empty line.
fn header_section(bytes: &[u8]) -> String {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Delivers the held bytes: (mailboxes stored in, remote recipients queued).
async fn release(
    ctx: &AdminContext,
    message: &QuarantinedMessage,
) -> Result<(usize, usize), AdminError> {
    let mut users = Vec::new();
    for email in &message.local_users.0 {
        match ctx.directory.resolve_recipient(email).await? {
            Resolution::Local(found) => users.extend(found),
            other => {
                return Err(AdminError::Failed(format!(
                    "cannot deliver to {email} any more ({other:?}); the message stays held"
                )));
            }
        }
    }
    users.sort_by_key(|u| u.id);
    users.dedup_by_key(|u| u.id);
    let targets: Vec<DeliveryTarget> = users.iter().map(DeliveryTarget::inbox).collect();
    let remote = &message.remote.0;
    if targets.is_empty() && remote.is_empty() {
        return Err(AdminError::Failed(format!(
            "{} has no recipient to deliver to",
            message.id
        )));
    }
    let mut spool = ctx.spool.create().await.map_err(failed)?;
    spool
        .write(&read(ctx, message).await?)
        .await
        .map_err(failed)?;
    let spooled = spool.finish().await.map_err(failed)?;
    let id = spooled.unique.clone();
    if !remote.is_empty() {
        let outgoing = Outgoing {
            id: &id,
            spool_file: spooled.path(),
            size: spooled.size,
            sender: &message.sender,
            recipients: remote,
            last_use: targets.is_empty(),
        };
        ctx.queue
            .enqueue(&outgoing, now_secs(), ctx.queue_lifetime_secs)
            .await?;
    }
    if !targets.is_empty()
        && let Err(e) = ctx
            .store
            .deliver(spooled, &targets, message.created_at)
            .await
    {
        if !remote.is_empty() {
            let _ = ctx.queue.delete(&id).await;
        }
        return Err(failed(e));
    }
    Ok((targets.len(), remote.len()))
}
