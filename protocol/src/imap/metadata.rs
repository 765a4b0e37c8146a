//! METADATA (RFC 5464): GETMETADATA and SETMETADATA on the server ("") and on the user's
//! mailboxes. Every mailbox belongs to one user, so `/private/...` and `/shared/...` entries
//! of a mailbox are both the owner's; on the server, `/shared/...` is the site's and read-only
//! (`/shared/admin`: the postmaster of the user's domain, RFC 5464 §3.2.1.1), `/private/...`
//! is the user's. Bounded: [`MAX_VALUE`] bytes a value, [`MAX_ENTRIES`] entries a mailbox.

use std::borrow::Cow;

use baedal_storage::mailstore::metadata::SERVER;
use imap_codec::imap_types::core::{NString8, Vec1};
use imap_codec::imap_types::extensions::metadata::{Depth, Entry, EntryValue, GetMetadataOption};
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;

use super::session::{Done, Session};
use super::wire;

/// The longest value accepted (`[METADATA MAXSIZE n]` beyond it).
pub const MAX_VALUE: usize = 64 * 1024;
/// Entries one user may keep on one mailbox (or on the server): `[METADATA TOOMANY]`.
pub const MAX_ENTRIES: i64 = 200;
/// The longest entry name.
const MAX_NAME: usize = 256;

/// An entry name in the form RFC 5464 §3.2 allows, in lower case: `/private/...` or
/// `/shared/...`, no `*` or `%`, no empty component, no trailing slash. GETMETADATA may also
/// name `/private` or `/shared` itself (with DEPTH, everything below).
fn entry_name(entry: &Entry<'_>, whole_tree: bool) -> Result<String, Done> {
    let raw = entry.as_ref();
    let text = std::str::from_utf8(raw).map_err(|_| Done::bad("Entry names are UTF-8"))?;
    let name = text.to_lowercase();
    let tree = whole_tree && (name == "/private" || name == "/shared");
    let scoped = tree || name.starts_with("/private/") || name.starts_with("/shared/");
    let well_formed = name.len() <= MAX_NAME
        && !name.ends_with('/')
        && !name.contains("//")
        && !name.contains(['*', '%', ' ', '"', '\\', '(', ')', '{', ']'])
        && name.chars().all(|c| !c.is_control());
    if !scoped || !well_formed {
        return Err(Done::bad(format!("Invalid entry name {text}")));
    }
    Ok(name)
}

/// True if `name` is what `requested` asks for at `depth` (RFC 5464 §4.2.2).
fn wanted(name: &str, requested: &str, depth: &Depth) -> bool {
    if name == requested {
        return true;
    }
    let Some(below) = name
        .strip_prefix(requested)
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return false;
    };
    match depth {
        Depth::Null => false,
        Depth::One => !below.contains('/'),
        Depth::Infinity => true,
    }
}

impl Session {
    /// The stored mailbox id of `mailbox` ([`SERVER`] for ""), or the NO for a missing one.
    async fn metadata_scope(&self, user: i64, mailbox: &ImapMailbox<'_>) -> Result<i64, Done> {
        let name = self.mailbox_name(mailbox);
        if name.is_empty() {
            return Ok(SERVER);
        }
        match self.service.store.mailbox(user, &name).await {
            Ok(Some(m)) => Ok(m.id),
            Ok(None) => Err(Done::no("[NONEXISTENT] No such mailbox")),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    pub(super) async fn get_metadata(
        &mut self,
        options: &[GetMetadataOption],
        mailbox: &ImapMailbox<'_>,
        entries: &Vec1<Entry<'_>>,
    ) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        let mut max_size = None;
        let mut depth = Depth::Null;
        for option in options {
            match option {
                GetMetadataOption::MaxSize(n) => max_size = Some(*n as usize),
                GetMetadataOption::Depth(d) => depth = d.clone(),
            }
        }
        let requested: Vec<String> = match entries
            .as_ref()
            .iter()
            .map(|e| entry_name(e, true))
            .collect()
        {
            Ok(names) => names,
            Err(done) => return done,
        };
        let scope = match self.metadata_scope(user, mailbox).await {
            Ok(scope) => scope,
            Err(done) => return done,
        };
        let mut stored = match self.service.store.metadata(user, scope).await {
            Ok(stored) => stored,
            Err(e) => return self.unavailable(e),
        };
        if scope == SERVER {
            // The site's server entries replace anything a client could have stored there.
            stored.retain(|(name, _)| !name.starts_with("/shared/"));
            if let Some(domain) = self
                .user_email()
                .and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_string()))
            {
                stored.push((
                    "/shared/admin".into(),
                    format!("mailto:postmaster@{domain}").into_bytes(),
                ));
            }
            stored.sort();
        }
        let mut longest_left_out = 0;
        let mut items: Vec<&(String, Vec<u8>)> = Vec::new();
        for entry in &stored {
            if !requested.iter().any(|r| wanted(&entry.0, r, &depth)) {
                continue;
            }
            if max_size.is_some_and(|max| entry.1.len() > max) {
                longest_left_out = longest_left_out.max(entry.1.len());
                continue;
            }
            items.push(entry);
        }
        // Entries that do not exist come back with NIL (RFC 5464 §4.4.1 allows a NIL value;
        // Dovecot answers so).
        let mut absent: Vec<&String> = requested
            .iter()
            .filter(|r| !stored.iter().any(|(name, _)| name == *r))
            .collect();
        absent.dedup();
        if !items.is_empty() || !absent.is_empty() {
            let mut line = b"* METADATA ".to_vec();
            let name = self.mailbox_name(mailbox);
            wire::string(&mut line, self.client_name(&name).as_bytes());
            line.extend_from_slice(b" (");
            let mut first = true;
            for (name, value) in &items {
                if !first {
                    line.push(b' ');
                }
                first = false;
                // Names are atoms: entry_name() let no atom-special through.
                line.extend_from_slice(name.as_bytes());
                line.push(b' ');
                if value.contains(&0) {
                    // RFC 3516 literal8: the only form that may carry NUL.
                    line.extend_from_slice(format!("~{{{}}}\r\n", value.len()).as_bytes());
                    line.extend_from_slice(value);
                } else {
                    wire::string(&mut line, value);
                }
            }
            for name in absent {
                if !first {
                    line.push(b' ');
                }
                first = false;
                line.extend_from_slice(name.as_bytes());
                line.extend_from_slice(b" NIL");
            }
            line.extend_from_slice(b")\r\n");
            self.conn.queue(&line);
        }
        if longest_left_out > 0 {
            return Done::ok(format!(
                "[METADATA LONGENTRIES {longest_left_out}] GETMETADATA completed"
            ));
        }
        Done::ok("GETMETADATA completed")
    }

    pub(super) async fn set_metadata(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        values: &Vec1<EntryValue<'_>>,
    ) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        let mut changes = Vec::new();
        for item in values.as_ref() {
            let name = match entry_name(&item.entry, false) {
                Ok(name) => name,
                Err(done) => return done,
            };
            let value: Option<Cow<'_, [u8]>> = match &item.value {
                NString8::NString(n) => n.0.as_ref().map(|s| Cow::Borrowed(s.as_ref())),
                NString8::Literal8(l) => Some(Cow::Borrowed(l.data.as_ref())),
            };
            if let Some(value) = &value
                && value.len() > MAX_VALUE
            {
                return Done::no(format!("[METADATA MAXSIZE {MAX_VALUE}] Value too long"));
            }
            changes.push((name, value.map(|v| v.into_owned())));
        }
        let scope = match self.metadata_scope(user, mailbox).await {
            Ok(scope) => scope,
            Err(done) => return done,
        };
        if scope == SERVER && changes.iter().any(|(name, _)| name.starts_with("/shared/")) {
            return Done::no("[NOPERM] The server's shared entries are set by the administrator");
        }
        match self
            .service
            .store
            .set_metadata(user, scope, &changes, MAX_ENTRIES)
            .await
        {
            Ok(true) => Done::ok("SETMETADATA completed"),
            Ok(false) => Done::no("[METADATA TOOMANY] Too many entries on this mailbox"),
            Err(e) => self.unavailable(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_selects_entries_below() {
        assert!(wanted("/private/a", "/private/a", &Depth::Null));
        assert!(!wanted("/private/a/b", "/private/a", &Depth::Null));
        assert!(wanted("/private/a/b", "/private/a", &Depth::One));
        assert!(!wanted("/private/a/b/c", "/private/a", &Depth::One));
        assert!(wanted("/private/a/b/c", "/private/a", &Depth::Infinity));
        assert!(!wanted("/private/ab", "/private/a", &Depth::Infinity));
    }
}
