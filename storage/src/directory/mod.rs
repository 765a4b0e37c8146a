//! The virtual directory: which domains are local, which users and aliases exist.
//!
//! Tables (the Postfix virtual-map pattern, see `migrations/`): `domains`, `virtual_users`
//! (one row a mailbox owner, bcrypt password, quota), `virtual_aliases` (one row per
//! source → destination pair; a source of `@domain` is that domain's catch-all).
//! Every address is stored lowercase (see [`crate::address`]).

mod aliases;
mod domains;
mod quota;
mod resolve;
mod users;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::address::{AddressError, DomainName};
use crate::db::{Database, DbError, Dialect};

pub use aliases::Alias;
pub use domains::{Domain, DomainUpdate, NewDomain};
pub use quota::{QuotaNoticeKind, QuotaUsage};
pub use resolve::{LocalUser, MAX_ALIAS_DEPTH, Resolution};
pub use users::{NewUser, User, UserSearch, UserUpdate};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("unknown domain '{0}': add it first with 'baedal domain add {0}'")]
    UnknownDomain(String),
    #[error("domain '{0}' already exists")]
    DomainExists(String),
    #[error(
        "domain '{domain}' still has {users} user(s) and {aliases} alias(es): remove them first or pass --force"
    )]
    DomainNotEmpty {
        domain: String,
        users: i64,
        aliases: i64,
    },
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("alias {0} → {1} already exists")]
    AliasExists(String, String),
    #[error("no alias '{0}'")]
    UnknownAlias(String),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(e))
    }
}

/// How a domain's users authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    /// LDAPS bind first, the local bcrypt password as fallback.
    Ldap,
    /// The local bcrypt password only.
    Local,
}

/// Where a user's last successful login was checked.
pub type AuthSource = AuthType;

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ldap => "ldap",
            Self::Local => "local",
        }
    }
}

impl FromStr for AuthType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ldap" => Ok(Self::Ldap),
            "local" => Ok(Self::Local),
            other => Err(format!("'{other}' is neither 'ldap' nor 'local'")),
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The directory of virtual domains, users and aliases.
#[derive(Debug, Clone)]
pub struct Directory {
    db: Database,
    /// Where `postmaster@` and `abuse@` of a local domain go when no user or alias has
    /// them (RFC 5321 §4.5.1, RFC 2142).
    role_fallback: Option<String>,
}

impl Directory {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            role_fallback: None,
        }
    }

    /// Sends `postmaster@` and `abuse@` of every local domain without their own user or
    /// alias to `address`.
    pub fn with_role_fallback(mut self, address: Option<String>) -> Self {
        self.role_fallback = address.filter(|a| !a.is_empty());
        self
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, DirectoryError> {
        Ok(self.db.pool().begin().await?)
    }

    /// The id of an existing domain, inside a transaction.
    async fn domain_id(
        tx: &mut Transaction<'static, Any>,
        domain: &DomainName,
    ) -> Result<i64, DirectoryError> {
        sqlx::query_scalar::<_, i64>("SELECT id FROM domains WHERE domain_name = $1")
            .bind(domain.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| DirectoryError::UnknownDomain(domain.to_string()))
    }
}

/// `UPDATE {table} SET {column} = value WHERE id = id` when `value` is given. Table and
/// column names are this crate's constants, never input.
async fn set_column<T>(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    column: &str,
    id: i64,
    value: Option<T>,
) -> Result<(), sqlx::Error>
where
    T: for<'q> sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send + 'static,
{
    let Some(value) = value else { return Ok(()) };
    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    sqlx::query(&sql)
        .bind(value)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn parse_auth(row: &AnyRow, column: &str) -> Result<AuthType, sqlx::Error> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: String| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: e.into(),
    })
}

fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// True when the error is a UNIQUE constraint violation (a concurrent insert won the race).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
