//! `baedal alias add|list|remove`.

use baedal_storage::{AliasSource, DomainName, EmailAddress};
use clap::Subcommand;
use serde_json::json;

use crate::ops::{Actor, aliases};
use crate::output::yes_no;
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Deliver mail for SOURCE (an address, or @domain for a catch-all) to DEST[,DEST...]
    Add {
        #[arg(value_parser = input::alias_source)]
        source: AliasSource,
        /// One or more destinations, separated by commas or spaces
        #[arg(required = true, num_args = 1..)]
        destinations: Vec<String>,
    },
    /// List aliases, optionally of one domain
    List {
        #[arg(long, value_parser = input::domain)]
        domain: Option<DomainName>,
    },
    /// Remove an alias: every destination of SOURCE, or just DEST
    Remove {
        #[arg(value_parser = input::alias_source)]
        source: AliasSource,
        #[arg(value_parser = input::address)]
        destination: Option<EmailAddress>,
    },
}

pub async fn run(cmd: AliasCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let dir = &ctx.directory;
    let out = ctx.output;
    match cmd {
        AliasCommand::Add {
            source,
            destinations,
        } => {
            let destinations = input::destinations(&destinations)?;
            let aliases = aliases::add(ctx, &Actor::cli(), &source, &destinations).await?;
            let all: Vec<&str> = aliases.iter().map(|a| a.destination.as_str()).collect();
            out.done(&format!("{source} → {}", all.join(", ")), &aliases);
        }
        AliasCommand::List { domain } => {
            let aliases = dir.aliases(domain.as_ref()).await?;
            out.list(&aliases, &["SOURCE", "DESTINATION", "ACTIVE"], |a| {
                vec![a.source.clone(), a.destination.clone(), yes_no(a.is_active)]
            });
        }
        AliasCommand::Remove {
            source,
            destination,
        } => {
            let removed =
                aliases::remove(ctx, &Actor::cli(), &source, destination.as_ref()).await?;
            out.done(
                &format!("removed {removed} destination(s) of {source}"),
                &json!({ "source": source.to_string(), "removed": removed }),
            );
        }
    }
    Ok(())
}
