//! Opening the configured SQL database, with its migrations applied.

use std::path::Path;

use anyhow::{Context, Result};
use baedal_storage::db::{MigrationReport, redact_url};
use baedal_storage::{Backend, Database};

use crate::config::Config;

/// Connects to `database.url` (creating the directory of a SQLite file) and
/// applies pending migrations.
pub async fn open(config: &Config) -> Result<(Database, MigrationReport)> {
    let url = config.database_url();
    if Backend::from_url(&url)? == Backend::Sqlite
        && let Some(dir) = sqlite_file(&url).and_then(Path::parent)
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let db = Database::connect_with(
        &url,
        config.database.max_connections,
        std::time::Duration::from_secs(config.database.statement_timeout.max(1)),
    )
    .await
    .with_context(|| format!("database {}", redact_url(&url)))?;
    let report = db
        .migrate()
        .await
        .with_context(|| format!("database {}", redact_url(&url)))?;
    Ok((db, report))
}

/// The file of a `sqlite://PATH?options` or `sqlite:PATH` URL.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file_of_a_url() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/b/x.db?mode=rwc"),
            Some(Path::new("/var/lib/b/x.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://baedal-data/baedal.db"),
            Some(Path::new("baedal-data/baedal.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
