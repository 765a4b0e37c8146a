#!/usr/bin/env python3
"""An independent DKIM signer and ARC sealer for the verification tests (dkimpy).

  dkim_sign.py sign --key KEY.pem --domain D --selector S [--expired] < MESSAGE > SIGNED
      Prepends a DKIM-Signature (rsa-sha256, relaxed/simple) over From, To, Subject, Date,
      Message-ID. --expired: signed two hours ago with x= one hour ago (RFC 6376 §3.5).
  dkim_sign.py arc --key KEY.pem --domain D --selector S --srv-id ID < MESSAGE > SEALED
      Prepends an ARC set (RFC 8617) as an intermediary with authserv-id ID would; the
      message must carry that intermediary's Authentication-Results.
  dkim_sign.py keygen OUT.pem
      Writes a 2048-bit RSA key and prints the DKIM TXT record value for it.
"""
import argparse
import base64
import subprocess
import sys
import time

import dkim

HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


class ExpiredDKIM(dkim.DKIM):
    """Adds x= (expiry) before the signature is computed: dkimpy has no option for it."""

    expires = 0

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk):
        fields = [f for f in fields if f[0] != b"b"] + [(b"x", str(self.expires).encode())]
        fields.append((b"b", b"0" * 60))
        return super().gen_header(fields, include_headers, canon_policy, header_name, pk)


def sign(args, message, key):
    if not args.expired:
        return dkim.sign(message, args.selector.encode(), args.domain.encode(), key,
                         include_headers=HEADERS)
    now = int(time.time())
    signer = ExpiredDKIM(message)
    signer.expires = now - 3600
    real_time = time.time
    time.time = lambda: now - 7200
    try:
        return signer.sign(args.selector.encode(), args.domain.encode(), key,
                           include_headers=HEADERS)
    finally:
        time.time = real_time


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("sign", "arc"):
        s = sub.add_parser(name)
        s.add_argument("--key", required=True)
        s.add_argument("--domain", required=True)
        s.add_argument("--selector", required=True)
        if name == "sign":
            s.add_argument("--expired", action="store_true")
        else:
            s.add_argument("--srv-id", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("out")
    args = p.parse_args()
    if args.cmd == "keygen":
        subprocess.run(["openssl", "genrsa", "-out", args.out, "2048"], check=True,
                       stderr=subprocess.DEVNULL)
        der = subprocess.run(["openssl", "rsa", "-in", args.out, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        print("v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
        return
    message = sys.stdin.buffer.read()
    key = open(args.key, "rb").read()
    if args.cmd == "sign":
        header = sign(args, message, key)
    else:
        sealed = dkim.arc_sign(message, args.selector.encode(), args.domain.encode(), key,
                               args.srv_id.encode(), include_headers=HEADERS)
        if not sealed:
            sys.exit("arc_sign produced no ARC set (no Authentication-Results of the srv-id?)")
        header = b"".join(sealed)
    sys.stdout.buffer.write(header + message)


if __name__ == "__main__":
    main()
