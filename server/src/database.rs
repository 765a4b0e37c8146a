//! Opening the configured SQL database, with its migrations applied.

use anyhow::{Context, Result};
use baedal_storage::db::{MigrationReport, redact_url};
use baedal_storage::{Backend, Database};

use crate::config::Config;

/// Connects to `database.url` (creating the data dir for the embedded SQLite file) and
/// applies pending migrations.
pub async fn open(config: &Config) -> Result<(Database, MigrationReport)> {
    let url = config.database_url();
    if Backend::from_url(&url)? == Backend::Sqlite && config.database.url.is_empty() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let db = Database::connect(&url, config.database.max_connections)
        .await
        .with_context(|| format!("database {}", redact_url(&url)))?;
    let report = db
        .migrate()
        .await
        .with_context(|| format!("database {}", redact_url(&url)))?;
    Ok((db, report))
}
