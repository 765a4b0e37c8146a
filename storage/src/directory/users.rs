//! `virtual_users`: the mailbox owners.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    AuthSource, Directory, DirectoryError, flag, is_unique_violation, parse_auth, set_column,
};
use crate::address::{DomainName, EmailAddress};

/// A user as administrators see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub domain: String,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub maildir_path: String,
    /// Bytes; 0 means no limit.
    pub quota: i64,
    pub used_quota: i64,
    pub auth_source: AuthSource,
    pub has_local_password: bool,
    pub is_active: bool,
    /// Days POP3-retrieved mail is kept; `None` = the site default, 0 = until deleted.
    pub pop3_retention_days: Option<i64>,
    pub last_login: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub address: EmailAddress,
    /// bcrypt hash; `None` for a user who logs in through LDAP only.
    pub password_hash: Option<String>,
    /// Bytes; `None` takes the schema default (1 GiB).
    pub quota: Option<u64>,
    pub display_name: Option<String>,
    pub department: Option<String>,
}

/// Which users a search returns.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// A substring of the address, name or department (case-insensitive).
    pub text: Option<String>,
    /// Only users of these domains.
    pub domains: Option<Vec<String>>,
    pub offset: i64,
    pub limit: i64,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub display_name: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub quota: Option<u64>,
    pub is_active: Option<bool>,
    /// A new bcrypt hash, or `Some(None)` to remove the local password.
    pub password_hash: Option<Option<String>>,
    /// Days to keep POP3-retrieved mail, or `Some(None)` for the site default.
    pub pop3_retention_days: Option<Option<i64>>,
    /// Which authenticator the user's logins go through (set by LDAP sync).
    pub auth_source: Option<AuthSource>,
}

/// Where a user's messages live, relative to the blob store root (DESIGN: storage layout).
pub fn maildir_path(address: &EmailAddress) -> String {
    format!("{}/{}/Maildir/", address.domain(), address.local_part())
}

fn to_db_size(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

impl Directory {
    fn user_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT u.id, u.email, d.domain_name, u.display_name, u.department, u.maildir_path, \
                    u.quota, u.used_quota, u.auth_source, \
                    CASE WHEN u.password IS NULL THEN 0 ELSE 1 END AS has_local_password, \
                    {active} AS is_active, u.pop3_retention_days, {last_login} AS last_login, \
                    {created} AS created_at, {updated} AS updated_at \
             FROM virtual_users u JOIN domains d ON d.id = u.domain_id",
            active = d.flag("u.is_active"),
            last_login = d.time("u.last_login"),
            created = d.time("u.created_at"),
            updated = d.time("u.updated_at"),
        )
    }

    pub async fn add_user(&self, new: NewUser) -> Result<User, DirectoryError> {
        let email = new.address.to_string();
        let mut tx = self.begin().await?;
        let domain_id = Self::domain_id(&mut tx, new.address.domain()).await?;
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO virtual_users \
                 (email, password, domain_id, maildir_path, quota, display_name, department) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&email)
        .bind(new.password_hash)
        .bind(domain_id)
        .bind(maildir_path(&new.address))
        .bind(to_db_size(new.quota.unwrap_or(DEFAULT_QUOTA)))
        .bind(new.display_name)
        .bind(new.department)
        .fetch_one(&mut *tx)
        .await;
        let user_id = match result {
            Err(e) if is_unique_violation(&e) => return Err(DirectoryError::UserExists(email)),
            Err(e) => return Err(e.into()),
            Ok(id) => id,
        };
        crate::mailstore::create_default_mailboxes(&mut tx, user_id).await?;
        tx.commit().await?;
        self.require_user(&new.address).await
    }

    /// Users, in address order, optionally of one domain (which must exist).
    pub async fn users(&self, domain: Option<&DomainName>) -> Result<Vec<User>, DirectoryError> {
        let rows = match domain {
            Some(domain) => {
                self.require_domain(domain).await?;
                let sql = format!(
                    "{} WHERE d.domain_name = $1 ORDER BY u.email",
                    self.user_select()
                );
                sqlx::query(&sql)
                    .bind(domain.as_str())
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                let sql = format!("{} ORDER BY u.email", self.user_select());
                sqlx::query(&sql).fetch_all(self.db.pool()).await?
            }
        };
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    /// One page of users matching `search`, in address order, and how many match in all.
    pub async fn search_users(
        &self,
        search: &UserSearch,
    ) -> Result<(i64, Vec<User>), DirectoryError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(text) = search.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!(
                "%{}%",
                text.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            binds.push(pattern);
            let n = binds.len();
            conditions.push(format!(
                "(LOWER(u.email) LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(u.display_name, '')) LIKE ${n} ESCAPE '\\' \
                  OR LOWER(COALESCE(u.department, '')) LIKE ${n} ESCAPE '\\')"
            ));
        }
        if let Some(domains) = &search.domains {
            let mut placeholders = Vec::new();
            for domain in domains {
                binds.push(domain.clone());
                placeholders.push(format!("${}", binds.len()));
            }
            if placeholders.is_empty() {
                conditions.push("1 = 0".into());
            } else {
                conditions.push(format!("d.domain_name IN ({})", placeholders.join(", ")));
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!(
            "SELECT COUNT(*) FROM virtual_users u JOIN domains d ON d.id = u.domain_id{filter}"
        );
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b.clone());
        }
        let total = count.fetch_one(self.db.pool()).await?;
        let sql = format!(
            "{}{filter} ORDER BY u.email LIMIT {} OFFSET {}",
            self.user_select(),
            search.limit.clamp(1, 10_000),
            search.offset.max(0)
        );
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b.clone());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok((
            total,
            rows.iter().map(user_from_row).collect::<Result<_, _>>()?,
        ))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, DirectoryError> {
        let sql = format!("{} WHERE u.id = $1", self.user_select());
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn user(&self, address: &EmailAddress) -> Result<Option<User>, DirectoryError> {
        let sql = format!("{} WHERE u.email = $1", self.user_select());
        let row = sqlx::query(&sql)
            .bind(address.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    pub async fn require_user(&self, address: &EmailAddress) -> Result<User, DirectoryError> {
        self.user(address)
            .await?
            .ok_or_else(|| DirectoryError::UnknownUser(address.to_string()))
    }

    /// The stored bcrypt hash, for the authenticator; `Ok(None)` when the user has none.
    pub async fn password_hash(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<String>, DirectoryError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT password FROM virtual_users WHERE email = $1")
                .bind(address.to_string())
                .fetch_optional(self.db.pool())
                .await?;
        row.ok_or_else(|| DirectoryError::UnknownUser(address.to_string()))
    }

    pub async fn update_user(
        &self,
        address: &EmailAddress,
        update: UserUpdate,
    ) -> Result<User, DirectoryError> {
        let email = address.to_string();
        let mut tx = self.begin().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM virtual_users WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
        let id = exists.ok_or_else(|| DirectoryError::UnknownUser(email.clone()))?;
        let t = "virtual_users";
        set_column(&mut tx, t, "display_name", id, update.display_name).await?;
        set_column(&mut tx, t, "department", id, update.department).await?;
        set_column(&mut tx, t, "quota", id, update.quota.map(to_db_size)).await?;
        set_column(&mut tx, t, "is_active", id, update.is_active).await?;
        set_column(&mut tx, t, "password", id, update.password_hash).await?;
        let source = update.auth_source.map(|s| s.as_str().to_string());
        set_column(&mut tx, t, "auth_source", id, source).await?;
        set_column(
            &mut tx,
            t,
            "pop3_retention_days",
            id,
            update.pop3_retention_days,
        )
        .await?;
        sqlx::query("UPDATE virtual_users SET updated_at = CURRENT_TIMESTAMP WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.require_user(address).await
    }

    /// Records a successful login: when, and which authenticator accepted it.
    pub async fn record_login(
        &self,
        address: &EmailAddress,
        source: AuthSource,
    ) -> Result<(), DirectoryError> {
        sqlx::query(
            "UPDATE virtual_users SET last_login = CURRENT_TIMESTAMP, auth_source = $1 \
             WHERE email = $2",
        )
        .bind(source.as_str())
        .bind(address.to_string())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Removes a user's directory row (their stored mail is the mail store's to remove).
    pub async fn remove_user(&self, address: &EmailAddress) -> Result<User, DirectoryError> {
        let user = self.require_user(address).await?;
        sqlx::query("DELETE FROM virtual_users WHERE id = $1")
            .bind(user.id)
            .execute(self.db.pool())
            .await?;
        Ok(user)
    }
}

/// The site PRD's default quota: 1 GiB.
pub const DEFAULT_QUOTA: u64 = 1_073_741_824;

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        domain: row.try_get("domain_name")?,
        display_name: row.try_get("display_name")?,
        department: row.try_get("department")?,
        maildir_path: row.try_get("maildir_path")?,
        quota: row.try_get("quota")?,
        used_quota: row.try_get("used_quota")?,
        auth_source: parse_auth(row, "auth_source")?,
        has_local_password: flag(row, "has_local_password")?,
        is_active: flag(row, "is_active")?,
        pop3_retention_days: row.try_get("pop3_retention_days")?,
        last_login: row.try_get("last_login")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
