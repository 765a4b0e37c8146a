//! The console in process, with a paused clock: idle and absolute session expiry, TOTP
//! codes accepted once, API tokens that expire, forms without the CSRF token, the allowlist.
//! (The same behaviours over the real listener, with a browser: tests/tests/admin_console.rs.)

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use baedal_admin::web::{ClientAddr, Console, PausedClock, WebConfig, totp};
use baedal_admin::{Output, ops};
use baedal_storage::{NewAdmin, Role};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::config::Config;

const START: i64 = 1_800_000_000;

struct Harness {
    console: Console,
    clock: Arc<PausedClock>,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    location: String,
    cookie: Option<String>,
    body: String,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let (db, _) = crate::database::open(&config).await.unwrap();
    let blobs = crate::blobs::open(&config, false).await;
    let ctx = crate::console::admin_context(&config, &db, blobs, Output { json: true }).unwrap();
    let hash = baedal_auth::password::hash_password("right password".into())
        .await
        .unwrap();
    ctx.admins
        .add(
            NewAdmin {
                name: "root".into(),
                role: Role::SuperAdmin,
                domains: vec![],
                password_hash: hash,
            },
            START,
        )
        .await
        .unwrap();
    let clock = Arc::new(PausedClock::at(START));
    let web = WebConfig {
        allow: baedal_admin::web::AllowList::parse(&["127.0.0.1".into()]).unwrap(),
        ..WebConfig::default()
    };
    let console = Console::new(ctx, web, clock.clone()).await.unwrap();
    Harness {
        console,
        clock,
        _dir: dir,
    }
}

impl Harness {
    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: Option<&[(&str, &str)]>,
        from: &str,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, format!("baedal_session={c}"));
        }
        let body = match form {
            Some(fields) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                serde_urlencoded::to_string(fields).unwrap()
            }
            None => String::new(),
        };
        let mut req = req.body(Body::from(body)).unwrap();
        req.extensions_mut()
            .insert(ClientAddr(from.parse::<IpAddr>().unwrap()));
        let resp = self.console.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let cookie = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("baedal_session="))
            .map(|v| v.split(';').next().unwrap().to_string());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        self.send("GET", path, cookie, None, "127.0.0.1").await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        self.send("POST", path, Some(cookie), Some(form), "127.0.0.1")
            .await
    }

    /// Logs in (enrolling TOTP); the session cookie and the secret.
    async fn login(&self) -> (String, String) {
        let (anon, r) = self.post_password().await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location, "/account/totp");
        let enrol_cookie = r.cookie.unwrap();
        assert_ne!(enrol_cookie, anon, "a new session id at login");
        let page = self.get("/account/totp", Some(&enrol_cookie)).await;
        let secret = between(&page.body, r#"<code id="totp-secret">"#, "<");
        let csrf = between(&page.body, r#"name="csrf" value=""#, "\"");
        let code = self.code(&secret, 0);
        let r = self
            .post(
                "/account/totp",
                &enrol_cookie,
                &[("csrf", &csrf), ("code", &code)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("recovery-codes"));
        (r.cookie.unwrap(), secret)
    }

    /// GET /login, then POST the right password: the pre-login cookie and the answer.
    async fn post_password(&self) -> (String, Answer) {
        let page = self.get("/login", None).await;
        let anon = page.cookie.unwrap();
        let csrf = between(&page.body, r#"name="csrf" value=""#, "\"");
        let r = self
            .post(
                "/login",
                &anon,
                &[
                    ("csrf", &csrf),
                    ("name", "root"),
                    ("password", "right password"),
                ],
            )
            .await;
        (anon, r)
    }

    /// GET /login, POST the right password: the session cookie for the TOTP step, and its
    /// form's CSRF token.
    async fn password_step(&self) -> (String, String) {
        let (_, r) = self.post_password().await;
        assert_eq!(r.location, "/login/totp");
        let c = r.cookie.unwrap();
        let page = self.get("/login/totp", Some(&c)).await;
        (c, between(&page.body, r#"name="csrf" value=""#, "\""))
    }

    fn code(&self, secret: &str, steps_ahead: i64) -> String {
        let key = data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap();
        let step = self.console.now().div_euclid(totp::STEP_SECS) + steps_ahead;
        totp::code_at(&key, step, 6)
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    text[from..][..text[from..].find(end).unwrap()].to_string()
}

#[tokio::test]
async fn idle_sessions_end_after_30_minutes() {
    let h = harness().await;
    let (cookie, _) = h.login().await;
    assert_eq!(h.get("/", Some(&cookie)).await.status, StatusCode::OK);
    // 29 minutes idle: still in; each request restarts the idle time.
    h.clock.advance(29 * 60);
    assert_eq!(h.get("/", Some(&cookie)).await.status, StatusCode::OK);
    h.clock.advance(29 * 60);
    assert_eq!(h.get("/users", Some(&cookie)).await.status, StatusCode::OK);
    // 30 minutes idle: out, and the session is gone for good.
    h.clock.advance(30 * 60);
    let r = h.get("/", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/login?expired=1");
    h.clock.advance(-30 * 60);
    assert_eq!(h.get("/", Some(&cookie)).await.location, "/login");
}

#[tokio::test]
async fn busy_sessions_end_after_12_hours() {
    let h = harness().await;
    let (cookie, _) = h.login().await;
    for _ in 0..(12 * 60 / 20 - 1) {
        h.clock.advance(20 * 60);
        assert_eq!(h.get("/", Some(&cookie)).await.status, StatusCode::OK);
    }
    h.clock.advance(20 * 60);
    assert_eq!(h.get("/", Some(&cookie)).await.location, "/login?expired=1");
}

#[tokio::test]
async fn a_totp_code_is_accepted_once() {
    let h = harness().await;
    let (cookie, secret) = h.login().await;
    let page = h.get("/", Some(&cookie)).await;
    let csrf = between(&page.body, r#"name="csrf" value=""#, "\"");
    h.post("/logout", &cookie, &[("csrf", &csrf)]).await;

    // The enrolment used this step's code: the same code again is refused, also a minute
    // later while it is still inside the ±1 step window.
    h.clock.advance(10);
    let (c, csrf) = h.password_step().await;
    let used = h.code(&secret, 0);
    let r = h
        .post("/login/totp", &c, &[("csrf", &csrf), ("code", &used)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The next step's code works once.
    h.clock.advance(totp::STEP_SECS);
    let next = h.code(&secret, 0);
    let r = h
        .post("/login/totp", &c, &[("csrf", &csrf), ("code", &next)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/");
    let (c, csrf) = h.password_step().await;
    let r = h
        .post("/login/totp", &c, &[("csrf", &csrf), ("code", &next)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "replayed code accepted");
    // An older code (two steps back) is outside the window.
    let old = h.code(&secret, -2);
    let r = h
        .post("/login/totp", &c, &[("csrf", &csrf), ("code", &old)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_other_addresses_get_403() {
    let h = harness().await;
    let (cookie, _) = h.login().await;
    let r = h
        .post(
            "/domains",
            &cookie,
            &[("name", "nocsrf.test"), ("auth_type", "local")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .post(
            "/domains",
            &cookie,
            &[
                ("csrf", "guess"),
                ("name", "nocsrf.test"),
                ("auth_type", "local"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let domains = h.console.ctx().directory.domains().await.unwrap();
    assert!(domains.is_empty(), "a forged form changed something");
    let r = h.send("GET", "/login", None, None, "127.0.0.2").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("forbidden_address"), "{}", r.body);
}

#[tokio::test]
async fn api_tokens_expire_with_the_clock() {
    let h = harness().await;
    let key = ops::admins::new_api_key(h.console.ctx(), &ops::Actor::cli(), "root")
        .await
        .unwrap();
    let mut req = Request::post("/api/v1/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"api_key":"{key}"}}"#)))
        .unwrap();
    req.extensions_mut()
        .insert(ClientAddr("127.0.0.1".parse().unwrap()));
    let resp = h.console.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap().to_string();
    let call = |token: String| {
        let mut req = Request::get("/api/v1/domains")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ClientAddr("127.0.0.1".parse().unwrap()));
        h.console.router().oneshot(req)
    };
    assert_eq!(call(token.clone()).await.unwrap().status(), StatusCode::OK);
    h.clock.advance(899);
    assert_eq!(call(token.clone()).await.unwrap().status(), StatusCode::OK);
    h.clock.advance(1);
    assert_eq!(
        call(token).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
