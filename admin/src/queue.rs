//! `baedal queue list|show|retry|delete|hold|release`: the outbound queue.

use baedal_storage::clock::utc_timestamp as when;
use clap::Subcommand;
use serde_json::json;

use crate::ops::queue::QueueAction;
use crate::ops::{self, Actor};
use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Every queued message with its recipients
    List,
    /// One message: each recipient's status, attempts, next try and last error
    Show { id: String },
    /// Try the message's waiting recipients now
    Retry { id: String },
    /// Remove the message without telling the sender
    Delete { id: String },
    /// Keep the message from being tried until it is released
    Hold { id: String },
    /// Release a held message; it is tried at once
    Release { id: String },
}

fn failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(e.to_string())
}

pub async fn run(cmd: QueueCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let queue = &ctx.queue;
    let out = ctx.output;
    match cmd {
        QueueCommand::List => {
            let messages = queue.list().await?;
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&messages).map_err(failed)?
                );
            } else {
                out.list(
                    &messages,
                    &["ID", "FROM", "SIZE", "QUEUED", "RECIPIENTS"],
                    |m| {
                        let rcpts: Vec<String> = m
                            .recipients
                            .iter()
                            .map(|r| format!("{} ({})", r.recipient, r.status))
                            .collect();
                        vec![
                            m.id.clone(),
                            if m.sender.is_empty() {
                                "<>".to_string()
                            } else {
                                m.sender.clone()
                            },
                            m.size.to_string(),
                            when(m.created_at),
                            rcpts.join(", "),
                        ]
                    },
                );
            }
        }
        QueueCommand::Show { id } => {
            let message = queue
                .show(&id)
                .await?
                .ok_or_else(|| AdminError::Failed(format!("no queued message {id}")))?;
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&message).map_err(failed)?
                );
            } else {
                println!("id:       {}", message.id);
                println!("from:     <{}>", message.sender);
                println!("size:     {}", message.size);
                println!("queued:   {}", when(message.created_at));
                println!("expires:  {}", when(message.expires_at));
                out.list(
                    &message.recipients,
                    &["RECIPIENT", "STATUS", "ATTEMPTS", "NEXT TRY", "LAST ERROR"],
                    |r| {
                        vec![
                            r.recipient.clone(),
                            r.status.clone(),
                            r.attempts.to_string(),
                            if r.status == "queued" {
                                when(r.next_attempt_at)
                            } else {
                                "-".to_string()
                            },
                            r.last_error.clone().unwrap_or_else(|| "-".to_string()),
                        ]
                    },
                );
            }
        }
        QueueCommand::Retry { id } => {
            ops::queue::act(ctx, &Actor::cli(), &id, QueueAction::Retry).await?;
            out.done(
                &format!("{id}: due now"),
                &json!({ "id": id, "action": "retry" }),
            );
        }
        QueueCommand::Delete { id } => {
            ops::queue::act(ctx, &Actor::cli(), &id, QueueAction::Delete).await?;
            out.done(
                &format!("{id}: deleted"),
                &json!({ "id": id, "action": "delete" }),
            );
        }
        QueueCommand::Hold { id } => {
            ops::queue::act(ctx, &Actor::cli(), &id, QueueAction::Hold).await?;
            out.done(
                &format!("{id}: held"),
                &json!({ "id": id, "action": "hold" }),
            );
        }
        QueueCommand::Release { id } => {
            ops::queue::act(ctx, &Actor::cli(), &id, QueueAction::Release).await?;
            out.done(
                &format!("{id}: released, due now"),
                &json!({ "id": id, "action": "release" }),
            );
        }
    }
    Ok(())
}
