//! Client autoconfiguration on the HTTP listener, for the site's local domains only:
//! - Thunderbird: `GET /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=…` and
//!   `GET /mail/config-v1.1.xml?emailaddress=…` (the clientConfig 1.1 format);
//! - Outlook: `POST /autodiscover/autodiscover.xml` (POX, the request's `EMailAddress`) and
//!   `GET /autodiscover/autodiscover.json/v1.0/{address}` (v2: where the POX endpoint is);
//! - Apple Mail / iOS: `GET /mobileconfig?emailaddress=…`, a configuration profile.
//!
//! The answers name `[autoconfig] host` and its ports: IMAP and POP3 with implicit TLS,
//! submission with STARTTLS, the whole address as login, a password in TLS. An address of
//! a domain the site does not serve gets 404, a malformed one 400.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use baedal_storage::Directory;
use baedal_storage::address::EmailAddress;
use serde::Deserialize;

/// The largest Autodiscover request read.
const REQUEST_MAX: usize = 64 * 1024;

/// What clients are told (from `[autoconfig]`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub imap_port: u16,
    pub pop3_port: u16,
    pub submission_port: u16,
    /// `[mta_sts] mode` (`enforce`, `testing`, `none`) and `max_age` (seconds).
    pub mta_sts_mode: String,
    pub mta_sts_max_age: u64,
}

#[derive(Clone)]
pub struct Autoconfig {
    pub directory: Directory,
    pub settings: Arc<Settings>,
}

pub fn routes(state: Autoconfig) -> Router {
    Router::new()
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(thunderbird))
        .route("/autodiscover/autodiscover.xml", post(outlook))
        .route("/Autodiscover/Autodiscover.xml", post(outlook))
        .route(
            "/autodiscover/autodiscover.json/v1.0/{address}",
            get(outlook_v2),
        )
        .route("/mobileconfig", get(apple))
        .with_state(state)
}

#[derive(Deserialize)]
struct AddressQuery {
    emailaddress: Option<String>,
}

/// The address asked about, if it is one of a domain the site serves.
async fn local_address(state: &Autoconfig, raw: Option<&str>) -> Result<EmailAddress, Response> {
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| (StatusCode::BAD_REQUEST, "emailaddress is missing\n").into_response())?;
    let address = EmailAddress::parse(raw)
        .map_err(|_| (StatusCode::BAD_REQUEST, "not an email address\n").into_response())?;
    match state.directory.domain(address.domain()).await {
        Ok(Some(domain)) if domain.is_active => Ok(address),
        Ok(_) => Err((StatusCode::NOT_FOUND, "not a domain of this server\n").into_response()),
        Err(e) => {
            tracing::warn!(error = %e, "autoconfig: cannot read the directory");
            Err((StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response())
        }
    }
}

fn xml(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Thunderbird's clientConfig 1.1 (the element names its parser reads).
async fn thunderbird(State(state): State<Autoconfig>, Query(q): Query<AddressQuery>) -> Response {
    let address = match local_address(&state, q.emailaddress.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = &state.settings;
    let domain = escape(address.domain().as_str());
    let host = escape(&s.host);
    let server = |kind: &str, element: &str, port: u16, socket: &str| {
        format!(
            "    <{element} type=\"{kind}\">\n      <hostname>{host}</hostname>\n      \
             <port>{port}</port>\n      <socketType>{socket}</socketType>\n      \
             <authentication>password-cleartext</authentication>\n      \
             <username>%EMAILADDRESS%</username>\n    </{element}>\n"
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n  \
         <emailProvider id=\"{domain}\">\n    <domain>{domain}</domain>\n    \
         <displayName>{domain}</displayName>\n    <displayShortName>{domain}</displayShortName>\n{}{}{}  \
         </emailProvider>\n</clientConfig>\n",
        server("imap", "incomingServer", s.imap_port, "SSL"),
        server("pop3", "incomingServer", s.pop3_port, "SSL"),
        server("smtp", "outgoingServer", s.submission_port, "STARTTLS"),
    );
    xml("text/xml; charset=utf-8", body)
}

/// Outlook's POX Autodiscover: the request names the address in `<EMailAddress>`.
async fn outlook(State(state): State<Autoconfig>, body: Bytes) -> Response {
    if body.len() > REQUEST_MAX {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request too large\n").into_response();
    }
    let text = String::from_utf8_lossy(&body);
    let address = element_text(&text, "EMailAddress");
    let address = match local_address(&state, address.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = &state.settings;
    let (host, login) = (escape(&s.host), escape(&address.to_string()));
    let protocol = |kind: &str, port: u16, security: &str| {
        format!(
            "      <Protocol>\n        <Type>{kind}</Type>\n        <Server>{host}</Server>\n        \
             <Port>{port}</Port>\n        <DomainRequired>off</DomainRequired>\n        \
             <LoginName>{login}</LoginName>\n        <SPA>off</SPA>\n        {security}\n        \
             <AuthRequired>on</AuthRequired>\n      </Protocol>\n"
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n  \
         <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n    \
         <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n{}{}{}    \
         </Account>\n  </Response>\n</Autodiscover>\n",
        protocol("IMAP", s.imap_port, "<SSL>on</SSL>"),
        protocol("POP3", s.pop3_port, "<SSL>on</SSL>"),
        protocol("SMTP", s.submission_port, "<Encryption>TLS</Encryption>"),
    );
    xml("application/xml; charset=utf-8", body)
}

/// Autodiscover v2: where the POX endpoint is, for the address's domain.
async fn outlook_v2(State(state): State<Autoconfig>, Path(address): Path<String>) -> Response {
    let address = match local_address(&state, Some(&address)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let url = format!(
        "https://autodiscover.{}/autodiscover/autodiscover.xml",
        address.domain().as_str()
    );
    axum::Json(serde_json::json!({ "Protocol": "AutodiscoverV1", "Url": url })).into_response()
}

/// An Apple configuration profile with one mail account (IMAP, SMTP submission).
async fn apple(State(state): State<Autoconfig>, Query(q): Query<AddressQuery>) -> Response {
    let address = match local_address(&state, q.emailaddress.as_deref()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = &state.settings;
    let email = escape(&address.to_string());
    let domain = address.domain().as_str();
    // Reversed-DNS identifiers, one per domain; UUIDs derived from the address so that a
    // second download replaces the first profile instead of adding one.
    let reversed: Vec<&str> = domain.rsplit('.').collect();
    let identifier = escape(&format!("{}.baedal.mail", reversed.join(".")));
    let uuid = |salt: &str| pseudo_uuid(&format!("{salt}:{address}"));
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         <key>PayloadContent</key>\n<array>\n<dict>\n\
         <key>EmailAccountDescription</key><string>{email}</string>\n\
         <key>EmailAccountName</key><string>{email}</string>\n\
         <key>EmailAccountType</key><string>EmailTypeIMAP</string>\n\
         <key>EmailAddress</key><string>{email}</string>\n\
         <key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>\n\
         <key>IncomingMailServerHostName</key><string>{host}</string>\n\
         <key>IncomingMailServerPortNumber</key><integer>{imap}</integer>\n\
         <key>IncomingMailServerUseSSL</key><true/>\n\
         <key>IncomingMailServerUsername</key><string>{email}</string>\n\
         <key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>\n\
         <key>OutgoingMailServerHostName</key><string>{host}</string>\n\
         <key>OutgoingMailServerPortNumber</key><integer>{smtp}</integer>\n\
         <key>OutgoingMailServerUseSSL</key><true/>\n\
         <key>OutgoingMailServerUsername</key><string>{email}</string>\n\
         <key>OutgoingPasswordSameAsIncomingPassword</key><true/>\n\
         <key>PayloadDisplayName</key><string>{email}</string>\n\
         <key>PayloadIdentifier</key><string>{identifier}.account</string>\n\
         <key>PayloadType</key><string>com.apple.mail.managed</string>\n\
         <key>PayloadUUID</key><string>{account_uuid}</string>\n\
         <key>PayloadVersion</key><integer>1</integer>\n\
         </dict>\n</array>\n\
         <key>PayloadDisplayName</key><string>{domain_text} mail</string>\n\
         <key>PayloadIdentifier</key><string>{identifier}</string>\n\
         <key>PayloadRemovalDisallowed</key><false/>\n\
         <key>PayloadType</key><string>Configuration</string>\n\
         <key>PayloadUUID</key><string>{profile_uuid}</string>\n\
         <key>PayloadVersion</key><integer>1</integer>\n\
         </dict>\n</plist>\n",
        host = escape(&s.host),
        imap = s.imap_port,
        smtp = s.submission_port,
        domain_text = escape(domain),
        account_uuid = uuid("account"),
        profile_uuid = uuid("profile"),
    );
    let mut response = xml("application/x-apple-aspen-config; charset=utf-8", body);
    if let Ok(value) = format!("attachment; filename=\"{domain}.mobileconfig\"").parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A UUID-shaped hex string derived from `seed`: stable across runs and versions (two
/// FNV-1a 64-bit hashes), not random and not secret.
fn pseudo_uuid(seed: &str) -> String {
    let fnv = |salt: u8| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in std::iter::once(salt).chain(seed.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let hex = format!("{:016X}{:016X}", fnv(1), fnv(2));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The text of the first `<name>…</name>` (any namespace prefix), if any.
fn element_text(xml: &str, name: &str) -> Option<String> {
    let open = xml.find(&format!("{name}>"))?;
    let start = open + name.len() + 1;
    let end = xml[start..].find("</")? + start;
    Some(xml[start..end].trim().to_string())
}

/// Text for XML content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_address_is_read_with_or_without_a_prefix() {
        let pox = "<?xml version=\"1.0\"?><Autodiscover xmlns=\"x\"><Request>\
                   <EMailAddress> kim@company.kr </EMailAddress>\
                   <AcceptableResponseSchema>y</AcceptableResponseSchema></Request></Autodiscover>";
        assert_eq!(
            element_text(pox, "EMailAddress").as_deref(),
            Some("kim@company.kr")
        );
        assert_eq!(
            element_text("<a:EMailAddress>x@y.z</a:EMailAddress>", "EMailAddress").as_deref(),
            Some("x@y.z")
        );
        assert_eq!(element_text("<Request/>", "EMailAddress"), None);
    }

    #[test]
    fn uuids_are_stable_and_shaped() {
        let a = pseudo_uuid("account:kim@company.kr");
        assert_eq!(a, pseudo_uuid("account:kim@company.kr"));
        assert_ne!(a, pseudo_uuid("profile:kim@company.kr"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(escape("<a&\"b'>"), "&lt;a&amp;&quot;b&apos;&gt;");
    }
}
