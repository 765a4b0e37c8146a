//! `baedal queue list|show|retry|delete|hold|release`: the outbound queue.

use baedal_storage::clock::now_secs;
use baedal_storage::queue::QueuedMessage;
use clap::Subcommand;
use serde_json::json;

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

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
fn when(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub async fn run(cmd: QueueCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let queue = &ctx.queue;
    let out = ctx.output;
    let now = now_secs();
    match cmd {
        QueueCommand::List => {
            let messages = queue.list().await.map_err(failed)?;
            let rows: Vec<(QueuedMessage, String)> = messages
                .into_iter()
                .flat_map(|m| {
                    let rcpts: Vec<String> = m
                        .recipients
                        .iter()
                        .map(|r| format!("{} ({})", r.recipient, r.status))
                        .collect();
                    Some((m, rcpts.join(", ")))
                })
                .collect();
            let messages: Vec<&QueuedMessage> = rows.iter().map(|(m, _)| m).collect();
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
                        let rcpts = rows
                            .iter()
                            .find(|(r, _)| r.id == m.id)
                            .map(|(_, t)| t.clone())
                            .unwrap_or_default();
                        vec![
                            m.id.clone(),
                            if m.sender.is_empty() {
                                "<>".to_string()
                            } else {
                                m.sender.clone()
                            },
                            m.size.to_string(),
                            when(m.created_at),
                            rcpts,
                        ]
                    },
                );
            }
        }
        QueueCommand::Show { id } => {
            let message = queue
                .show(&id)
                .await
                .map_err(failed)?
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
            queue.retry(&id, now).await.map_err(failed)?;
            out.done(
                &format!("{id}: due now"),
                &json!({ "id": id, "action": "retry" }),
            );
        }
        QueueCommand::Delete { id } => {
            queue.delete(&id).await.map_err(failed)?;
            out.done(
                &format!("{id}: deleted"),
                &json!({ "id": id, "action": "delete" }),
            );
        }
        QueueCommand::Hold { id } => {
            queue.hold(&id, now).await.map_err(failed)?;
            out.done(
                &format!("{id}: held"),
                &json!({ "id": id, "action": "hold" }),
            );
        }
        QueueCommand::Release { id } => {
            queue.release(&id, now).await.map_err(failed)?;
            out.done(
                &format!("{id}: released, due now"),
                &json!({ "id": id, "action": "release" }),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_epoch_seconds() {
        assert_eq!(super::when(0), "1970-01-01 00:00:00");
        assert_eq!(super::when(1_795_000_000), "2026-11-18 11:06:40");
    }
}
