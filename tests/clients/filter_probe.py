#!/usr/bin/env python3
"""An independent client of the content filters (Rspamd, clamd), and the samples to feed them.

  filter_probe.py rspamd URL [--ip IP] [--helo H] [--from ADDR] [--rcpt ADDR]... [--queue-id ID]
                             [--hostname H] [--user U] < MESSAGE
      POST URL/checkv2 with the message as the body and those request headers (one Rcpt
      header per recipient); prints the HTTP status line, then Rspamd's JSON reply as is.
  filter_probe.py clamd ADDRESS [--chunk N] < DATA
      INSTREAM to clamd at HOST:PORT or at a Unix socket path (anything with a '/'): zINSTREAM\\0,
      DATA in chunks of N bytes (default 64 KiB, each with a 4-byte big-endian length), then
      a zero-length chunk; reads the reply to the end, even after a write error (clamd closes
      the socket when the stream passes StreamMaxLength). Prints one JSON line:
      {"reply": reply text with its trailing NUL, "sent": payload bytes written,
       "write_error": null or the error, "seconds": time to the end of the reply}.
  filter_probe.py sample KIND > FILE
      eicar        the 68-byte EICAR test file
      eicar-mime   a message with EICAR as a base64 attachment
      eicar-zip    a message with a ZIP (holding eicar.com) as a base64 attachment
      clean        a plain message
      gtube-X | gtube-Y | gtube-Z | gtube-A
                   a message whose body holds Rspamd's test pattern: X reject, Y add header,
                   Z rewrite subject, A no action (Rspamd needs enable_test_patterns = true)
      big-N        N MiB of text (a stream-limit probe)
"""
import argparse
import base64
import http.client
import io
import json
import socket
import struct
import sys
import time
import urllib.parse
import zipfile
from email.message import EmailMessage

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE_TAIL = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(subject, body, attachment=None):
    m = EmailMessage()
    m["From"] = "Sender <sender@example.org>"
    m["To"] = "alice@company.kr, bob@company.kr"
    m["Subject"] = subject
    m["Date"] = "Mon, 07 Dec 2026 10:00:00 +0900"
    m["Message-ID"] = "<probe-%s@example.org>" % subject.replace(" ", "-")
    m.set_content(body)
    if attachment:
        name, ctype, data = attachment
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def sample(kind):
    if kind == "eicar":
        return EICAR
    if kind == "eicar-mime":
        return message("eicar attached", "See the attachment.\n",
                       ("eicar.com", "application/octet-stream", EICAR))
    if kind == "eicar-zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("eicar.com", EICAR)
        return message("eicar zipped", "See the archive.\n",
                       ("eicar.zip", "application/zip", buf.getvalue()))
    if kind == "clean":
        return message("hello", "Hello Alice,\n\nlunch at noon?\n\nBob\n")
    if kind.startswith("gtube-") and kind[6:] in ("X", "Y", "Z", "A"):
        return message("test pattern " + kind[6:],
                       "This is a test message.\n\n%s%s\n" % (kind[6:], GTUBE_TAIL))
    if kind.startswith("big-"):
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\n"
        n = int(kind[4:]) * 1024 * 1024
        return (line * (n // len(line) + 1))[:n]
    sys.exit("filter_probe.py: unknown sample %r" % kind)


def rspamd(args, body):
    u = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 11333, timeout=60)
    headers = [("Content-Length", str(len(body)))]
    for name, value in (("IP", args.ip), ("Helo", args.helo), ("From", args.mail_from),
                        ("Queue-Id", args.queue_id), ("Hostname", args.hostname),
                        ("User", args.user)):
        if value is not None:
            headers.append((name, value))
    headers += [("Rcpt", r) for r in args.rcpt]
    conn.putrequest("POST", (u.path.rstrip("/") or "") + "/checkv2", skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(body)
    r = conn.getresponse()
    print("HTTP/1.1 %d %s" % (r.status, r.reason))
    sys.stdout.write(r.read().decode())
    print()


def clamd(args, data):
    if "/" in args.address:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args.address)
    else:
        host, port = args.address.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(120)
    t0 = time.monotonic()
    sent, error = 0, None
    try:
        s.sendall(b"zINSTREAM\0")
        for i in range(0, len(data), args.chunk):
            piece = data[i:i + args.chunk]
            s.sendall(struct.pack(">I", len(piece)) + piece)
            sent += len(piece)
        s.sendall(struct.pack(">I", 0))
    except OSError as e:
        error = "%s: %s" % (type(e).__name__, e)
    reply = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            reply += b
    except OSError as e:
        error = (error + "; " if error else "") + "read %s: %s" % (type(e).__name__, e)
    s.close()
    print(json.dumps({"reply": reply.decode("latin-1"), "sent": sent, "write_error": error,
                      "seconds": round(time.monotonic() - t0, 3)}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rspamd")
    r.add_argument("url")
    r.add_argument("--ip")
    r.add_argument("--helo")
    r.add_argument("--from", dest="mail_from")
    r.add_argument("--rcpt", action="append", default=[])
    r.add_argument("--queue-id")
    r.add_argument("--hostname")
    r.add_argument("--user")
    c = sub.add_parser("clamd")
    c.add_argument("address")
    c.add_argument("--chunk", type=int, default=65536)
    s = sub.add_parser("sample")
    s.add_argument("kind")
    args = p.parse_args()
    if args.cmd == "sample":
        sys.stdout.buffer.write(sample(args.kind))
    elif args.cmd == "rspamd":
        rspamd(args, sys.stdin.buffer.read())
    else:
        clamd(args, sys.stdin.buffer.read())


if __name__ == "__main__":
    main()
