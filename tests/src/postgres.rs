//! Fresh databases on the test PostgreSQL.
//!
//! `tests/run.sh` starts a throwaway cluster and exports `BAEDAL_TEST_PG_URL`, a superuser
//! URL. Without it the PostgreSQL tests fail (they never skip): run them through
//! `tests/run.sh`.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub const ENV: &str = "BAEDAL_TEST_PG_URL";

/// The superuser URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var(ENV).unwrap_or_else(|_| {
        panic!("{ENV} is not set: the PostgreSQL tests need the cluster that tests/run.sh starts")
    })
}

/// Creates an empty database and returns its URL.
pub fn fresh_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = admin_url();
    let name = format!(
        "baedal_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    format!("{base}/{name}")
}

/// Runs one SQL statement with psql and returns its unaligned output.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql (postgresql-client) is installed by tests/run.sh");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
