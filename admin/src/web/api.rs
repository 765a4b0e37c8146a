//! `/api/v1/`: JSON over the same operations. `POST /token` trades an administrator's API
//! key for a short-lived JWT; every other call carries it as `Authorization: Bearer` and acts
//! with that administrator's current role and domains.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use baedal_storage::admins::audit::AuditQuery;
use baedal_storage::{AuthType, DomainName, DomainUpdate, UserSearch};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Console;
use super::error::ApiError;
use super::session::client_ip;
use super::token::TokenError;
use crate::AdminError;
use crate::ops::queue::QueueAction;
use crate::ops::users::{UserChange, UserDraft, UserRef};
use crate::ops::{self, Actor, Via};

type ApiResult = Result<Response, ApiError>;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/token", post(token))
        .route("/domains", get(list_domains).post(create_domain))
        .route("/domains/{name}", get(get_domain).patch(update_domain))
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{id}/password", post(user_password))
        .route(
            "/aliases",
            get(list_aliases).post(create_alias).delete(delete_alias),
        )
        .route("/queue", get(list_queue))
        .route("/queue/{id}", axum::routing::delete(delete_queued))
        .route("/queue/{id}/retry", post(retry_queued))
        .route("/dkim", get(list_dkim))
        .route("/stats", get(stats))
        .route("/audit", get(audit))
        .route("/logs", get(logs))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}

/// The administrator a bearer token stands for.
pub struct ApiActor(Actor);

impl FromRequestParts<Console> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("send Authorization: Bearer TOKEN (POST /api/v1/token)")
            })?;
        let claims = console
            .tokens()
            .verify(token, console.now())
            .map_err(|e| match e {
                TokenError::Expired => ApiError::unauthorized("the token has expired"),
                TokenError::Invalid => ApiError::unauthorized("the token is not valid"),
            })?;
        let account = console
            .ctx()
            .admins
            .by_id(claims.sub)
            .await
            .map_err(AdminError::from)?
            .filter(|a| a.is_active)
            .ok_or_else(|| ApiError::unauthorized("the administrator is disabled or gone"))?;
        Ok(Self(Actor {
            admin_id: Some(account.id),
            name: account.name,
            role: account.role,
            domains: account.domains,
            source_ip: client_ip(parts),
            via: Via::Api,
        }))
    }
}

/// The query string into `T`; a wrong one is a JSON `400` like every other error.
pub struct ApiQuery<T>(T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.uri.query() {
            None | Some("") => Ok(Self(T::default())),
            Some(q) => serde_urlencoded::from_str(q).map(Self).map_err(|e| {
                ApiError::bad_request(None, format!("the query is not the one expected: {e}"))
            }),
        }
    }
}

/// A JSON body into `T`, with the field named when one is wrong or missing.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .map(str::to_string);
        ApiError {
            field,
            ..ApiError::bad_request(None, format!("the body is not the JSON expected: {text}"))
        }
    })
}

fn ok<T: serde::Serialize>(status: StatusCode, value: &T) -> ApiResult {
    Ok((status, Json(value)).into_response())
}

/// A size: bytes as a number, or text like `"2G"`.
fn quota_value(v: &Option<Value>) -> Result<Option<u64>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(Some("quota"), "a non-negative number of bytes")),
        Some(Value::String(s)) => s
            .parse::<baedal_storage::ByteSize>()
            .map(|b| Some(b.bytes()))
            .map_err(|e| ApiError::bad_request(Some("quota"), e.to_string())),
        Some(_) => Err(ApiError::bad_request(
            Some("quota"),
            "bytes, or a size like \"2G\"",
        )),
    }
}

fn auth_type(v: Option<&str>) -> Result<Option<AuthType>, ApiError> {
    match v {
        None => Ok(None),
        Some("local") => Ok(Some(AuthType::Local)),
        Some("ldap") => Ok(Some(AuthType::Ldap)),
        Some(_) => Err(ApiError::bad_request(Some("auth_type"), "local or ldap")),
    }
}

fn user_id(id: &str) -> Result<UserRef, ApiError> {
    id.parse::<i64>()
        .map(UserRef::Id)
        .map_err(|_| ApiError::not_found(format!("no user with id {id}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    api_key: String,
}

async fn token(State(console): State<Console>, parts: Parts, bytes: Bytes) -> ApiResult {
    let ip = client_ip(&parts);
    let key = format!("api:{ip}");
    let since = console.now() - console.config().failure_window_secs;
    let admins = &console.ctx().admins;
    if admins
        .login_failures(&key, since)
        .await
        .map_err(AdminError::from)?
        >= console.config().failures_per_ip
    {
        return Err(ApiError::too_many());
    }
    let request: TokenRequest = body(&bytes)?;
    let account = admins
        .by_api_key(
            &ops::admins::api_key_hash(request.api_key.trim()),
            console.now(),
        )
        .await
        .map_err(AdminError::from)?
        .filter(|a| a.is_active);
    let Some(account) = account else {
        let _ = admins.record_login_failure(&key, console.now()).await;
        tracing::warn!(client = %ip, "admin API: unknown API key");
        return Err(ApiError::unauthorized("unknown or disabled API key"));
    };
    let lifetime = console.config().token_secs;
    let access_token = console
        .tokens()
        .issue(account.id, &account.name, console.now(), lifetime)
        .ok_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "cannot sign")
        })?;
    ok(
        StatusCode::OK,
        &json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": lifetime }),
    )
}

async fn list_domains(State(c): State<Console>, ApiActor(a): ApiActor) -> ApiResult {
    ok(StatusCode::OK, &ops::domains::list(c.ctx(), &a).await?)
}

async fn get_domain(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
) -> ApiResult {
    ok(
        StatusCode::OK,
        &ops::domains::get(c.ctx(), &a, &name).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDomainBody {
    name: String,
    auth_type: Option<String>,
    ldap_base_dn: Option<String>,
}

async fn create_domain(State(c): State<Console>, ApiActor(a): ApiActor, bytes: Bytes) -> ApiResult {
    let b: NewDomainBody = body(&bytes)?;
    let draft = ops::domains::DomainDraft {
        name: b.name,
        auth_type: auth_type(b.auth_type.as_deref())?.unwrap_or(AuthType::Local),
        ldap_base_dn: b.ldap_base_dn,
        transport: None,
        company_id: None,
    };
    ok(
        StatusCode::CREATED,
        &ops::domains::create(c.ctx(), &a, draft).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainPatch {
    is_active: Option<bool>,
    auth_type: Option<String>,
    ldap_base_dn: Option<Option<String>>,
}

async fn update_domain(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: DomainPatch = body(&bytes)?;
    let update = DomainUpdate {
        is_active: b.is_active,
        auth_type: auth_type(b.auth_type.as_deref())?,
        ldap_base_dn: b.ldap_base_dn,
        ..DomainUpdate::default()
    };
    ok(
        StatusCode::OK,
        &ops::domains::update(c.ctx(), &a, &name, update).await?,
    )
}

#[derive(Deserialize, Default)]
struct UserQuery {
    domain: Option<String>,
    q: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

async fn list_users(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit"), "1 to 500"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(Some("offset"), "0 or more"));
    }
    let search = UserSearch {
        text: q.q.filter(|t| !t.is_empty()),
        domains: q.domain.filter(|d| !d.is_empty()).map(|d| vec![d]),
        offset,
        limit,
    };
    let (total, items) = ops::users::list(c.ctx(), &a, search).await?;
    ok(StatusCode::OK, &json!({ "total": total, "items": items }))
}

async fn get_user(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult {
    let user = ops::users::find(c.ctx(), &a, ops::Permission::ViewUsers, &user_id(&id)?).await?;
    ok(StatusCode::OK, &user)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    email: String,
    password: Option<String>,
    quota: Option<Value>,
    name: Option<String>,
    department: Option<String>,
}

async fn create_user(State(c): State<Console>, ApiActor(a): ApiActor, bytes: Bytes) -> ApiResult {
    let b: NewUserBody = body(&bytes)?;
    let draft = UserDraft {
        email: b.email,
        password: b.password,
        quota: quota_value(&b.quota)?,
        name: b.name,
        department: b.department,
    };
    ok(
        StatusCode::CREATED,
        &ops::users::create(c.ctx(), &a, draft).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    name: Option<Option<String>>,
    department: Option<Option<String>>,
    quota: Option<Value>,
    is_active: Option<bool>,
}

async fn update_user(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: UserPatch = body(&bytes)?;
    let change = UserChange {
        name: b.name,
        department: b.department,
        quota: quota_value(&b.quota)?,
        is_active: b.is_active,
        pop3_retention_days: None,
    };
    ok(
        StatusCode::OK,
        &ops::users::update(c.ctx(), &a, &user_id(&id)?, change).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

async fn user_password(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: PasswordBody = body(&bytes)?;
    ok(
        StatusCode::OK,
        &ops::users::set_password(c.ctx(), &a, &user_id(&id)?, b.password).await?,
    )
}

#[derive(Deserialize, Default)]
struct DeleteUserQuery {
    delete_mail: Option<bool>,
}

async fn delete_user(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeleteUserQuery>,
) -> ApiResult {
    let (user, _) =
        ops::users::remove(c.ctx(), &a, &user_id(&id)?, q.delete_mail.unwrap_or(false)).await?;
    ok(StatusCode::OK, &user)
}

#[derive(Deserialize, Default)]
struct AliasQuery {
    domain: Option<String>,
    source: Option<String>,
    destination: Option<String>,
}

async fn list_aliases(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<AliasQuery>,
) -> ApiResult {
    let domain = match q.domain.filter(|d| !d.is_empty()) {
        Some(d) => Some(
            DomainName::parse(&d)
                .map_err(|e| ApiError::bad_request(Some("domain"), e.to_string()))?,
        ),
        None => None,
    };
    ok(
        StatusCode::OK,
        &ops::aliases::list(c.ctx(), &a, domain.as_ref()).await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasBody {
    source: String,
    destination: String,
}

async fn create_alias(State(c): State<Console>, ApiActor(a): ApiActor, bytes: Bytes) -> ApiResult {
    let b: AliasBody = body(&bytes)?;
    let source = ops::aliases::parse_source(&b.source)?;
    let destinations = ops::aliases::parse_destinations(&b.destination)?;
    ok(
        StatusCode::CREATED,
        &ops::aliases::add(c.ctx(), &a, &source, &destinations).await?,
    )
}

async fn delete_alias(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<AliasQuery>,
) -> ApiResult {
    let source = ops::aliases::parse_source(q.source.as_deref().unwrap_or(""))?;
    let destination = match q.destination.filter(|d| !d.is_empty()) {
        Some(d) => Some(
            baedal_storage::EmailAddress::parse(&d)
                .map_err(|e| ApiError::bad_request(Some("destination"), e.to_string()))?,
        ),
        None => None,
    };
    let removed = ops::aliases::remove(c.ctx(), &a, &source, destination.as_ref()).await?;
    ok(StatusCode::OK, &json!({ "removed": removed }))
}

async fn list_queue(State(c): State<Console>, ApiActor(a): ApiActor) -> ApiResult {
    ok(StatusCode::OK, &ops::queue::list(c.ctx(), &a).await?)
}

async fn retry_queued(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult {
    ops::queue::act(c.ctx(), &a, &id, QueueAction::Retry).await?;
    ok(StatusCode::OK, &json!({ "id": id }))
}

async fn delete_queued(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult {
    ops::queue::act(c.ctx(), &a, &id, QueueAction::Delete).await?;
    ok(StatusCode::OK, &json!({ "id": id }))
}

async fn list_dkim(State(c): State<Console>, ApiActor(a): ApiActor) -> ApiResult {
    ok(StatusCode::OK, &ops::dkim::list(c.ctx(), &a).await?)
}

async fn stats(State(c): State<Console>, ApiActor(a): ApiActor) -> ApiResult {
    ok(StatusCode::OK, &ops::stats::collect(c.ctx(), &a).await?)
}

#[derive(Deserialize, Default)]
struct AuditParams {
    actor: Option<String>,
    object: Option<String>,
    action: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    offset: Option<i64>,
    limit: Option<i64>,
}

async fn audit(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit"), "1 to 1000"));
    }
    let query = AuditQuery {
        actor: p.actor,
        object: p.object,
        action: p.action,
        since: p.since,
        until: p.until,
        offset: p.offset.unwrap_or(0).max(0),
        limit,
        ..AuditQuery::default()
    };
    let (total, items) = ops::audit_log::search(c.ctx(), &a, query).await?;
    ok(StatusCode::OK, &json!({ "total": total, "items": items }))
}

#[derive(Deserialize, Default)]
struct LogParams {
    kind: Option<String>,
    address: Option<String>,
    ip: Option<String>,
    message_id: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    offset: Option<i64>,
    limit: Option<i64>,
}

async fn logs(
    State(c): State<Console>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<LogParams>,
) -> ApiResult {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit"), "1 to 1000"));
    }
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(
            baedal_storage::events::EventKind::parse(k)
                .ok_or_else(|| ApiError::bad_request(Some("kind"), "auth, delivery or error"))?,
        ),
        None => None,
    };
    let query = baedal_storage::events::EventQuery {
        kind,
        address: p.address,
        remote_ip: p.ip,
        message_id: p.message_id,
        since: p.since,
        until: p.until,
        offset: p.offset.unwrap_or(0).max(0),
        limit,
        ..Default::default()
    };
    let (total, items) = ops::logs::search(c.ctx(), &a, query).await?;
    ok(StatusCode::OK, &json!({ "total": total, "items": items }))
}
