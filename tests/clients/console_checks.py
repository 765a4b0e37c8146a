#!/usr/bin/env python3
"""Checks of the admin console and API from outside, as an administrator's script and
browser would see them. Each mode prints one JSON object of what it observed (statuses,
texts); the Rust test (tests/tests/admin_console.rs) holds the expectations.

    console_checks.py matrix     # env: PORT, KEYS (JSON [[role, API key], ...]), IDS (JSON)
    console_checks.py security   # env: PORT, ADMIN, PASSWORD, VICTIM, VICTIM_PASSWORD
    console_checks.py api        # env: PORT, KEY
    console_checks.py logs       # env: PORT, ADMIN, PASSWORD, KEY, DOMAIN_ADMIN_KEY
"""
import base64
import json
import os
import sys
import time

from console_http import Console, ConsoleError, fresh_code, totp_at, current_step, remember_step

HOST = "127.0.0.1"
PORT = int(os.environ["PORT"])

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQLI = "x' OR '1'='1'; DROP TABLE users; --"


def client(source_ip=None):
    return Console(HOST, PORT, source_ip=source_ip)


def token_for(c, key):
    return c.token(key)


# ---------------------------------------------------------------------------------------------


def matrix():
    """Every endpoint as every role: the status each got."""
    keys = json.loads(os.environ["KEYS"])  # [[role, key], ...], in the order to run
    ids = json.loads(os.environ["IDS"])
    c = client()
    out = {}
    for role, key in keys:
        t = token_for(c, key)
        a_user, b_user = ids["a_user"], ids["b_user"]
        victim = ids["victims"][role]
        calls = [
            ("GET /domains", "GET", "/api/v1/domains", None),
            ("POST /domains", "POST", "/api/v1/domains", {"name": "new-%s.test" % role.replace("_", "-")}),
            ("PATCH /domains/a", "PATCH", "/api/v1/domains/a.test", {"ldap_base_dn": None}),
            ("GET /users", "GET", "/api/v1/users", None),
            ("POST /users", "POST", "/api/v1/users",
             {"email": "new-%s@a.test" % role.replace("_", "-"), "password": "pw pw pw"}),
            ("GET /users/a", "GET", "/api/v1/users/%d" % a_user, None),
            ("PATCH /users/a name", "PATCH", "/api/v1/users/%d" % a_user, {"name": "By " + role}),
            ("PATCH /users/a quota", "PATCH", "/api/v1/users/%d" % a_user, {"quota": "3G"}),
            ("POST /users/a/password", "POST", "/api/v1/users/%d/password" % a_user,
             {"password": "reset by " + role}),
            ("DELETE /users/victim", "DELETE", "/api/v1/users/%d" % victim, None),
            ("GET /aliases", "GET", "/api/v1/aliases", None),
            ("POST /aliases", "POST", "/api/v1/aliases",
             {"source": "al-%s@a.test" % role.replace("_", "-"), "destination": "alice@a.test"}),
            ("DELETE /aliases", "DELETE",
             "/api/v1/aliases?source=al-%s@a.test" % role.replace("_", "-"), None),
            ("GET /queue", "GET", "/api/v1/queue", None),
            ("POST /queue/x/retry", "POST", "/api/v1/queue/no-such-id/retry", None),
            ("GET /dkim", "GET", "/api/v1/dkim", None),
            ("GET /stats", "GET", "/api/v1/stats", None),
            ("GET /audit", "GET", "/api/v1/audit", None),
            ("GET /logs", "GET", "/api/v1/logs", None),
            # Another domain's objects, by id guessing and by name.
            ("GET /users/b", "GET", "/api/v1/users/%d" % b_user, None),
            ("PATCH /users/b", "PATCH", "/api/v1/users/%d" % b_user, {"quota": "1M"}),
            ("POST /users/b/password", "POST", "/api/v1/users/%d/password" % b_user,
             {"password": "stolen"}),
            ("DELETE /users/b", "DELETE", "/api/v1/users/%d" % b_user, None),
            ("POST /users in b", "POST", "/api/v1/users",
             {"email": "intruder-%s@b.test" % role.replace("_", "-"), "password": "pw pw pw"}),
            ("POST /aliases in b", "POST", "/api/v1/aliases",
             {"source": "x-%s@b.test" % role.replace("_", "-"), "destination": "alice@a.test"}),
            ("PATCH /domains/b", "PATCH", "/api/v1/domains/b.test", {"is_active": False}),
        ]
        statuses = {}
        bodies = {}
        for name, method, path, body in calls:
            s, b = c.api(method, path, body, token=t)
            statuses[name] = s
            bodies[name] = b
        # What the role sees in the lists.
        seen_users = sorted(u["email"] for u in (bodies["GET /users"] or {}).get("items", [])) \
            if statuses["GET /users"] == 200 else None
        s, b = c.api("GET", "/api/v1/users?domain=b.test", token=t)
        seen_domains = sorted(d["domain_name"] for d in bodies["GET /domains"]) \
            if statuses["GET /domains"] == 200 else None
        errors = {k: (v or {}).get("error", {}).get("code") for k, v in bodies.items()
                  if isinstance(v, dict) and "error" in v}
        out[role] = {"statuses": statuses, "users": seen_users, "domains": seen_domains,
                     "users_of_b": (b or {}).get("total") if s == 200 else s,
                     "error_codes": errors}
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------


def security():
    admin, password = os.environ["ADMIN"], os.environ["PASSWORD"]
    out = {}

    # Session fixation: the cookie from before the login is worthless after it.
    c = client()
    c.get("/login")
    pre = c.session
    secret = c.login(admin, password)
    out["fixation_new_id"] = c.session != pre
    old = client()
    old.cookies = {"baedal_session": pre}
    r = old.get("/", follow=False)
    out["fixation_pre_cookie"] = [r.status, r.location_path]
    cookie_headers = [h for h in c.set_cookie_headers if h.startswith("baedal_session=") and "Max-Age=0" not in h]
    out["cookie_attributes"] = sorted({a.strip().split("=")[0] for h in cookie_headers
                                       for a in h.split(";")[1:]})

    # CSRF: a POST without the token, and with a wrong one, changes nothing.
    c.get("/domains")
    r = c.post_form("/domains", {"name": "nocsrf.test", "auth_type": "local"}, csrf=False)
    out["csrf_missing"] = r.status
    r = c.post_form("/domains", {"name": "nocsrf.test", "auth_type": "local"}, csrf="forged")
    out["csrf_forged"] = r.status
    out["csrf_domain_created"] = "nocsrf.test" in c.get("/domains").find(id="domains").text()

    # Injection and markup in every text field: stored as typed, shown inert.
    r = c.post_form("/domains", {"name": "inject.test", "auth_type": "ldap",
                                 "ldap_base_dn": "ou=" + XSS + SQLI})
    out["inject_domain"] = r.status
    c.get("/users")
    r = c.post_form("/users", {"email": "inject@inject.test", "password": SQLI,
                               "quota": "1G", "name": XSS, "department": SQLI})
    out["inject_user"] = [r.status, r.error_text()]
    pages = {}
    for path in ("/users?q=" + urlq(XSS), "/users?q=" + urlq(SQLI), "/users?q=inject",
                 "/domains", "/audit?object=" + urlq(SQLI), "/audit"):
        p = c.get(path)
        pages[path] = {"status": p.status,
                       "raw_script": "<script>alert" in p.body or "<img src=x" in p.body,
                       "escaped": "&lt;script&gt;" in p.body}
    out["pages"] = pages
    csv = c.get("/audit.csv")
    out["audit_csv"] = [csv.status, csv.header("Content-Type"), csv.header("Content-Disposition"),
                        "inject@inject.test" in csv.body]
    row = c.get("/users?q=inject").find(id="users")
    out["inject_row_text"] = row.text() if row else None
    c.get("/aliases")
    r = c.post_form("/aliases", {"source": XSS, "destination": "x@inject.test"})
    out["inject_alias_status"] = r.status
    out["inject_alias_raw"] = "<script>alert" in r.body

    # Roles on pages too: log in a viewer and try what a viewer may not.
    viewer = client()
    viewer.login(os.environ["VIEWER"], os.environ["VIEWER_PASSWORD"])
    out["viewer_pages"] = {p: viewer.get(p, follow=False).status
                           for p in ("/", "/users", "/audit", "/queue", "/domains", "/dkim")}
    viewer.get("/users")
    r = viewer.post_form("/users", {"email": "byviewer@a.test", "password": "pw", "quota": "1G"})
    out["viewer_create_user"] = r.status

    # TOTP replay: a code used for one login does not work for a second within its window.
    d = client()
    r = d.login_password(admin, password)
    code = fresh_code(secret)
    t = d.submit_totp(code)
    out["totp_first"] = [t.status, t.location_path]
    e = client()
    e.login_password(admin, password)
    t2 = e.submit_totp(code)
    out["totp_replay"] = [t2.status, t2.location_path, t2.error_text()]

    # Logout everywhere ends the other sessions.
    d.get("/account")
    d.post_form("/account/logout-everywhere", {})
    r = c.get("/", follow=False)
    out["after_logout_everywhere"] = [r.status, r.location_path]

    # The allowlist: another loopback address gets 403 forbidden_address, console and API.
    far = client("127.0.0.2")
    r = far.get("/login", follow=False)
    s, body = far.api("POST", "/api/v1/token", {"api_key": "x"})
    out["allowlist"] = [r.status, s, (body or {}).get("error", {}).get("code")]

    # Throttle per account: wrong passwords, then even the right one is refused.
    victim, victim_pw = os.environ["VICTIM"], os.environ["VICTIM_PASSWORD"]
    v = client()
    tries = []
    for _ in range(6):
        tries.append(v.login_password(victim, "wrong").status)
    tries.append(v.login_password(victim, victim_pw).status)
    out["throttle_account"] = tries
    # Other accounts from the same address still log in.
    w = client()
    out["throttle_other_account"] = w.login_password(os.environ["VIEWER"], os.environ["VIEWER_PASSWORD"]).status
    # Throttle per address: unknown names from 127.0.0.3, then 429 there, not elsewhere.
    x = client("127.0.0.3")
    statuses = [x.login_password("nobody%d" % i, "wrong").status for i in range(int(os.environ["PER_IP"]))]
    statuses.append(x.login_password(os.environ["VIEWER"], os.environ["VIEWER_PASSWORD"]).status)
    out["throttle_ip"] = statuses
    print(json.dumps(out))


def urlq(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


# ---------------------------------------------------------------------------------------------


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def api():
    """Each endpoint with good and bad input, and forged tokens."""
    c = client()
    t = c.token(os.environ["KEY"])
    out = {}

    def call(name, method, path, body=None, token=t):
        s, b = c.api(method, path, body, token=token)
        err = (b or {}).get("error") if isinstance(b, dict) else None
        out[name] = {"status": s, "code": err and err.get("code"), "field": err and err.get("field"),
                     "body": b if s < 300 else None}
        return s, b

    call("token bad key", "POST", "/api/v1/token", {"api_key": "bdk_nope"}, token=None)
    call("token bad json", "POST", "/api/v1/token", "{not json", token=None)
    call("no token", "GET", "/api/v1/users", token=None)
    header, claims, sig = t.split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged_claims["exp"] = forged_claims["exp"] + 86400
    call("wrong signature", "GET", "/api/v1/users",
         token="%s.%s.%s" % (header, b64(json.dumps(forged_claims).encode()), sig))
    call("alg none", "GET", "/api/v1/users",
         token="%s.%s." % (b64(b'{"alg":"none","typ":"JWT"}'), claims))
    call("garbage token", "GET", "/api/v1/users", token="abc")

    call("domain create", "POST", "/api/v1/domains", {"name": "api.test", "auth_type": "local"})
    call("domain create again", "POST", "/api/v1/domains", {"name": "api.test"})
    call("domain bad name", "POST", "/api/v1/domains", {"name": "not a domain"})
    call("domain bad auth", "POST", "/api/v1/domains", {"name": "x.test", "auth_type": "kerberos"})
    call("domain missing name", "POST", "/api/v1/domains", {})
    call("domain unknown field", "POST", "/api/v1/domains", {"name": "y.test", "colour": "red"})
    call("domain disable", "PATCH", "/api/v1/domains/api.test", {"is_active": False})
    call("domain enable", "PATCH", "/api/v1/domains/api.test", {"is_active": True})
    call("domain patch unknown", "PATCH", "/api/v1/domains/none.test", {"is_active": True})
    call("domain list", "GET", "/api/v1/domains")

    s, u = call("user create", "POST", "/api/v1/users",
                {"email": "dana@api.test", "password": "first pw", "quota": "2G", "name": "Dana"})
    uid = (u or {}).get("id", 0)
    call("user create again", "POST", "/api/v1/users", {"email": "dana@api.test", "password": "x"})
    call("user bad email", "POST", "/api/v1/users", {"email": "dana"})
    call("user unknown domain", "POST", "/api/v1/users", {"email": "dana@nowhere.test"})
    call("user bad quota", "POST", "/api/v1/users", {"email": "eve@api.test", "quota": "lots"})
    call("user negative quota", "POST", "/api/v1/users", {"email": "eve@api.test", "quota": -5})
    call("user bad json", "POST", "/api/v1/users", b"{\"email\": ")
    call("user wrong type", "POST", "/api/v1/users", {"email": 42})
    call("user get", "GET", "/api/v1/users/%d" % uid)
    call("user get missing", "GET", "/api/v1/users/999999")
    call("user get not a number", "GET", "/api/v1/users/abc")
    call("user quota", "PATCH", "/api/v1/users/%d" % uid, {"quota": 1073741824})
    call("user disable", "PATCH", "/api/v1/users/%d" % uid, {"is_active": False})
    call("user enable", "PATCH", "/api/v1/users/%d" % uid, {"is_active": True})
    call("user password", "POST", "/api/v1/users/%d/password" % uid, {"password": "second pw"})
    call("user password empty", "POST", "/api/v1/users/%d/password" % uid, {"password": ""})
    call("user password missing", "POST", "/api/v1/users/%d/password" % uid, {})
    call("users search", "GET", "/api/v1/users?q=dana&limit=10")
    call("users bad limit", "GET", "/api/v1/users?limit=100000")
    call("users bad offset", "GET", "/api/v1/users?offset=-1")
    call("users not a number", "GET", "/api/v1/users?limit=ten")

    call("alias create", "POST", "/api/v1/aliases", {"source": "info@api.test", "destination": "dana@api.test"})
    call("alias create again", "POST", "/api/v1/aliases", {"source": "info@api.test", "destination": "dana@api.test"})
    call("alias bad destination", "POST", "/api/v1/aliases", {"source": "x@api.test", "destination": "nope"})
    call("alias list", "GET", "/api/v1/aliases?domain=api.test")
    call("alias delete", "DELETE", "/api/v1/aliases?source=info@api.test")
    call("alias delete missing", "DELETE", "/api/v1/aliases?source=info@api.test")

    call("queue list", "GET", "/api/v1/queue")
    call("queue retry missing", "POST", "/api/v1/queue/nothing/retry")
    call("queue delete missing", "DELETE", "/api/v1/queue/nothing")
    call("dkim", "GET", "/api/v1/dkim")
    call("stats", "GET", "/api/v1/stats")
    call("audit", "GET", "/api/v1/audit?limit=500")
    call("audit bad limit", "GET", "/api/v1/audit?limit=0")
    call("unknown endpoint", "GET", "/api/v1/nothing")
    call("user delete", "DELETE", "/api/v1/users/%d" % uid)
    call("user delete again", "DELETE", "/api/v1/users/%d" % uid)
    print(json.dumps(out))


def logs():
    """The event log through the API (as the super administrator and as a domain
    administrator) and on the console's logs page."""
    c = client()
    out = {}

    def call(name, path, key):
        s, b = c.api("GET", path, token=c.token(key))
        err = (b or {}).get("error") if isinstance(b, dict) else None
        out[name] = {"status": s, "code": err and err.get("code"), "field": err and err.get("field"),
                     "items": (b or {}).get("items") if s == 200 else None,
                     "total": (b or {}).get("total") if s == 200 else None}

    key, da_key = os.environ["KEY"], os.environ["DOMAIN_ADMIN_KEY"]
    call("all", "/api/v1/logs?limit=1000", key)
    call("auth alice", "/api/v1/logs?kind=auth&address=alice@a.test", key)
    call("from 127.0.0.1", "/api/v1/logs?ip=127.0.0.1&limit=1000", key)
    call("in the future", "/api/v1/logs?since=%d" % (time.time() + 3600), key)
    call("bad kind", "/api/v1/logs?kind=bogus", key)
    call("bad limit", "/api/v1/logs?limit=0", key)
    call("bad since", "/api/v1/logs?since=yesterday", key)
    call("domain admin", "/api/v1/logs?limit=1000", da_key)
    call("domain admin asks for alice", "/api/v1/logs?address=alice@a.test", da_key)

    c.login(os.environ["ADMIN"], os.environ["PASSWORD"])
    page = c.get("/logs?kind=auth&address=" + urlq("a.test"))
    table = page.find(id="logs")
    rows = [[td.text() for td in tr.find_all(tag="td")] for tr in table.find_all(tag="tr")] if table else None
    out["page"] = {"status": page.status, "rows": [r for r in (rows or []) if r],
                   "raw_script": "<script>alert" in page.body}
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        {"matrix": matrix, "security": security, "api": api, "logs": logs}[sys.argv[1]]()
    except ConsoleError as e:
        print("console_checks: %s" % e, file=sys.stderr)
        sys.exit(1)
