//! Quota state the directory keeps beside the users: who is near or over their quota
//! (`baedal quota report`), and the once-a-day claim on a quota notice (`quota_notices`).

use super::{Directory, DirectoryError};

/// A user at or past a share of their quota.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotaUsage {
    pub email: String,
    pub used: i64,
    pub quota: i64,
    /// `used` as a whole percentage of `quota`, rounded down.
    pub percent: i64,
}

/// What a quota notice tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaNoticeKind {
    /// The mailbox passed the warning threshold.
    Warning,
    /// Mail to the user was refused because the mailbox is full.
    Refused,
}

impl QuotaNoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Refused => "refused",
        }
    }
}

impl Directory {
    /// Users with a quota whose usage is at least `percent` of it, fullest first.
    pub async fn quota_usage_at_least(
        &self,
        percent: i64,
    ) -> Result<Vec<QuotaUsage>, DirectoryError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT email, used_quota, quota FROM virtual_users \
             WHERE quota > 0 AND used_quota * 100 >= quota * $1 ORDER BY email",
        )
        .bind(percent)
        .fetch_all(self.db.pool())
        .await?;
        let mut usage: Vec<QuotaUsage> = rows
            .into_iter()
            .map(|(email, used, quota)| QuotaUsage {
                percent: used.saturating_mul(100) / quota.max(1),
                email,
                used,
                quota,
            })
            .collect();
        usage.sort_by(|a, b| {
            b.percent
                .cmp(&a.percent)
                .then_with(|| a.email.cmp(&b.email))
        });
        Ok(usage)
    }

    /// Claims today's notice of `kind` for the user: `true` for exactly one caller per user,
    /// kind and `day` (days since 1970), however many sessions ask at once.
    pub async fn claim_quota_notice(
        &self,
        user_id: i64,
        kind: QuotaNoticeKind,
        day: i64,
    ) -> Result<bool, DirectoryError> {
        let done = sqlx::query(
            "INSERT INTO quota_notices (user_id, kind, day) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, kind) DO UPDATE SET day = excluded.day \
             WHERE quota_notices.day < excluded.day",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(day)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Directory {
    /// A user's bytes used and quota (0: none), as stored now.
    pub async fn quota_of(&self, user_id: i64) -> Result<Option<(i64, i64)>, DirectoryError> {
        Ok(
            sqlx::query_as("SELECT used_quota, quota FROM virtual_users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }
}
