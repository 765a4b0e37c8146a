//! Quota notices: a user whose mailbox passed the warning threshold after a delivery, or
//! whose mail was refused because the mailbox is full, gets a short message in their INBOX
//! (and the domain's postmaster a copy, if configured), at most one of each kind per day
//! however many messages arrive: the claim on the day is one SQL statement
//! (`Directory::claim_quota_notice`), so concurrent sessions send one notice between them.
//! Notices are delivered in the background; the client's reply never waits for them.

use std::sync::Arc;
use std::time::SystemTime;

use baedal_storage::directory::{LocalUser, QuotaNoticeKind, Resolution};
use baedal_storage::{DeliveryTarget, clock};

use super::SmtpService;
use crate::language::{Language, NoticeLanguages};
use crate::time::rfc5322_date;

/// `[quota]` as sessions use it.
#[derive(Debug, Clone)]
pub struct QuotaNotices {
    /// Percent of the quota past which a delivery warns the user.
    pub warn_percent: i64,
    /// Send a copy of each notice to `postmaster@` the user's domain.
    pub postmaster: bool,
    /// The language of each domain's notices.
    pub languages: NoticeLanguages,
}

/// One user to tell, and what.
struct Notice {
    user: LocalUser,
    kind: QuotaNoticeKind,
    /// Bytes used after the delivery (or at the refusal).
    used: i64,
}

/// Checks whether a delivery took any of `users` past the warning threshold. The usage is
/// read again in the background: other sessions deliver to the same mailbox at once.
pub(super) fn warn_after_delivery(service: &Arc<SmtpService>, users: &[&LocalUser]) {
    if service.quota_notices.is_none() {
        return;
    }
    let notices: Vec<Notice> = users
        .iter()
        .filter(|u| u.quota > 0)
        .map(|u| Notice {
            user: (*u).clone(),
            kind: QuotaNoticeKind::Warning,
            used: u.used_quota,
        })
        .collect();
    spawn(service, notices);
}

/// Mail to `users` was refused: their mailboxes are full.
pub(super) fn refused(service: &Arc<SmtpService>, users: &[LocalUser]) {
    if service.quota_notices.is_none() {
        return;
    }
    let notices = users
        .iter()
        .map(|u| Notice {
            user: u.clone(),
            kind: QuotaNoticeKind::Refused,
            used: u.used_quota,
        })
        .collect();
    spawn(service, notices);
}

fn spawn(service: &Arc<SmtpService>, notices: Vec<Notice>) {
    if notices.is_empty() {
        return;
    }
    let service = Arc::clone(service);
    tokio::spawn(async move {
        for notice in notices {
            if let Err(e) = send(&service, &notice).await {
                tracing::error!(user = %notice.user.email, error = %e, "cannot deliver a quota notice");
            }
        }
    });
}

async fn send(service: &SmtpService, notice: &Notice) -> Result<(), String> {
    let Some(config) = &service.quota_notices else {
        return Ok(());
    };
    let mut notice = Notice {
        user: notice.user.clone(),
        kind: notice.kind,
        used: notice.used,
    };
    if let Some((used, quota)) = service
        .directory
        .quota_of(notice.user.id)
        .await
        .map_err(|e| e.to_string())?
    {
        notice.used = used;
        notice.user.quota = quota;
    }
    let past =
        notice.used.saturating_mul(100) >= notice.user.quota.saturating_mul(config.warn_percent);
    if notice.kind == QuotaNoticeKind::Warning && (notice.user.quota <= 0 || !past) {
        return Ok(());
    }
    let notice = &notice;
    let day = clock::now_secs().div_euclid(86_400);
    let claimed = service
        .directory
        .claim_quota_notice(notice.user.id, notice.kind, day)
        .await
        .map_err(|e| e.to_string())?;
    if !claimed {
        return Ok(());
    }
    let domain = notice
        .user
        .email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("");
    let postmaster = format!("postmaster@{domain}");
    let mut targets = vec![DeliveryTarget::inbox(&notice.user)];
    if config.postmaster
        && let Ok(Resolution::Local(users)) = service.directory.resolve_recipient(&postmaster).await
    {
        targets.extend(
            users
                .iter()
                .filter(|u| u.id != notice.user.id)
                .map(DeliveryTarget::inbox),
        );
    }
    let mut spool = service.spool.create().await.map_err(|e| e.to_string())?;
    let language = config.languages.for_address(&notice.user.email);
    let text = compose(
        notice,
        language,
        &postmaster,
        spool.unique(),
        &service.hostname,
    );
    spool
        .write(text.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let message = spool.finish().await.map_err(|e| e.to_string())?;
    service
        .store
        .deliver(message, &targets, clock::now_secs())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        user = %notice.user.email,
        kind = notice.kind.as_str(),
        used = notice.used,
        quota = notice.user.quota,
        copies = targets.len(),
        "quota notice delivered"
    );
    Ok(())
}

/// The notice: an automatic message (RFC 3834 `Auto-Submitted`) in the language of the
/// user's domain.
fn compose(
    notice: &Notice,
    language: Language,
    postmaster: &str,
    id: &str,
    hostname: &str,
) -> String {
    let quota = notice.user.quota;
    let percent = notice.used.saturating_mul(100) / quota.max(1);
    let mib = |bytes: i64| format!("{:.1} MiB", bytes as f64 / 1_048_576.0);
    let (used, limit, email) = (mib(notice.used), mib(quota), &notice.user.email);
    let (subject, text) = match (notice.kind, language) {
        (QuotaNoticeKind::Warning, Language::English) => (
            format!("Your mailbox is {percent}% full"),
            format!(
                "Your mailbox {email} uses {used} of its {limit} quota ({percent}%).\r\n\
                 When it is full, new mail to you is refused. Please delete or archive old mail."
            ),
        ),
        (QuotaNoticeKind::Warning, Language::Korean) => (
            format!("메일함 사용량이 {percent}%입니다"),
            format!(
                "메일함 {email}의 사용량이 {limit} 중 {used}({percent}%)입니다.\r\n\
                 메일함이 가득 차면 새 메일을 받을 수 없습니다. 오래된 메일을 지우거나 보관해 주세요."
            ),
        ),
        (QuotaNoticeKind::Refused, Language::English) => (
            "Mail to you was refused: your mailbox is full".to_string(),
            format!(
                "Mail to {email} was refused because the mailbox is full ({used} of {limit}).\r\n\
                 Senders were told to try again later or that the mailbox is full.\r\n\
                 Please delete or archive old mail."
            ),
        ),
        (QuotaNoticeKind::Refused, Language::Korean) => (
            "메일함이 가득 차서 메일을 받지 못했습니다".to_string(),
            format!(
                "메일함 {email}이(가) 가득 차서({limit} 중 {used}) 메일을 받지 못했습니다.\r\n\
                 보낸 사람에게는 나중에 다시 보내거나 메일함이 가득 찼다고 알렸습니다.\r\n\
                 오래된 메일을 지우거나 보관해 주세요."
            ),
        ),
    };
    let subject_word = baedal_filter::headers::encode_word(&subject);
    format!(
        "From: Mail System <{postmaster}>\r\nTo: <{email}>\r\nSubject: {subject_word}\r\n\
         Date: {date}\r\nMessage-ID: <{id}@{hostname}>\r\nAuto-Submitted: auto-generated\r\n\
         X-Baedal-Quota-Notice: {kind}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n",
        date = rfc5322_date(SystemTime::now()),
        kind = notice.kind.as_str(),
        body = crate::mime::base64_lines(format!("{text}\r\n").as_bytes()),
    )
}
