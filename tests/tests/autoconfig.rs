//! Client autoconfiguration on the HTTP listener, read as the clients read it: Thunderbird's
//! clientConfig 1.1 elements, Outlook's POX Autodiscover answer to an Outlook request body
//! (and the v2 JSON), an Apple `.mobileconfig` parsed by Python's plistlib. Only the site's
//! domains get an answer.

use baedal_tests::{Site, on_both_profiles, python};

on_both_profiles!(clients_set_themselves_up_from_the_http_listener);

/// RFC 8461 §3.2: the policy at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (the HTTP
/// listener sits behind the site's HTTPS proxy, which keeps the Host header).
#[test]
fn each_domain_serves_its_mta_sts_policy() {
    let site = Site::with_config(
        baedal_tests::Profile::Sqlite,
        "\n[autoconfig]\nhost = \"mail.company.kr\"\n[mta_sts]\nmode = \"enforce\"\nmax_age = 604800\n",
    );
    site.add_users("company.kr", &["kim"]);
    let server = site.serve();
    let addr = server.addr("http");
    let get = |host: &str| {
        python::run(
            r#"
import http.client, json, os
c = http.client.HTTPConnection(os.environ["ADDR"].rsplit(":", 1)[0], int(os.environ["ADDR"].rsplit(":", 1)[1]), timeout=10)
c.request("GET", "/.well-known/mta-sts.txt", headers={"Host": os.environ["HOST"]})
r = c.getresponse()
print(json.dumps({"status": r.status, "type": r.getheader("Content-Type"), "body": r.read().decode()}))
"#,
            &[("ADDR", addr.to_string()), ("HOST", host.to_string())],
        )
    };
    let policy = get("mta-sts.company.kr");
    assert_eq!(policy["status"], 200, "{policy}");
    assert_eq!(policy["type"], "text/plain");
    assert_eq!(
        policy["body"],
        "version: STSv1\r\nmode: enforce\r\nmx: mail.company.kr\r\nmax_age: 604800\r\n"
    );
    assert_eq!(get("MTA-STS.Company.KR:443")["status"], 200);
    assert_eq!(get("mta-sts.elsewhere.test")["status"], 404);
    assert_eq!(get("company.kr")["status"], 404);
}

fn clients_set_themselves_up_from_the_http_listener(profile: baedal_tests::Profile) {
    let site = Site::with_config(
        profile,
        "\n[autoconfig]\nhost = \"mail.company.kr\"\nsubmission_port = 587\n",
    );
    site.add_users("company.kr", &["kim"]);
    site.cli(&["domain", "add", "off.test"]).ok();
    site.cli(&["domain", "disable", "off.test"]).ok();
    let server = site.serve();
    let r = python::run(
        r#"
import json, os, plistlib, urllib.error, urllib.request, xml.etree.ElementTree as ET
base = os.environ["URL"]
def get(path, data=None, headers={}):
    req = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()
out = {}

# Thunderbird (both paths it tries).
for key, path in (("tb", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=kim%40company.kr"),
                  ("tb2", "/mail/config-v1.1.xml?emailaddress=kim@company.kr")):
    status, ctype, body = get(path)
    root = ET.fromstring(body)
    p = root.find("emailProvider")
    servers = {}
    for s in p.findall("incomingServer") + p.findall("outgoingServer"):
        servers[s.get("type")] = {c.tag: c.text for c in s}
    out[key] = {"status": status, "ctype": ctype, "root": root.tag, "version": root.get("version"),
                "id": p.get("id"), "domain": p.findtext("domain"), "servers": servers}
out["tb_unknown"] = get("/mail/config-v1.1.xml?emailaddress=kim@elsewhere.test")[0]
out["tb_disabled"] = get("/mail/config-v1.1.xml?emailaddress=kim@off.test")[0]
out["tb_bad"] = get("/mail/config-v1.1.xml?emailaddress=%3Cscript%3E")[0]
out["tb_missing"] = get("/mail/config-v1.1.xml")[0]

# Outlook: the request body Outlook sends.
request = (b'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
           b'exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>kim@company.kr'
           b'</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/'
           b'outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
status, ctype, body = get("/autodiscover/autodiscover.xml", request, {"Content-Type": "text/xml"})
ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
      "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
root = ET.fromstring(body)
account = root.find("o:Response/o:Account", ns)
protocols = {}
for p in account.findall("o:Protocol", ns):
    protocols[p.findtext("o:Type", namespaces=ns)] = {c.tag.split("}")[1]: c.text for c in p}
out["outlook"] = {"status": status, "ctype": ctype, "root": root.tag,
                  "type": account.findtext("o:AccountType", namespaces=ns),
                  "action": account.findtext("o:Action", namespaces=ns), "protocols": protocols}
out["outlook_unknown"] = get("/autodiscover/autodiscover.xml", request.replace(b"company.kr", b"elsewhere.test"))[0]
out["outlook_empty"] = get("/autodiscover/autodiscover.xml", b"<Autodiscover/>")[0]
out["outlook_huge"] = get("/autodiscover/autodiscover.xml", b"x" * 100000)[0]
status, ctype, body = get("/autodiscover/autodiscover.json/v1.0/kim@company.kr?Protocol=AutodiscoverV1")
out["v2"] = {"status": status, "body": json.loads(body)}

# Apple: a configuration profile.
status, ctype, body = get("/mobileconfig?emailaddress=kim@company.kr")
profile = plistlib.loads(body)
out["apple"] = {"status": status, "ctype": ctype, "type": profile["PayloadType"],
                "account": {k: v for k, v in profile["PayloadContent"][0].items()},
                "uuid_again": plistlib.loads(get("/mobileconfig?emailaddress=kim@company.kr")[2])["PayloadUUID"] == profile["PayloadUUID"]}
print(json.dumps(out))
"#,
        &[("URL", format!("http://{}", server.addr("http")))],
    );

    for key in ["tb", "tb2"] {
        let tb = &r[key];
        assert_eq!(tb["status"], 200, "{tb}");
        assert!(
            tb["ctype"].as_str().unwrap().starts_with("text/xml"),
            "{tb}"
        );
        assert_eq!(tb["root"], "clientConfig");
        assert_eq!(tb["version"], "1.1");
        assert_eq!(tb["id"], "company.kr");
        assert_eq!(tb["domain"], "company.kr");
        let imap = &tb["servers"]["imap"];
        assert_eq!(imap["hostname"], "mail.company.kr", "{tb}");
        assert_eq!(imap["port"], "993");
        assert_eq!(imap["socketType"], "SSL");
        assert_eq!(imap["username"], "%EMAILADDRESS%");
        assert_eq!(imap["authentication"], "password-cleartext");
        assert_eq!(tb["servers"]["pop3"]["port"], "995");
        let smtp = &tb["servers"]["smtp"];
        assert_eq!(smtp["port"], "587", "{tb}");
        assert_eq!(smtp["socketType"], "STARTTLS");
    }
    assert_eq!(r["tb_unknown"], 404);
    assert_eq!(r["tb_disabled"], 404);
    assert_eq!(r["tb_bad"], 400);
    assert_eq!(r["tb_missing"], 400);

    let o = &r["outlook"];
    assert_eq!(o["status"], 200, "{o}");
    assert_eq!(o["type"], "email");
    assert_eq!(o["action"], "settings");
    let imap = &o["protocols"]["IMAP"];
    assert_eq!(imap["Server"], "mail.company.kr", "{o}");
    assert_eq!(imap["Port"], "993");
    assert_eq!(imap["SSL"], "on");
    assert_eq!(imap["LoginName"], "kim@company.kr");
    let smtp = &o["protocols"]["SMTP"];
    assert_eq!(smtp["Port"], "587");
    assert_eq!(smtp["Encryption"], "TLS");
    assert_eq!(smtp["AuthRequired"], "on");
    assert_eq!(r["outlook_unknown"], 404);
    assert_eq!(r["outlook_empty"], 400);
    assert_eq!(r["outlook_huge"], 413);
    assert_eq!(r["v2"]["status"], 200);
    assert_eq!(
        r["v2"]["body"]["Url"],
        "https://autodiscover.company.kr/autodiscover/autodiscover.xml"
    );

    let a = &r["apple"];
    assert_eq!(a["status"], 200, "{a}");
    assert!(
        a["ctype"]
            .as_str()
            .unwrap()
            .starts_with("application/x-apple-aspen-config"),
        "{a}"
    );
    assert_eq!(a["type"], "Configuration");
    let account = &a["account"];
    assert_eq!(account["PayloadType"], "com.apple.mail.managed");
    assert_eq!(account["EmailAddress"], "kim@company.kr");
    assert_eq!(account["IncomingMailServerHostName"], "mail.company.kr");
    assert_eq!(account["IncomingMailServerPortNumber"], 993);
    assert_eq!(account["IncomingMailServerUseSSL"], true);
    assert_eq!(account["OutgoingMailServerPortNumber"], 587);
    assert_eq!(
        a["uuid_again"], true,
        "a second download replaces the profile"
    );
}
