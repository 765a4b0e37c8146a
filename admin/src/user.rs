//! `baedal user add|list|show|passwd|quota|set|enable|disable|remove`.

use baedal_storage::{ByteSize, DomainName, EmailAddress, User};
use clap::Subcommand;

use crate::ops::Actor;
use crate::ops::users::{self, UserChange, UserDraft, UserRef};
use crate::output::{or_dash, yes_no};
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (prompts for the password when stdin is a terminal)
    Add {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        /// Read the password from the first line of stdin
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// No local password: the user logs in through LDAP only
        #[arg(long)]
        no_password: bool,
        /// Mailbox quota: bytes, or with K/M/G/T (default 1G; 0 = no limit)
        #[arg(long, value_parser = input::size)]
        quota: Option<ByteSize>,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        department: Option<String>,
    },
    /// List users, optionally of one domain
    List {
        #[arg(long, value_parser = input::domain)]
        domain: Option<DomainName>,
    },
    /// Show one user
    Show {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
    },
    /// Set a new local password
    Passwd {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set the mailbox quota (bytes, or with K/M/G/T; 0 = no limit)
    Quota {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        #[arg(value_parser = input::size)]
        quota: ByteSize,
    },
    /// Change a user's name, department, quota or POP3 retention
    Set {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long, value_parser = input::size)]
        quota: Option<ByteSize>,
        /// Days to keep mail a POP3 client retrieved (0 = until the client deletes it;
        /// "default" = the site's [pop3] retention_days)
        #[arg(long, value_name = "DAYS", value_parser = input::retention)]
        pop3_retention: Option<input::Retention>,
    },
    /// Allow the user to log in and receive mail again
    Enable {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
    },
    /// Refuse the user's logins and mail, keeping the mailbox
    Disable {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
    },
    /// Remove a user (refused while they have mail, unless --delete-mail)
    Remove {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        /// Also delete the user's mailboxes and messages (their objects in the store)
        #[arg(long)]
        delete_mail: bool,
    },
}

pub async fn run(cmd: UserCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let dir = &ctx.directory;
    let out = ctx.output;
    let actor = Actor::cli();
    match cmd {
        UserCommand::Add {
            address,
            password_stdin,
            no_password,
            quota,
            name,
            department,
        } => {
            // Fail on an unknown domain before asking for a password.
            dir.require_domain(address.domain()).await?;
            let password = if no_password {
                None
            } else {
                Some(input::new_password(&address.to_string(), password_stdin)?)
            };
            let draft = UserDraft {
                email: address.to_string(),
                password,
                quota: quota.map(ByteSize::bytes),
                name,
                department,
            };
            let user = users::create(ctx, &actor, draft).await?;
            out.done(&format!("added user {}", user.email), &user);
        }
        UserCommand::List { domain } => {
            let users = dir.users(domain.as_ref()).await?;
            out.list(
                &users,
                &[
                    "EMAIL",
                    "NAME",
                    "QUOTA",
                    "USED",
                    "AUTH",
                    "ACTIVE",
                    "LAST LOGIN",
                ],
                |u| {
                    vec![
                        u.email.clone(),
                        or_dash(u.display_name.as_deref()),
                        quota_text(u.quota),
                        size_text(u.used_quota),
                        u.auth_source.to_string(),
                        yes_no(u.is_active),
                        or_dash(u.last_login.as_deref()),
                    ]
                },
            );
        }
        UserCommand::Show { address } => show(ctx, &dir.require_user(&address).await?),
        UserCommand::Passwd {
            address,
            password_stdin,
        } => {
            dir.require_user(&address).await?;
            let password = input::new_password(&address.to_string(), password_stdin)?;
            let user =
                users::set_password(ctx, &actor, &UserRef::Address(address), password).await?;
            out.done(&format!("changed the password of {}", user.email), &user);
        }
        UserCommand::Quota { address, quota } => {
            let change = UserChange {
                quota: Some(quota.bytes()),
                ..UserChange::default()
            };
            let user = users::update(ctx, &actor, &UserRef::Address(address), change).await?;
            out.done(
                &format!("quota of {} is now {}", user.email, quota_text(user.quota)),
                &user,
            );
        }
        UserCommand::Set {
            address,
            name,
            department,
            quota,
            pop3_retention,
        } => {
            let change = UserChange {
                name: name.map(Some),
                department: department.map(Some),
                quota: quota.map(ByteSize::bytes),
                pop3_retention_days: pop3_retention.map(|r| r.0),
                ..UserChange::default()
            };
            let user = users::update(ctx, &actor, &UserRef::Address(address), change).await?;
            show(ctx, &user);
        }
        UserCommand::Enable { ref address } | UserCommand::Disable { ref address } => {
            let active = matches!(cmd, UserCommand::Enable { .. });
            let change = UserChange {
                is_active: Some(active),
                ..UserChange::default()
            };
            let user =
                users::update(ctx, &actor, &UserRef::Address(address.clone()), change).await?;
            let verb = if active { "enabled" } else { "disabled" };
            out.done(&format!("{verb} user {}", user.email), &user);
        }
        UserCommand::Remove {
            address,
            delete_mail,
        } => {
            let (user, removed) =
                users::remove(ctx, &actor, &UserRef::Address(address), delete_mail).await?;
            out.done(
                &format!("removed user {} and {removed} message(s)", user.email),
                &user,
            );
        }
    }
    Ok(())
}

fn size_text(bytes: i64) -> String {
    ByteSize(u64::try_from(bytes).unwrap_or(0)).to_string()
}

fn quota_text(bytes: i64) -> String {
    if bytes == 0 {
        "unlimited".to_string()
    } else {
        size_text(bytes)
    }
}

fn show(ctx: &AdminContext, u: &User) {
    ctx.output.record(
        u,
        &[
            ("email", u.email.clone()),
            ("name", or_dash(u.display_name.as_deref())),
            ("department", or_dash(u.department.as_deref())),
            ("domain", u.domain.clone()),
            ("maildir", u.maildir_path.clone()),
            ("quota", quota_text(u.quota)),
            ("used", size_text(u.used_quota)),
            ("auth source", u.auth_source.to_string()),
            ("local password", yes_no(u.has_local_password)),
            ("active", yes_no(u.is_active)),
            (
                "pop3 retention",
                match u.pop3_retention_days {
                    None => "site default".to_string(),
                    Some(0) => "keep until deleted".to_string(),
                    Some(days) => format!("{days} days"),
                },
            ),
            ("last login", or_dash(u.last_login.as_deref())),
            ("created", u.created_at.clone()),
            ("updated", u.updated_at.clone()),
        ],
    );
}
