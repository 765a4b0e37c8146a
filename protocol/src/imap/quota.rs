//! QUOTA (RFC 9208): one quota root, "", per user, with the STORAGE resource in KiB.

use baedal_storage::EmailAddress;
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;

use super::session::{Done, Session};
use super::wire;

impl Session {
    /// `* QUOTA "" (STORAGE used limit)`, or nothing for a user without a limit.
    async fn quota_line(&mut self) -> Result<bool, Done> {
        let email = self
            .user_email()
            .ok_or_else(|| Done::bad("Not authenticated"))?;
        let address = EmailAddress::parse(&email).map_err(|_| Done::bad("Not authenticated"))?;
        let user = self
            .service
            .directory
            .require_user(&address)
            .await
            .map_err(|e| self.unavailable(e))?;
        if user.quota <= 0 {
            return Ok(false);
        }
        let kib = |bytes: i64| (bytes.max(0) as u64).div_ceil(1024);
        self.conn.queue(
            format!(
                "* QUOTA \"\" (STORAGE {} {})\r\n",
                kib(user.used_quota),
                kib(user.quota)
            )
            .as_bytes(),
        );
        Ok(true)
    }

    pub(super) async fn get_quota_root(&mut self, mailbox: &ImapMailbox<'_>) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        let name = self.mailbox_name(mailbox);
        match self.service.store.mailbox(user, &name).await {
            Ok(Some(_)) => {}
            Ok(None) => return Done::no("[NONEXISTENT] No such mailbox"),
            Err(e) => return self.unavailable(e),
        }
        let mut line = b"* QUOTAROOT ".to_vec();
        wire::string(&mut line, self.client_name(&name).as_bytes());
        let limited = match self
            .service
            .directory
            .require_user(
                &match self.user_email().and_then(|e| EmailAddress::parse(&e).ok()) {
                    Some(a) => a,
                    None => return Done::bad("Not authenticated"),
                },
            )
            .await
        {
            Ok(u) => u.quota > 0,
            Err(e) => return self.unavailable(e),
        };
        if limited {
            line.extend_from_slice(b" \"\"");
        }
        line.extend_from_slice(b"\r\n");
        self.conn.queue(&line);
        if limited && let Err(done) = self.quota_line().await {
            return done;
        }
        Done::ok("GETQUOTAROOT completed")
    }

    pub(super) async fn get_quota(&mut self, root: &[u8]) -> Done {
        if !root.is_empty() {
            return Done::no("[NONEXISTENT] No such quota root");
        }
        match self.quota_line().await {
            Ok(true) => Done::ok("GETQUOTA completed"),
            Ok(false) => Done::no("[NONEXISTENT] No quota for this user"),
            Err(done) => done,
        }
    }
}
