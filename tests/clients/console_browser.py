#!/usr/bin/env python3
"""The admin console in a real browser: Debian's chromium, headless, driven by Playwright
(no browser download), with the TOTP codes computed by pyotp.

Environment:
  CONSOLE_URL     https://127.0.0.1:PORT (the admin listener; self-signed certificate)
  ADMIN_NAME      an administrator who has not enrolled TOTP yet
  ADMIN_PASSWORD  their password
  ARTIFACTS       a directory for the screenshots (dashboard.png, users.png)
  DOMAIN          a domain to create (local authentication)
  USER_EMAIL      a user to create in DOMAIN with USER_PASSWORD and a 1G quota; the script
  USER_PASSWORD   then resets the password to NEW_PASSWORD and sets the quota to 2G
  NEW_PASSWORD

Flow: log in (password, then TOTP enrolment: the secret from #totp-secret, the recovery
codes from #recovery-codes li), screenshot the dashboard, create the domain and the user,
reset the password and change the quota on the user's page, screenshot the users page,
find domain.create, user.create, user.password and user.quota in the audit log, log out,
log in again with password and a fresh TOTP code (each code is accepted once: it waits for
the next 30-s step when needed).

Prints one JSON object: {"recovery_codes": [...], "audit_actions": [...],
"totp_secret": "...", "ok": true}. Any failed expectation raises (exit code 1).
Every wait is bounded: Playwright's timeout is 15 s, the TOTP wait at most one step.
"""
import json
import os
import re
import sys
import time

import pyotp
from playwright.sync_api import sync_playwright

TIMEOUT_MS = 15_000
STEP = 30
EXPECTED_ACTIONS = ["domain.create", "user.create", "user.password", "user.quota"]

URL = os.environ["CONSOLE_URL"].rstrip("/")
ADMIN_NAME = os.environ["ADMIN_NAME"]
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
ARTIFACTS = os.environ["ARTIFACTS"]
DOMAIN = os.environ["DOMAIN"]
USER_EMAIL = os.environ["USER_EMAIL"]
USER_PASSWORD = os.environ["USER_PASSWORD"]
NEW_PASSWORD = os.environ["NEW_PASSWORD"]


class Failed(AssertionError):
    pass


def expect(cond, message):
    if not cond:
        raise Failed(message)


def path_of(page):
    """The path of the page's URL (no scheme, host or query)."""
    m = re.match(r"^[a-z]+://[^/]+(/[^?#]*)?", page.url)
    return (m.group(1) or "/") if m else page.url


def describe(page):
    """Where the browser is and what the page says, for failure messages."""
    try:
        errors = page.locator(".error").all_inner_texts()
        body = page.inner_text("body")[:1500]
    except Exception as e:  # the page may be gone
        errors, body = [], "(no body: %s)" % e
    return "at %s; .error: %r; body: %s" % (page.url, errors, body)


def expect_path(page, want, what):
    expect(path_of(page) == want, "%s: expected %s, %s" % (what, want, describe(page)))


def expect_no_error(page, what):
    errors = page.locator(".error").all_inner_texts()
    expect(not [e for e in errors if e.strip()], "%s refused: %s" % (what, describe(page)))


def submit(page, form_selector, what):
    """Clicks the form's submit button and waits for the page it leads to."""
    form = page.locator(form_selector).first
    expect(form.count() == 1, "%s: no form %s, %s" % (what, form_selector, describe(page)))
    button = form.locator("button[type=submit], input[type=submit], button:not([type])").first
    with page.expect_navigation(wait_until="load", timeout=TIMEOUT_MS):
        if button.count():
            button.click()
        else:
            form.evaluate("f => f.requestSubmit()")


def form_with(page, action):
    """A selector for the form posting to `action`."""
    return 'form[action="%s"]' % action


class Totp:
    """Codes for one secret, never a step twice (the server accepts each step once)."""

    def __init__(self, secret):
        self.totp = pyotp.TOTP(secret)
        self.last_step = None

    def fresh(self):
        step = int(time.time() // STEP)
        if self.last_step is not None and step <= self.last_step:
            time.sleep(max(0.0, (self.last_step + 1) * STEP - time.time()) + 0.5)
            step = int(time.time() // STEP)
        self.last_step = step
        return self.totp.at(step * STEP)


def log_in_password(page):
    page.goto(URL + "/login", wait_until="load")
    expect_path(page, "/login", "GET /login")
    page.fill('input[name="name"]', ADMIN_NAME)
    page.fill('input[name="password"]', ADMIN_PASSWORD)
    submit(page, form_with(page, "/login"), "password login")


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-quic",
                                          "--no-first-run", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync"],
                                    headless=True)
        try:
            context = browser.new_context(ignore_https_errors=True, locale="en-US",
                                          viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            page = context.new_page()
            result = flow(page, context)
        finally:
            browser.close()
    print(json.dumps(result))


def flow(page, context):
    # 1. Password, then enrolment (the first login).
    log_in_password(page)
    expect_path(page, "/account/totp", "the first login goes to enrolment")
    secret_el = page.locator("#totp-secret")
    secret = (secret_el.input_value() if secret_el.evaluate("e => e.tagName") == "INPUT"
              else secret_el.inner_text())
    secret = re.sub(r"\s", "", secret)
    expect(re.fullmatch(r"[A-Z2-7]+=*", secret.upper()) is not None,
           "#totp-secret is not base32: %r" % secret)
    codes = Totp(secret)
    page.fill('input[name="code"]', codes.fresh())
    submit(page, form_with(page, "/account/totp"), "TOTP enrolment")
    recovery = [c.strip() for c in page.locator("#recovery-codes li").all_inner_texts()]
    recovery = [c for c in recovery if c]
    expect(len(recovery) >= 1, "no recovery codes after enrolment: " + describe(page))

    # 2. The dashboard.
    page.goto(URL + "/", wait_until="load")
    expect_path(page, "/", "the dashboard")
    expect(page.locator("#dashboard").count() == 1, "no #dashboard: " + describe(page))
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard.png"), full_page=True)

    # 3. A domain with local authentication.
    page.goto(URL + "/domains", wait_until="load")
    page.fill('input[name="name"]', DOMAIN)
    auth = page.locator('[name="auth_type"]').first
    if auth.evaluate("e => e.tagName") == "SELECT":
        auth.select_option("local")
    else:
        page.check('input[name="auth_type"][value="local"]')
    submit(page, form_with(page, "/domains"), "create the domain")
    expect_no_error(page, "create the domain")
    page.goto(URL + "/domains", wait_until="load")
    expect(DOMAIN in page.locator("table#domains").inner_text(),
           "%s not in table#domains: %s" % (DOMAIN, describe(page)))

    # 4. A user in it, 1G.
    page.goto(URL + "/users", wait_until="load")
    page.fill('form[action="/users"] input[name="email"]', USER_EMAIL)
    page.fill('form[action="/users"] input[name="password"]', USER_PASSWORD)
    page.fill('form[action="/users"] input[name="quota"]', "1G")
    submit(page, form_with(page, "/users"), "create the user")
    expect_no_error(page, "create the user")

    # 5. Its page, from the link in the users table.
    page.goto(URL + "/users?q=" + USER_EMAIL, wait_until="load")
    row = page.locator("table#users tr", has_text=USER_EMAIL).first
    expect(row.count() == 1, "%s not in table#users: %s" % (USER_EMAIL, describe(page)))
    link = row.locator('a[href^="/users/"]').first
    expect(link.count() == 1, "no link to the user's page in its row: " + describe(page))
    href = link.get_attribute("href")
    with page.expect_navigation(wait_until="load"):
        link.click()
    user_path = path_of(page)
    expect(re.fullmatch(r"/users/\d+", user_path) is not None and user_path == href,
           "the link %r led to %s" % (href, describe(page)))

    # 6. A new password, then 2G.
    page.fill('form[action="%s/password"] input[name="password"]' % user_path, NEW_PASSWORD)
    submit(page, form_with(page, user_path + "/password"), "reset the password")
    expect_no_error(page, "reset the password")
    page.goto(URL + user_path, wait_until="load")
    page.fill('form[action="%s/quota"] input[name="quota"]' % user_path, "2G")
    submit(page, form_with(page, user_path + "/quota"), "change the quota")
    expect_no_error(page, "change the quota")

    page.goto(URL + "/users", wait_until="load")
    expect(USER_EMAIL in page.locator("table#users").inner_text(),
           "%s not in table#users: %s" % (USER_EMAIL, describe(page)))
    page.screenshot(path=os.path.join(ARTIFACTS, "users.png"), full_page=True)

    # 7. The audit log shows the four changes.
    page.goto(URL + "/audit", wait_until="load")
    audit = page.locator("table#audit")
    expect(audit.count() == 1, "no table#audit: " + describe(page))
    audit_text = audit.inner_text()
    actions = sorted(set(re.findall(r"\b[a-z_]+\.[a-z_]+\b", audit_text)))
    for action in EXPECTED_ACTIONS:
        expect(action in actions, "%s not in the audit log (%s): %s"
               % (action, actions, audit_text[:2000]))
    for obj in (DOMAIN, USER_EMAIL):
        expect(obj in audit_text, "%s not in the audit log: %s" % (obj, audit_text[:2000]))
    expect(NEW_PASSWORD not in page.content() and USER_PASSWORD not in page.content(),
           "a password shows in the audit page")

    # 8. Log out, then in again: password, then a fresh TOTP code.
    page.goto(URL + "/", wait_until="load")
    logged_in = [c["value"] for c in context.cookies() if c["name"] == "baedal_session"]
    logout = page.locator('form[action="/logout"]').first
    expect(logout.count() == 1, "no logout form: " + describe(page))
    button = page.locator('form[action="/logout"] .logout, form[action="/logout"] [name="logout"], '
                          '.logout button, form.logout button, form[action="/logout"] button').first
    with page.expect_navigation(wait_until="load"):
        if button.count():
            button.click()
        else:
            logout.evaluate("f => f.requestSubmit()")
    page.goto(URL + "/", wait_until="load")
    expect_path(page, "/login", "after logout the dashboard sends to /login")
    # The login page hands out a fresh pre-login cookie; the logged-in one is gone.
    expect(logged_in and not any(c["value"] in logged_in for c in context.cookies()),
           "the session cookie is still there after logout: %r" % context.cookies())

    log_in_password(page)
    expect_path(page, "/login/totp", "the second login asks for the TOTP code")
    page.fill('input[name="code"]', codes.fresh())
    submit(page, form_with(page, "/login/totp"), "the TOTP code")
    expect_path(page, "/", "after the TOTP code")
    expect(page.locator("#dashboard").count() == 1, "no #dashboard: " + describe(page))

    return {"recovery_codes": recovery, "audit_actions": actions, "totp_secret": secret,
            "ok": True}


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print("console_browser: %s" % e, file=sys.stderr)
        sys.exit(1)
