#!/usr/bin/env python3
"""An independent SMTP client for the end-to-end tests (Python's smtplib and raw sockets).

  smtp_client.py send HOST PORT --from A --to B [--to C ...] --file MSG
                 [--starttls CAFILE | --ssl CAFILE] [--smtputf8] [--size N] [--bdat]
                 [--login USER PASSWORD] [--login-method PLAIN|LOGIN]
                 [--source IP] [--helo NAME]
      One transaction; prints JSON {"ehlo": [...], "mail": [code, text], "rcpt": [[code, text], ...],
      "data": [code, text] or null}.
  smtp_client.py raw HOST PORT
      Sends stdin as one write (pipelined), then prints every reply line the server sends
      until it closes the connection, as JSON {"replies": ["250 ...", ...]}.
"""
import argparse
import json
import smtplib
import socket
import ssl
import sys


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def reply(r):
    code, text = r
    return [code, text.decode("utf-8", "replace") if isinstance(text, bytes) else text]


def send(args):
    data = open(args.file, "rb").read()
    # --source: connect from another loopback address (127.0.0.2, ...), as another client.
    source = (args.source, 0) if args.source else None
    if args.ssl:
        s = smtplib.SMTP_SSL(args.host, args.port, context=tls_context(args.ssl), timeout=120,
                             source_address=source)
    else:
        s = smtplib.SMTP(args.host, args.port, timeout=120, source_address=source)
    out = {"ehlo": reply(s.ehlo(args.helo))}
    if args.starttls:
        out["starttls"] = reply(s.starttls(context=tls_context(args.starttls)))
        out["ehlo"] = reply(s.ehlo(args.helo))
    if args.login:
        if args.login_method:
            s.ehlo_or_helo_if_needed()
            s.esmtp_features["auth"] = args.login_method
        try:
            out["auth"] = reply(s.login(args.login[0], args.login[1]))
        except smtplib.SMTPAuthenticationError as e:
            out["auth"] = [e.smtp_code, e.smtp_error.decode("utf-8", "replace")]
        except smtplib.SMTPNotSupportedError as e:
            out["auth"] = [0, str(e)]
    options = []
    if args.smtputf8:
        options.append("SMTPUTF8")
    if args.size is not None:
        options.append("SIZE=%d" % args.size)
    out["mail"] = reply(s.mail(args.sender, options))
    if out["mail"][0] != 250:
        out["rcpt"], out["data"] = [], None
        print(json.dumps(out))
        return
    out["rcpt"] = [reply(s.rcpt(r)) for r in args.to]
    out["data"] = None
    if out["mail"][0] == 250 and any(c == 250 for c, _ in out["rcpt"]):
        if args.bdat:
            s.putcmd("BDAT %d LAST" % len(data))
            s.send(data)
            out["data"] = reply(s.getreply())
        else:
            try:
                out["data"] = reply(s.data(data))
            except smtplib.SMTPDataError as e:
                out["data"] = [e.smtp_code, e.smtp_error.decode("utf-8", "replace")]
    try:
        s.quit()
    except (smtplib.SMTPServerDisconnected, OSError):
        pass
    print(json.dumps(out))


def raw(args):
    payload = sys.stdin.buffer.read()
    sock = socket.create_connection((args.host, args.port), timeout=30)
    sock.sendall(payload)
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    lines = [l.decode("utf-8", "replace") for l in buf.split(b"\r\n") if l]
    print(json.dumps({"replies": lines}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("--from", dest="sender", required=True)
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--starttls")
    s.add_argument("--ssl")
    s.add_argument("--smtputf8", action="store_true")
    s.add_argument("--size", type=int)
    s.add_argument("--bdat", action="store_true")
    s.add_argument("--login", nargs=2, metavar=("USER", "PASSWORD"))
    s.add_argument("--login-method", choices=["PLAIN", "LOGIN"])
    s.add_argument("--source")
    s.add_argument("--helo", default="client.test.example")
    r = sub.add_parser("raw")
    r.add_argument("host")
    r.add_argument("port", type=int)
    args = p.parse_args()
    send(args) if args.cmd == "send" else raw(args)


if __name__ == "__main__":
    main()
