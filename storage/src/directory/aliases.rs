//! `virtual_aliases`: addresses (or a whole domain, `@domain`) that deliver elsewhere.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Directory, DirectoryError, flag, is_unique_violation};
use crate::address::{AliasSource, DomainName, EmailAddress};

/// One source → destination pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub source: String,
    pub destination: String,
    pub domain: String,
    pub is_active: bool,
    pub created_at: String,
}

impl Directory {
    fn alias_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT a.source, a.destination, d.domain_name, {active} AS is_active, \
                    {created} AS created_at \
             FROM virtual_aliases a JOIN domains d ON d.id = a.domain_id",
            active = d.flag("a.is_active"),
            created = d.time("a.created_at"),
        )
    }

    /// Adds `source → destination` for each destination, all or none. The source's domain
    /// must be local; destinations may be anywhere.
    pub async fn add_alias(
        &self,
        source: &AliasSource,
        destinations: &[EmailAddress],
    ) -> Result<Vec<Alias>, DirectoryError> {
        let source_text = source.to_string();
        let mut tx = self.begin().await?;
        let domain_id = Self::domain_id(&mut tx, source.domain()).await?;
        for destination in destinations {
            let result = sqlx::query(
                "INSERT INTO virtual_aliases (source, destination, domain_id) VALUES ($1, $2, $3)",
            )
            .bind(&source_text)
            .bind(destination.to_string())
            .bind(domain_id)
            .execute(&mut *tx)
            .await;
            match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(DirectoryError::AliasExists(
                        source_text,
                        destination.to_string(),
                    ));
                }
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
        }
        tx.commit().await?;
        let sql = format!(
            "{} WHERE a.source = $1 ORDER BY a.destination",
            self.alias_select()
        );
        let rows = sqlx::query(&sql)
            .bind(&source_text)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.iter().map(alias_from_row).collect::<Result<_, _>>()?)
    }

    /// Aliases in source order, optionally of one domain (which must exist).
    pub async fn aliases(&self, domain: Option<&DomainName>) -> Result<Vec<Alias>, DirectoryError> {
        let rows = match domain {
            Some(domain) => {
                self.require_domain(domain).await?;
                let sql = format!(
                    "{} WHERE d.domain_name = $1 ORDER BY a.source, a.destination",
                    self.alias_select()
                );
                sqlx::query(&sql)
                    .bind(domain.as_str())
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                let sql = format!("{} ORDER BY a.source, a.destination", self.alias_select());
                sqlx::query(&sql).fetch_all(self.db.pool()).await?
            }
        };
        Ok(rows.iter().map(alias_from_row).collect::<Result<_, _>>()?)
    }

    /// The active destinations of one source, for recipient resolution.
    pub async fn alias_destinations(
        &self,
        source: &AliasSource,
    ) -> Result<Vec<String>, DirectoryError> {
        Ok(sqlx::query_scalar(
            "SELECT destination FROM virtual_aliases \
             WHERE source = $1 AND is_active = TRUE ORDER BY destination",
        )
        .bind(source.to_string())
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Removes one destination of a source, or every destination when `destination` is
    /// `None`. Returns how many pairs went.
    pub async fn remove_alias(
        &self,
        source: &AliasSource,
        destination: Option<&EmailAddress>,
    ) -> Result<u64, DirectoryError> {
        let result = match destination {
            Some(destination) => {
                sqlx::query("DELETE FROM virtual_aliases WHERE source = $1 AND destination = $2")
                    .bind(source.to_string())
                    .bind(destination.to_string())
                    .execute(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM virtual_aliases WHERE source = $1")
                    .bind(source.to_string())
                    .execute(self.db.pool())
                    .await?
            }
        };
        match result.rows_affected() {
            0 => Err(DirectoryError::UnknownAlias(match destination {
                Some(d) => format!("{source} → {d}"),
                None => source.to_string(),
            })),
            n => Ok(n),
        }
    }
}

fn alias_from_row(row: &AnyRow) -> Result<Alias, sqlx::Error> {
    Ok(Alias {
        source: row.try_get("source")?,
        destination: row.try_get("destination")?,
        domain: row.try_get("domain_name")?,
        is_active: flag(row, "is_active")?,
        created_at: row.try_get("created_at")?,
    })
}
