//! `baedal domain add|list|show|set|enable|disable|remove`.

use baedal_storage::{AuthType, Domain, DomainName, DomainUpdate};
use clap::Subcommand;

use crate::ops::Actor;
use crate::ops::domains::{self, DomainDraft};
use crate::output::{or_dash, yes_no};
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a local mail domain
    Add {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        /// How its users log in: ldap (LDAP, then the local password) or local
        #[arg(long = "auth", default_value = "local")]
        auth_type: AuthType,
        /// Where its users are searched in LDAP (default: the global [ldap] base_dn)
        #[arg(long)]
        ldap_base_dn: Option<String>,
        /// Transport of the Postfix virtual-map pattern (default: virtual)
        #[arg(long)]
        transport: Option<String>,
        /// The company this domain belongs to
        #[arg(long)]
        company_id: Option<i64>,
    },
    /// List the domains with their user and alias counts
    List,
    /// Show one domain
    Show {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
    },
    /// Change a domain's settings
    Set {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        #[arg(long = "auth")]
        auth_type: Option<AuthType>,
        #[arg(long, conflicts_with = "no_ldap_base_dn")]
        ldap_base_dn: Option<String>,
        /// Use the global [ldap] base_dn again
        #[arg(long)]
        no_ldap_base_dn: bool,
        #[arg(long)]
        transport: Option<String>,
        #[arg(long)]
        company_id: Option<i64>,
    },
    /// Accept mail and logins for the domain again
    Enable {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
    },
    /// Refuse mail and logins for the domain, keeping its users and mail
    Disable {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
    },
    /// Remove a domain (refused while it has users or aliases, unless --force)
    Remove {
        #[arg(value_parser = input::domain)]
        domain: DomainName,
        /// Also remove its users and aliases
        #[arg(long)]
        force: bool,
        /// With --force: also delete the users' mail (refused while there is any, without it)
        #[arg(long)]
        delete_mail: bool,
    },
}

pub async fn run(cmd: DomainCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let dir = &ctx.directory;
    let out = ctx.output;
    let actor = Actor::cli();
    match cmd {
        DomainCommand::Add {
            domain,
            auth_type,
            ldap_base_dn,
            transport,
            company_id,
        } => {
            let draft = DomainDraft {
                name: domain.to_string(),
                auth_type,
                ldap_base_dn,
                transport,
                company_id,
            };
            let added = domains::create(ctx, &actor, draft).await?;
            out.done(
                &format!(
                    "added domain {} (auth {})",
                    added.domain_name, added.auth_type
                ),
                &added,
            );
        }
        DomainCommand::List => {
            let domains = dir.domains().await?;
            out.list(
                &domains,
                &[
                    "DOMAIN",
                    "AUTH",
                    "LDAP BASE DN",
                    "ACTIVE",
                    "USERS",
                    "ALIASES",
                ],
                |d| {
                    vec![
                        d.domain_name.clone(),
                        d.auth_type.to_string(),
                        or_dash(d.ldap_base_dn.as_deref()),
                        yes_no(d.is_active),
                        d.users.to_string(),
                        d.aliases.to_string(),
                    ]
                },
            );
        }
        DomainCommand::Show { domain } => show(ctx, &dir.require_domain(&domain).await?),
        DomainCommand::Set {
            domain,
            auth_type,
            ldap_base_dn,
            no_ldap_base_dn,
            transport,
            company_id,
        } => {
            let update = DomainUpdate {
                auth_type,
                ldap_base_dn: if no_ldap_base_dn {
                    Some(None)
                } else {
                    ldap_base_dn.map(Some)
                },
                transport,
                company_id: company_id.map(Some),
                is_active: None,
            };
            show(
                ctx,
                &domains::update(ctx, &actor, domain.as_str(), update).await?,
            );
        }
        DomainCommand::Enable { ref domain } | DomainCommand::Disable { ref domain } => {
            let active = matches!(cmd, DomainCommand::Enable { .. });
            let update = DomainUpdate {
                is_active: Some(active),
                ..DomainUpdate::default()
            };
            let d = domains::update(ctx, &actor, domain.as_str(), update).await?;
            let verb = if active { "enabled" } else { "disabled" };
            out.done(&format!("{verb} domain {}", d.domain_name), &d);
        }
        DomainCommand::Remove {
            domain,
            force,
            delete_mail,
        } => {
            let removed = domains::remove(ctx, &actor, domain.as_str(), force, delete_mail).await?;
            out.done(
                &format!(
                    "removed domain {} ({} user(s), {} alias(es))",
                    removed.domain_name, removed.users, removed.aliases
                ),
                &removed,
            );
        }
    }
    Ok(())
}

fn show(ctx: &AdminContext, d: &Domain) {
    ctx.output.record(
        d,
        &[
            ("domain", d.domain_name.clone()),
            ("auth", d.auth_type.to_string()),
            ("ldap base dn", or_dash(d.ldap_base_dn.as_deref())),
            ("transport", d.transport.clone()),
            (
                "company id",
                or_dash(d.company_id.map(|c| c.to_string()).as_deref()),
            ),
            ("active", yes_no(d.is_active)),
            ("users", d.users.to_string()),
            ("aliases", d.aliases.to_string()),
            ("created", d.created_at.clone()),
        ],
    );
}
