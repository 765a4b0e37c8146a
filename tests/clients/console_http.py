#!/usr/bin/env python3
"""An independent client of the admin console and the JSON API (docs/console.md), for the
tests that need no browser. Standard library only.

    from console_http import Console, totp
    c = Console("127.0.0.1", port)                  # source_ip="127.0.0.2" binds the source
    secret = c.login("root", "a long passphrase 1") # enrols TOTP on the first login
    page = c.get("/users?q=alice")                  # cookies kept, redirects followed
    page.has_class("error"); page.find(id="users")  # a small DOM of the page
    c.post_form("/users", {"email": ...})           # csrf from the last page's form
    status, body = c.api("GET", "/api/v1/users", token=c.token(api_key))

TLS: the server's certificate is self-signed, so it is not checked (the tests talk to
127.0.0.1 only). Every request has a timeout: nothing here waits unbounded, except
`login`, which may sleep up to one TOTP step (30 s) so that it never reuses a step.
"""
import base64
import hashlib
import hmac
import http.client
import json
import re
import ssl
import struct
import time
import urllib.parse
from html.parser import HTMLParser

TIMEOUT = 15
STEP = 30
SESSION_COOKIE = "baedal_session"

# The last TOTP step each secret logged in with (in this process): the server accepts each
# step once, so the next login waits for a later step.
_LAST_STEP = {}


class ConsoleError(AssertionError):
    """An expectation about the console that failed, with what the server answered."""


# ---------------------------------------------------------------------------------------------
# TOTP (RFC 6238: HMAC-SHA1, 30-s steps, 6 digits)


def _secret_bytes(secret):
    s = re.sub(r"[\s-]", "", secret).upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp_at(secret, step):
    """The code of time step `step` (seconds since 1970 // 30)."""
    mac = hmac.new(_secret_bytes(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def current_step(now=None):
    return int((time.time() if now is None else now) // STEP)


def totp(secret, now=None):
    """The code for now (or for the time `now`)."""
    return totp_at(secret, current_step(now))


def fresh_code(secret):
    """A code of a step later than any this process used with `secret` (sleeping up to one
    step for it); the step is remembered."""
    last = _LAST_STEP.get(secret)
    step = current_step()
    if last is not None and step <= last:
        time.sleep(max(0.0, (last + 1) * STEP - time.time()) + 0.5)
        step = current_step()
    _LAST_STEP[secret] = step
    return totp_at(secret, step)


def remember_step(secret, step):
    """Marks `step` used (a code submitted by hand)."""
    _LAST_STEP[secret] = max(step, _LAST_STEP.get(secret, step))


# ---------------------------------------------------------------------------------------------
# A small DOM: enough to find elements by tag, id and class, and read their text.

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = {k: (v if v is not None else "") for k, v in attrs}
        self.parent = parent
        self.children = []  # Elements and strings

    @property
    def id(self):
        return self.attrs.get("id")

    @property
    def classes(self):
        return self.attrs.get("class", "").split()

    def text(self):
        parts = []
        for c in self.children:
            parts.append(c if isinstance(c, str) else c.text())
        return "".join(parts)

    def iter(self):
        for c in self.children:
            if isinstance(c, Element):
                yield c
                yield from c.iter()

    def find_all(self, tag=None, id=None, cls=None, name=None):
        out = []
        for e in self.iter():
            if tag is not None and e.tag != tag:
                continue
            if id is not None and e.id != id:
                continue
            if cls is not None and cls not in e.classes:
                continue
            if name is not None and e.attrs.get("name") != name:
                continue
            out.append(e)
        return out

    def find(self, **kw):
        found = self.find_all(**kw)
        return found[0] if found else None

    def __repr__(self):
        return "<%s %r>" % (self.tag, self.attrs)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", [])
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Element(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        # Close up to the matching open element; a stray end tag is ignored.
        e = self.cur
        while e is not None and e.tag != tag:
            e = e.parent
        if e is not None and e.parent is not None:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(text):
    b = _Builder()
    b.feed(text)
    b.close()
    return b.root


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, method, path, status, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers  # [(name, value)]
        self.body = body  # text
        self.history = []  # earlier responses of a followed redirect chain
        self._dom = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def location(self):
        """The path (and query) of the Location header, or None."""
        loc = self.header("Location")
        if loc is None:
            return None
        u = urllib.parse.urlsplit(loc)
        return u.path + ("?" + u.query if u.query else "")

    @property
    def location_path(self):
        loc = self.location
        return None if loc is None else urllib.parse.urlsplit(loc).path

    @property
    def dom(self):
        if self._dom is None:
            self._dom = parse_html(self.body)
        return self._dom

    def find(self, **kw):
        return self.dom.find(**kw)

    def find_all(self, **kw):
        return self.dom.find_all(**kw)

    def has_class(self, cls):
        return self.dom.find(cls=cls) is not None

    def error_text(self):
        return " | ".join(e.text().strip() for e in self.dom.find_all(cls="error"))

    def csrf(self):
        e = self.dom.find(tag="input", name="csrf")
        return e.attrs.get("value") if e is not None else None

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def describe(self):
        return "%s %s -> %s %s\n%s" % (self.method, self.path, self.status,
                                       self.header("Location") or "", self.body[:2000])


class Console:
    """One client of the console: its own cookies, the CSRF token of the last page."""

    def __init__(self, host, port, source_ip=None, timeout=TIMEOUT):
        self.host = host
        self.port = int(port)
        self.source_ip = source_ip
        self.timeout = timeout
        self.cookies = {}
        self.set_cookie_headers = []  # every Set-Cookie received, raw
        self.last = None  # the last Response with an HTML body
        self.last_csrf = None
        self.recovery_codes = []
        self.totp_secret = None
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    # -- transport -----------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None):
        """One request, no redirect followed. `body`: bytes or text, sent as is."""
        conn = http.client.HTTPSConnection(
            self.host, self.port, timeout=self.timeout, context=self.ctx,
            source_address=(self.source_ip, 0) if self.source_ip else None)
        h = {"Host": "%s:%d" % (self.host, self.port), "Connection": "close"}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            resp_headers = r.getheaders()
            status = r.status
        finally:
            conn.close()
        resp = Response(method, path, status, resp_headers, data.decode("utf-8", "replace"))
        for v in resp.header_all("Set-Cookie"):
            self.set_cookie_headers.append(v)
            self._store_cookie(v)
        ctype = resp.header("Content-Type") or ""
        if "html" in ctype:
            self.last = resp
            token = resp.csrf()
            if token:
                self.last_csrf = token
        return resp

    def _store_cookie(self, header):
        first, _, attrs = header.partition(";")
        name, _, value = first.strip().partition("=")
        expired = False
        for a in attrs.split(";"):
            k, _, v = a.strip().partition("=")
            if k.lower() == "max-age" and v.strip().lstrip("-").isdigit() and int(v) <= 0:
                expired = True
        if expired or value == "":
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def _follow(self, resp, follow):
        hops = 0
        history = []
        while follow and resp.status in (301, 302, 303, 307, 308) and resp.location:
            hops += 1
            if hops > 10:
                raise ConsoleError("too many redirects: " + resp.describe())
            history.append(resp)
            resp = self.request("GET", resp.location)
        resp.history = history
        return resp

    @property
    def session(self):
        return self.cookies.get(SESSION_COOKIE)

    # -- pages ---------------------------------------------------------------------------

    def get(self, path, follow=True):
        return self._follow(self.request("GET", path), follow)

    def post_form(self, path, fields, csrf=True, follow=True):
        """POSTs `fields` (a dict, or a list of pairs for repeated names) as a form.
        csrf=True adds the `csrf` of the last page (unless `fields` has one), False sends
        none, a string sends that value."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if not any(k == "csrf" for k, _ in pairs):
            if csrf is True:
                if not self.last_csrf:
                    raise ConsoleError("no csrf token on the last page before POST " + path)
                pairs.insert(0, ("csrf", self.last_csrf))
            elif isinstance(csrf, str):
                pairs.insert(0, ("csrf", csrf))
        body = urllib.parse.urlencode(pairs)
        resp = self.request("POST", path, body,
                            {"Content-Type": "application/x-www-form-urlencoded"})
        return self._follow(resp, follow)

    # -- login ---------------------------------------------------------------------------

    def login_password(self, name, password):
        """GET /login, POST name and password; returns the POST's response (not followed)."""
        page = self.get("/login")
        if page.status != 200:
            raise ConsoleError("GET /login: " + page.describe())
        return self.post_form("/login", {"name": name, "password": password}, follow=False)

    def submit_totp(self, code):
        """GET /login/totp, POST the code; returns the POST's response (not followed)."""
        page = self.get("/login/totp")
        if page.status != 200:
            raise ConsoleError("GET /login/totp: " + page.describe())
        return self.post_form("/login/totp", {"code": code}, follow=False)

    def enrol(self):
        """On /account/totp: reads the secret, confirms a code, records the recovery codes.
        Returns the secret."""
        page = self.get("/account/totp")
        e = page.find(id="totp-secret")
        if page.status != 200 or e is None:
            raise ConsoleError("no #totp-secret on /account/totp: " + page.describe())
        secret = re.sub(r"\s", "", e.attrs.get("value") or e.text())
        done = self.post_form("/account/totp", {"code": fresh_code(secret)})
        box = done.find(id="recovery-codes")
        codes = [li.text().strip() for li in box.find_all(tag="li")] if box else []
        if done.status != 200 or not codes:
            raise ConsoleError("no recovery codes after enrolment: " + done.describe())
        self.recovery_codes = codes
        self.totp_secret = secret
        return secret

    def login(self, name, password, totp_secret=None):
        """Password, then TOTP: enrols when the server sends the account to /account/totp
        (returns the new secret), else submits a fresh code of `totp_secret`. Raises unless
        the session ends logged in (GET / is the dashboard)."""
        r = self.login_password(name, password)
        if r.status != 303:
            raise ConsoleError("password step refused: " + r.describe())
        secret = totp_secret
        if r.location_path == "/account/totp":
            secret = self.enrol()
        elif r.location_path == "/login/totp":
            if not totp_secret:
                raise ConsoleError("the server asks for a TOTP code and no secret is known")
            t = self.submit_totp(fresh_code(totp_secret))
            if t.status != 303 or t.location_path != "/":
                raise ConsoleError("TOTP step refused: " + t.describe())
        else:
            raise ConsoleError("password step went to %r: %s" % (r.location, r.describe()))
        home = self.get("/", follow=False)
        if home.status != 200 or home.find(id="dashboard") is None:
            raise ConsoleError("not logged in after login: " + home.describe())
        self.totp_secret = secret
        return secret

    def logout(self):
        page = self.get("/")
        r = self.post_form("/logout", {}, follow=False)
        if r.status not in (200, 302, 303):
            raise ConsoleError("logout: " + r.describe())
        return r

    # -- API -----------------------------------------------------------------------------

    def api(self, method, path, body=None, token=None, headers=None):
        """A JSON API call: (status, parsed JSON or None). `body`: an object sent as JSON,
        or bytes/text sent as is (bad JSON). Cookies are not sent."""
        h = {"Accept": "application/json"}
        if body is not None:
            h["Content-Type"] = "application/json"
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        saved, self.cookies = self.cookies, {}
        try:
            r = self.request(method, path, body, h)
        finally:
            self.cookies = saved
        return r.status, r.json()

    def token(self, api_key):
        status, body = self.api("POST", "/api/v1/token", {"api_key": api_key})
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise ConsoleError("POST /api/v1/token: %s %r" % (status, body))
        return body["access_token"]
