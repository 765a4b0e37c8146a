//! Users: list, show, create, change, reset the password, remove.

use baedal_auth::password::hash_password;
use baedal_storage::{EmailAddress, NewUser, User, UserSearch, UserUpdate};
use serde::Serialize;

use super::{Actor, Permission, audit, state};
use crate::{AdminContext, AdminError};

/// Which user: by id (console, API) or by address (CLI).
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(i64),
    Address(EmailAddress),
}

/// A new user as an administrator describes it.
#[derive(Debug, Clone, Default)]
pub struct UserDraft {
    pub email: String,
    /// `None`: no local password (LDAP only).
    pub password: Option<String>,
    pub quota: Option<u64>,
    pub name: Option<String>,
    pub department: Option<String>,
}

/// What to change of a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub quota: Option<u64>,
    pub is_active: Option<bool>,
    pub pop3_retention_days: Option<Option<i64>>,
}

/// The part of a user the audit log records (no password, no hash).
#[derive(Serialize)]
struct Recorded<'a> {
    email: &'a str,
    name: Option<&'a str>,
    department: Option<&'a str>,
    quota: i64,
    is_active: bool,
    has_local_password: bool,
    pop3_retention_days: Option<i64>,
}

fn recorded(u: &User) -> Option<serde_json::Value> {
    state(&Recorded {
        email: &u.email,
        name: u.display_name.as_deref(),
        department: u.department.as_deref(),
        quota: u.quota,
        is_active: u.is_active,
        has_local_password: u.has_local_password,
        pop3_retention_days: u.pop3_retention_days,
    })
}

/// Finds a user the actor may see under `permission` (another domain's user is `NotFound`).
pub async fn find(
    ctx: &AdminContext,
    actor: &Actor,
    permission: Permission,
    user: &UserRef,
) -> Result<User, AdminError> {
    let found = match user {
        UserRef::Id(id) => ctx.directory.user_by_id(*id).await?,
        UserRef::Address(a) => ctx.directory.user(a).await?,
    };
    let what = match user {
        UserRef::Id(id) => format!("no user with id {id}"),
        UserRef::Address(a) => format!("unknown user '{a}'"),
    };
    let found = found.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    actor.check_object(permission, &found.domain, &what)?;
    Ok(found)
}

/// A page of the users the actor may see; `search.domains` is narrowed to the actor's.
pub async fn list(
    ctx: &AdminContext,
    actor: &Actor,
    mut search: UserSearch,
) -> Result<(i64, Vec<User>), AdminError> {
    if let Some(own) = actor.domain_scope(Permission::ViewUsers)? {
        search.domains = Some(match search.domains.take() {
            Some(asked) => asked
                .into_iter()
                .filter(|d| own.iter().any(|o| o.eq_ignore_ascii_case(d)))
                .collect(),
            None => own,
        });
    }
    Ok(ctx.directory.search_users(&search).await?)
}

pub async fn create(
    ctx: &AdminContext,
    actor: &Actor,
    draft: UserDraft,
) -> Result<User, AdminError> {
    let address =
        EmailAddress::parse(draft.email.trim()).map_err(|e| AdminError::field("email", e))?;
    actor.check(Permission::ManageUsers, Some(address.domain().as_str()))?;
    // An unknown domain fails before the password is hashed.
    ctx.directory.require_domain(address.domain()).await?;
    let password_hash = match draft.password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let user = ctx
        .directory
        .add_user(NewUser {
            address,
            password_hash,
            quota: draft.quota,
            display_name: clean(draft.name),
            department: clean(draft.department),
        })
        .await?;
    audit(
        ctx,
        actor,
        "user.create",
        &user.email,
        &user.domain,
        None,
        recorded(&user),
    )
    .await?;
    Ok(user)
}

/// Changes a user. The audit action says what changed: `user.quota`, `user.enable`,
/// `user.disable`, or `user.update` for anything else (or several things at once).
pub async fn update(
    ctx: &AdminContext,
    actor: &Actor,
    user: &UserRef,
    change: UserChange,
) -> Result<User, AdminError> {
    let only_quota = change.quota.is_some()
        && change.name.is_none()
        && change.department.is_none()
        && change.is_active.is_none()
        && change.pop3_retention_days.is_none();
    let permission = if only_quota {
        Permission::ManageQuotas
    } else {
        Permission::ManageUsers
    };
    let before = find(ctx, actor, permission, user).await?;
    actor.check(permission, Some(&before.domain))?;
    let action = if only_quota {
        "user.quota"
    } else {
        match (
            change.is_active,
            &change.name,
            &change.department,
            change.quota,
        ) {
            (Some(true), None, None, None) => "user.enable",
            (Some(false), None, None, None) => "user.disable",
            _ => "user.update",
        }
    };
    let update = UserUpdate {
        display_name: change.name.map(clean),
        department: change.department.map(clean),
        quota: change.quota,
        is_active: change.is_active,
        pop3_retention_days: change.pop3_retention_days,
        ..UserUpdate::default()
    };
    apply(ctx, actor, action, &before, update, true).await
}

/// Sets a new local password (support desks may, for every domain).
pub async fn set_password(
    ctx: &AdminContext,
    actor: &Actor,
    user: &UserRef,
    password: String,
) -> Result<User, AdminError> {
    let before = find(ctx, actor, Permission::ResetPasswords, user).await?;
    let update = UserUpdate {
        password_hash: Some(Some(hash(password).await?)),
        ..UserUpdate::default()
    };
    // The audit record says that the password changed, never what to.
    apply(ctx, actor, "user.password", &before, update, false).await
}

/// Applies `update` to `before` and records `action` (with both states when `states`).
async fn apply(
    ctx: &AdminContext,
    actor: &Actor,
    action: &str,
    before: &User,
    update: UserUpdate,
    states: bool,
) -> Result<User, AdminError> {
    let after = ctx
        .directory
        .update_user(&address_of(before)?, update)
        .await?;
    let (was, is) = if states {
        (recorded(before), recorded(&after))
    } else {
        (None, None)
    };
    audit(ctx, actor, action, &after.email, &after.domain, was, is).await?;
    Ok(after)
}

/// Removes a user; with mail only when `delete_mail` (then the mail goes too).
pub async fn remove(
    ctx: &AdminContext,
    actor: &Actor,
    user: &UserRef,
    delete_mail: bool,
) -> Result<(User, usize), AdminError> {
    let before = find(ctx, actor, Permission::ManageUsers, user).await?;
    let removed = purge_mail(ctx, before.id, &before.email, delete_mail).await?;
    let gone = ctx.directory.remove_user(&address_of(&before)?).await?;
    let after = serde_json::json!({ "messages_deleted": removed });
    audit(
        ctx,
        actor,
        "user.delete",
        &gone.email,
        &gone.domain,
        recorded(&before),
        Some(after),
    )
    .await?;
    Ok((gone, removed))
}

/// Deletes a user's mail before the user goes; without `confirmed`, refuses while there is
/// any (a removed user's objects must not stay behind unreferenced).
pub(crate) async fn purge_mail(
    ctx: &AdminContext,
    user_id: i64,
    email: &str,
    confirmed: bool,
) -> Result<usize, AdminError> {
    let store = |e: baedal_storage::MailStoreError| AdminError::Failed(e.to_string());
    let count = ctx.store.message_count(user_id).await.map_err(store)?;
    if count > 0 && !confirmed {
        return Err(AdminError::Failed(format!(
            "{email} has {count} message(s): pass --delete-mail (console, API: delete_mail=true) to delete them with the user"
        )));
    }
    ctx.store.purge_user(user_id).await.map_err(store)
}

fn address_of(user: &User) -> Result<EmailAddress, AdminError> {
    EmailAddress::parse(&user.email).map_err(|e| AdminError::Failed(e.to_string()))
}

async fn hash(password: String) -> Result<String, AdminError> {
    if password.is_empty() {
        return Err(AdminError::field("password", "the password is empty"));
    }
    hash_password(password)
        .await
        .map_err(|e| AdminError::field("password", e))
}

/// Trimmed text; empty is none.
fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}
