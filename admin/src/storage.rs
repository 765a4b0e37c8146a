//! `baedal storage verify [--repair]`: do the blob store and the index agree?

use clap::Subcommand;

use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Find objects without index rows (crash leftovers) and index rows without objects
    Verify {
        /// Remove orphan objects and unreferenced blob rows
        #[arg(long)]
        repair: bool,
        /// The time to judge object age by, in seconds since 1970 (default: now); objects
        /// younger than an hour are never orphans (a delivery may be in progress)
        #[arg(long, value_name = "SECONDS")]
        now: Option<i64>,
    },
}

pub async fn run(cmd: StorageCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    match cmd {
        StorageCommand::Verify { repair, now } => {
            let now = now.unwrap_or_else(baedal_storage::clock::now_secs);
            let report = ctx
                .store
                .verify(now, repair)
                .await
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            let mut text = format!(
                "{} objects, {} index rows: {} orphan object(s), {} missing object(s), {} unreferenced row(s)",
                report.objects,
                report.indexed,
                report.orphan_objects.len(),
                report.missing_objects.len(),
                report.unreferenced_rows.len()
            );
            for key in &report.orphan_objects {
                text.push_str(&format!("\norphan object  {key}"));
            }
            for key in &report.missing_objects {
                text.push_str(&format!("\nmissing object {key}"));
            }
            for key in &report.unreferenced_rows {
                text.push_str(&format!("\nunreferenced   {key}"));
            }
            if repair {
                text.push_str(&format!("\nremoved {}", report.removed));
            }
            ctx.output.done(&text, &report);
            if report.is_clean() {
                Ok(())
            } else {
                Err(AdminError::Failed(
                    "the store and the index disagree".into(),
                ))
            }
        }
    }
}
