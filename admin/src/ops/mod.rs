//! The administrator's operations, one function each, shared by every face: the CLI, the
//! web console and the JSON API (DESIGN: administration has one implementation). Each takes
//! the [`Actor`], checks the role and its domains, makes the change and appends its audit
//! record. The faces only parse input and show results.

pub mod admins;
pub mod aliases;
pub mod audit_log;
pub mod dkim;
pub mod domains;
pub mod logs;
pub mod queue;
pub mod stats;
pub mod users;

use baedal_storage::Role;
use baedal_storage::admins::audit::NewAuditEntry;
use serde::Serialize;

use crate::{AdminContext, AdminError};

/// Through which face an action came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Cli,
    Console,
    Api,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Console => "console",
            Self::Api => "api",
        }
    }
}

/// Who acts: an administrator with a role (and, for a domain administrator, domains), from
/// an address, through a face. The CLI on the host acts as the local root administrator.
#[derive(Debug, Clone)]
pub struct Actor {
    pub admin_id: Option<i64>,
    pub name: String,
    pub role: Role,
    pub domains: Vec<String>,
    pub source_ip: String,
    pub via: Via,
}

/// One row of the site's permission table (docs/console.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ViewDomains,
    ManageDomains,
    ViewUsers,
    ManageUsers,
    ManageQuotas,
    ResetPasswords,
    ManageAliases,
    ViewLogs,
    ViewStats,
    ManageQueue,
    ManageDkim,
    ManageQuarantine,
    ViewAudit,
    ManageAdmins,
}

impl Actor {
    /// The CLI on the host: the local root administrator (named after the Unix user).
    pub fn cli() -> Self {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "root".into());
        Self {
            admin_id: None,
            name: format!("cli:{user}"),
            role: Role::SuperAdmin,
            domains: Vec::new(),
            source_ip: "local".into(),
            via: Via::Cli,
        }
    }

    /// Whether the role has `permission` at all, and whether only for its own domains.
    fn grant(&self, permission: Permission) -> Grant {
        use Permission::*;
        match self.role {
            Role::SuperAdmin => Grant::All,
            Role::DomainAdmin => match permission {
                ViewDomains | ViewUsers | ManageUsers | ManageQuotas | ResetPasswords
                | ManageAliases | ViewLogs => Grant::OwnDomains,
                _ => Grant::None,
            },
            Role::Support => match permission {
                ViewUsers | ResetPasswords | ViewLogs => Grant::All,
                _ => Grant::None,
            },
            Role::Viewer => match permission {
                ViewUsers | ViewStats => Grant::All,
                _ => Grant::None,
            },
        }
    }

    /// Whether the actor may do `permission` at all (which pages and buttons to show; the
    /// server still checks each action).
    pub fn may(&self, permission: Permission) -> bool {
        !matches!(self.grant(permission), Grant::None)
    }

    /// Refuses (`Forbidden`) unless the role has `permission`, for `domain` when given.
    pub fn check(&self, permission: Permission, domain: Option<&str>) -> Result<(), AdminError> {
        match (self.grant(permission), domain) {
            (Grant::All, _) => Ok(()),
            (Grant::OwnDomains, None) => Ok(()),
            (Grant::OwnDomains, Some(d)) if self.owns(d) => Ok(()),
            (Grant::OwnDomains, Some(d)) => Err(AdminError::Forbidden(format!(
                "{} does not manage the domain {d}",
                self.name
            ))),
            (Grant::None, _) => Err(AdminError::Forbidden(format!(
                "the role {} may not do this",
                self.role
            ))),
        }
    }

    /// For an object found by id: refuses a role without `permission` (`Forbidden`), and
    /// answers `NotFound` for an object of another domain, as for one that does not exist,
    /// so that ids cannot be probed.
    pub fn check_object(
        &self,
        permission: Permission,
        domain: &str,
        what: &str,
    ) -> Result<(), AdminError> {
        match self.grant(permission) {
            Grant::All => Ok(()),
            Grant::OwnDomains if self.owns(domain) => Ok(()),
            Grant::OwnDomains => Err(AdminError::NotFound(what.to_string())),
            Grant::None => self.check(permission, None),
        }
    }

    /// The domains whose objects the actor sees under `permission`: `None` for all.
    pub fn domain_scope(&self, permission: Permission) -> Result<Option<Vec<String>>, AdminError> {
        match self.grant(permission) {
            Grant::All => Ok(None),
            Grant::OwnDomains => Ok(Some(self.domains.clone())),
            Grant::None => self.check(permission, None).map(|()| None),
        }
    }

    fn owns(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

enum Grant {
    All,
    OwnDomains,
    None,
}

/// One audit record: what `actor` changed, before and after (never a secret).
pub(crate) async fn audit(
    ctx: &AdminContext,
    actor: &Actor,
    action: &str,
    object: &str,
    domain: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AdminError> {
    ctx.admins
        .append_audit(NewAuditEntry {
            at: baedal_storage::clock::now_secs(),
            actor: &actor.name,
            role: actor.role.as_str(),
            source_ip: &actor.source_ip,
            via: actor.via.as_str(),
            action,
            object,
            domain,
            before,
            after,
        })
        .await
        .map_err(|e| AdminError::Failed(format!("cannot write the audit record: {e}")))
}

/// `value` as JSON for an audit record.
pub(crate) fn state<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}
