//! `baedal quota report`: the users whose mailbox is near or over its quota.

use clap::Subcommand;

use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Users past a share of their quota (default: `[quota] warn_percent`), fullest first
    Report {
        /// The share, in percent
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
        percent: Option<u8>,
    },
}

pub async fn run(cmd: QuotaCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    match cmd {
        QuotaCommand::Report { percent } => {
            let percent = percent.map_or(ctx.quota_warn_percent, i64::from);
            let users = ctx.directory.quota_usage_at_least(percent).await?;
            ctx.output
                .list(&users, &["USER", "USED", "QUOTA", "PERCENT"], |u| {
                    vec![
                        u.email.clone(),
                        u.used.to_string(),
                        u.quota.to_string(),
                        format!("{}%", u.percent),
                    ]
                });
        }
    }
    Ok(())
}
