//! `domains`: the local (virtual) mail domains.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    AuthType, Directory, DirectoryError, flag, is_unique_violation, parse_auth, set_column,
};
use crate::address::DomainName;

/// A local mail domain, with how many users and aliases it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub id: i64,
    pub domain_name: String,
    pub transport: String,
    pub company_id: Option<i64>,
    pub auth_type: AuthType,
    pub ldap_base_dn: Option<String>,
    pub is_active: bool,
    pub created_at: String,
    pub users: i64,
    pub aliases: i64,
}

#[derive(Debug, Clone)]
pub struct NewDomain {
    pub name: DomainName,
    pub auth_type: AuthType,
    pub ldap_base_dn: Option<String>,
    pub transport: Option<String>,
    pub company_id: Option<i64>,
}

/// Changes to a domain; `None` leaves a field as it is. The inner `Option` of a nullable
/// field distinguishes "set to NULL" from "set to a value".
#[derive(Debug, Clone, Default)]
pub struct DomainUpdate {
    pub auth_type: Option<AuthType>,
    pub ldap_base_dn: Option<Option<String>>,
    pub transport: Option<String>,
    pub company_id: Option<Option<i64>>,
    pub is_active: Option<bool>,
}

impl Directory {
    fn domain_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT d.id, d.domain_name, d.transport, d.company_id, d.auth_type, d.ldap_base_dn, \
                    {active} AS is_active, {created} AS created_at, \
                    (SELECT COUNT(*) FROM virtual_users u WHERE u.domain_id = d.id) AS users, \
                    (SELECT COUNT(DISTINCT a.source) FROM virtual_aliases a WHERE a.domain_id = d.id) AS aliases \
             FROM domains d",
            active = d.flag("d.is_active"),
            created = d.time("d.created_at"),
        )
    }

    pub async fn add_domain(&self, new: NewDomain) -> Result<Domain, DirectoryError> {
        let result = sqlx::query(
            "INSERT INTO domains (domain_name, auth_type, ldap_base_dn, transport, company_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.name.as_str())
        .bind(new.auth_type.as_str())
        .bind(new.ldap_base_dn)
        .bind(new.transport.unwrap_or_else(|| "virtual".to_string()))
        .bind(new.company_id)
        .execute(self.db.pool())
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                Err(DirectoryError::DomainExists(new.name.to_string()))
            }
            Err(e) => Err(e.into()),
            Ok(_) => self.require_domain(&new.name).await,
        }
    }

    pub async fn domains(&self) -> Result<Vec<Domain>, DirectoryError> {
        let sql = format!("{} ORDER BY d.domain_name", self.domain_select());
        let rows = sqlx::query(&sql).fetch_all(self.db.pool()).await?;
        Ok(rows.iter().map(domain_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, DirectoryError> {
        let sql = format!("{} WHERE d.domain_name = $1", self.domain_select());
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(domain_from_row).transpose()?)
    }

    pub async fn require_domain(&self, name: &DomainName) -> Result<Domain, DirectoryError> {
        self.domain(name)
            .await?
            .ok_or_else(|| DirectoryError::UnknownDomain(name.to_string()))
    }

    pub async fn update_domain(
        &self,
        name: &DomainName,
        update: DomainUpdate,
    ) -> Result<Domain, DirectoryError> {
        let mut tx = self.begin().await?;
        let id = Self::domain_id(&mut tx, name).await?;
        let t = "domains";
        set_column(
            &mut tx,
            t,
            "auth_type",
            id,
            update.auth_type.map(|a| a.as_str().to_string()),
        )
        .await?;
        set_column(&mut tx, t, "ldap_base_dn", id, update.ldap_base_dn).await?;
        set_column(&mut tx, t, "transport", id, update.transport).await?;
        set_column(&mut tx, t, "company_id", id, update.company_id).await?;
        set_column(&mut tx, t, "is_active", id, update.is_active).await?;
        tx.commit().await?;
        self.require_domain(name).await
    }

    /// Removes a domain. With users or aliases left it refuses unless `force`, which removes
    /// them too (their directory rows; stored mail is the mail store's to remove).
    pub async fn remove_domain(
        &self,
        name: &DomainName,
        force: bool,
    ) -> Result<Domain, DirectoryError> {
        let domain = self.require_domain(name).await?;
        if !force && (domain.users > 0 || domain.aliases > 0) {
            return Err(DirectoryError::DomainNotEmpty {
                domain: domain.domain_name,
                users: domain.users,
                aliases: domain.aliases,
            });
        }
        let mut tx = self.begin().await?;
        let id = Self::domain_id(&mut tx, name).await?;
        for table in ["virtual_aliases", "virtual_users"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE domain_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM domains WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(domain)
    }
}

fn domain_from_row(row: &AnyRow) -> Result<Domain, sqlx::Error> {
    Ok(Domain {
        id: row.try_get("id")?,
        domain_name: row.try_get("domain_name")?,
        transport: row.try_get("transport")?,
        company_id: row.try_get("company_id")?,
        auth_type: parse_auth(row, "auth_type")?,
        ldap_base_dn: row.try_get("ldap_base_dn")?,
        is_active: flag(row, "is_active")?,
        created_at: row.try_get("created_at")?,
        users: row.try_get("users")?,
        aliases: row.try_get("aliases")?,
    })
}
