//! Threads (RFC 8474 THREADID): at delivery and APPEND a message joins the thread of the
//! newest message its In-Reply-To / References name that the user already has (any mailbox),
//! or starts its own, numbered by its object id. Decided once, when it arrives: a parent that
//! arrives after its reply does not merge their threads (as Gmail and Fastmail do).

use mail_parser::{HeaderValue, MessageParser};
use sqlx::{Any, Transaction};

/// Message-IDs of a reply looked up, nearest parent first.
const MAX_PARENTS: usize = 10;

/// The Message-ID of a header section, and the ids it refers to (nearest first).
pub(crate) fn ids_of(header: &[u8]) -> (Option<String>, Vec<String>) {
    let Some(parsed) = MessageParser::default().parse_headers(header) else {
        return (None, Vec::new());
    };
    let own = parsed.message_id().map(clean);
    let list = |v: &HeaderValue<'_>| -> Vec<String> {
        match v {
            HeaderValue::Text(t) => vec![clean(t)],
            HeaderValue::TextList(l) => l.iter().map(|t| clean(t)).collect(),
            _ => Vec::new(),
        }
    };
    let mut parents = list(parsed.in_reply_to());
    let mut references = list(parsed.references());
    references.reverse();
    parents.extend(references);
    let mut seen = std::collections::HashSet::new();
    parents.retain(|p| !p.is_empty() && seen.insert(p.clone()));
    parents.truncate(MAX_PARENTS);
    (own.filter(|s| !s.is_empty()), parents)
}

fn clean(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .take(255)
        .collect()
}

/// The thread a new copy for `user_id` joins: a parent's (or an earlier copy of the same
/// message's), else `own` (the new object's id).
pub(crate) async fn thread_for(
    tx: &mut Transaction<'static, Any>,
    user_id: i64,
    message_id: Option<&str>,
    parents: &[String],
    own: i64,
) -> Result<i64, sqlx::Error> {
    for id in message_id
        .into_iter()
        .chain(parents.iter().map(String::as_str))
    {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT m.thread_id FROM message_blobs b JOIN messages m ON m.blob_id = b.id \
             JOIN mailboxes x ON x.id = m.mailbox_id \
             WHERE b.message_id = $1 AND x.user_id = $2 AND m.thread_id IS NOT NULL \
             ORDER BY m.id DESC LIMIT 1",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(thread) = found {
            return Ok(thread);
        }
    }
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_nearest_parent_first() {
        let (own, parents) =
            ids_of(b"Message-ID: <c@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <a@x> <b@x>\r\n\r\n");
        assert_eq!(own.as_deref(), Some("c@x"));
        assert_eq!(parents, ["b@x", "a@x"]);
        let (own, parents) = ids_of(b"Subject: none\r\n\r\n");
        assert_eq!((own, parents.len()), (None, 0));
    }
}
