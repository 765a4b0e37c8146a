#!/usr/bin/env python3
"""Client side of bench/submission.sh. Standard library only.

  send HOST PORT USER PASSWORD CAFILE SINK_COUNTER --messages N --size BYTES --sessions S
       [--to ADDR] [--timeout SECONDS] [--seed SEED]

Generates N messages of exactly BYTES bytes From USER To ADDR (Date, Message-ID, Subject,
MIME headers, plain text body), opens S sessions (STARTTLS verified against CAFILE, then
AUTH LOGIN/PLAIN as smtplib picks), waits until all are logged in, then starts the clock and
sends N/S messages on each, one transaction after the other on the same session. Then it
watches SINK_COUNTER, the counter output of `smtp-sink -c` ("sess=.. quit=.. mesg=N", one
entry per event, separated by CR), until the sink has counted every message the server
accepted, and stops the clock. Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import datetime as dt
import email.utils
import json
import random
import re
import smtplib
import ssl
import sys
import threading
import time

WORDS = ("the of and to in is that for it as was with be by on not this are or from at which "
         "but have an they you were all there would their we been has when who will more no if "
         "out so what up about into than them can only other new some could time these two may "
         "then do first any now such like our over even most made after also did many before "
         "must through back years where much your way well down should because each just those "
         "people how little state good very make world still own see work long get here between "
         "both life being under never day same another know while last might great old year off "
         "come since against go came right used take three quarterly report budget meeting "
         "agenda release deadline invoice shipment server migration backup review draft "
         "contract customer schedule attached please find regards thanks").split()
TOPICS = ["Quarterly report", "Meeting agenda", "Invoice", "Release notes", "Server migration",
          "Weekly sync", "Budget review", "Project update", "Travel plans", "Contract draft"]
MESG = re.compile(rb"mesg=(\d+)")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def message(rng, i, sender, rcpt, size):
    """One message of exactly `size` bytes (CRLF lines, none longer than 78 characters)."""
    now = dt.datetime.now(dt.timezone.utc)
    domain = sender.split("@")[1]
    head = ("From: Alice Example <%s>\r\n"
            "To: Someone Remote <%s>\r\n"
            "Subject: %s %d: %s\r\n"
            "Date: %s\r\n"
            "Message-ID: <%s.%06d.%010x@%s>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n") % (sender, rcpt, rng.choice(TOPICS), i,
                       " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))),
                       email.utils.format_datetime(now), now.strftime("%Y%m%d%H%M%S"), i,
                       rng.getrandbits(40), domain)
    greeting, tail = "Hello,\r\n\r\n", "\r\nRegards,\r\nAlice\r\n"
    body, left = [greeting], size - len(head) - len(greeting) - len(tail)
    while True:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 11)))[:72]
        line = line[0].upper() + line[1:] + ".\r\n" + ("\r\n" if rng.random() < 0.12 else "")
        if left - len(line) < 2:
            break
        body.append(line)
        left -= len(line)
    if left >= 2:   # the last line fills the message up to `size` exactly
        body.append(" ".join(rng.choice(WORDS) for _ in range(20))[:left - 2].rstrip().ljust(left - 2, ".") + "\r\n")
    body.append(tail)
    out = (head + "".join(body)).encode()
    return out


def sink_count(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            end = f.tell()
            f.seek(max(0, end - 256))
            tail = f.read()
    except FileNotFoundError:
        return 0
    counts = [int(m) for m in MESG.findall(tail)]
    return max(counts) if counts else 0


def send(args):
    rng = random.Random(args.seed)
    msgs = [message(rng, i, args.user, args.to, args.size) for i in range(1, args.messages + 1)]
    sizes = sorted({len(m) for m in msgs})
    log(f"   {len(msgs)} messages generated, sizes {sizes[0]}..{sizes[-1]} bytes")
    ctx = ssl.create_default_context(cafile=args.cafile)
    S = args.sessions
    slices = [msgs[k::S] for k in range(S)]
    state = {"t0": None}
    barrier = threading.Barrier(S + 1)
    lock = threading.Lock()
    result = {"accepted": 0, "refused": 0, "reconnects": 0, "setup_failed": 0, "errors": []}
    done_at = [None] * S

    def connect():
        c = smtplib.SMTP(args.host, args.port, timeout=120)
        c.ehlo("client.bench.example")
        c.starttls(context=ctx)
        c.ehlo("client.bench.example")
        c.login(args.user, args.password)
        return c

    def note(kind, e):
        with lock:
            result[kind] += 1
            if len(result["errors"]) < 10:
                result["errors"].append(f"{type(e).__name__}: {e}"[:300])

    def worker(k):
        try:
            c = connect()
        except Exception as e:   # noqa: BLE001 - reported, the other sessions go on
            note("setup_failed", e)
            c = None
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        accepted = 0
        for m in slices[k]:
            for attempt in (1, 2):
                try:
                    if c is None:
                        c = connect()
                        with lock:
                            result["reconnects"] += 1
                    c.sendmail(args.user, [args.to], m)
                    accepted += 1
                    break
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                        smtplib.SMTPDataError) as e:
                    note("refused", e)
                    break
                except Exception as e:   # noqa: BLE001 - a lost session: reconnect once
                    if attempt == 2:
                        note("refused", e)
                    try:
                        c.close()
                    except Exception:   # noqa: BLE001
                        pass
                    c = None
        with lock:
            result["accepted"] += accepted
        done_at[k] = time.monotonic()
        try:
            if c is not None:
                c.quit()
        except Exception:   # noqa: BLE001
            pass

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(S)]
    t_setup = time.monotonic()
    for t in threads:
        t.start()
    barrier.wait()   # every session is connected, encrypted and logged in
    t0 = time.monotonic()
    setup_s = t0 - t_setup
    log(f"   {S} sessions logged in after {setup_s:.2f} s; sending")
    for t in threads:
        t.join()
    t_sent = time.monotonic()
    at_sent = sink_count(args.sink_counter)
    target = result["accepted"]
    log(f"   all submitted after {t_sent - t0:.2f} s ({target} accepted); "
        f"the sink has {at_sent}; waiting for the rest")
    deadline = t0 + args.timeout
    count = at_sent
    while count < target and time.monotonic() < deadline:
        time.sleep(0.01)
        count = sink_count(args.sink_counter)
    t1 = time.monotonic()
    complete = count >= target and target == args.messages
    e2e = t1 - t0
    out = dict(result, messages=args.messages, size=args.size, sessions=S,
               setup_s=round(setup_s, 3), submit_s=round(t_sent - t0, 3),
               slowest_session_s=round(max(d for d in done_at if d) - t0, 3) if any(done_at) else None,
               e2e_s=round(e2e, 3), sink_at_submit_end=at_sent, sink_count=count,
               complete=complete, rate=round(count / e2e, 2) if e2e > 0 else 0,
               submit_rate=round(target / (t_sent - t0), 2) if t_sent > t0 else 0)
    print(json.dumps(out))
    return 0 if complete else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("user")
    s.add_argument("password")
    s.add_argument("cafile")
    s.add_argument("sink_counter")
    s.add_argument("--messages", type=int, default=2000)
    s.add_argument("--size", type=int, default=10240)
    s.add_argument("--sessions", type=int, default=8)
    s.add_argument("--to", default="someone@remote.test")
    s.add_argument("--timeout", type=float, default=600)
    s.add_argument("--seed", type=int, default=20261121)
    args = p.parse_args()
    sys.exit(send(args))


if __name__ == "__main__":
    main()
