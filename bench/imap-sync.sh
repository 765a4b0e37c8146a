#!/bin/bash
# IMAP resync benchmark: QRESYNC resync, SORT and THREAD on an INBOX of N (10,000) messages,
# Baedal (embedded profile; PROFILES may add postgres and production) against Dovecot 2.3, on
# this machine, one after the other, one run.
#
#   bash bench/imap-sync.sh                       # as root on Debian 12 (installs what it needs)
#   SKIP_BUILD=1 BAEDAL=/path/to/baedal bash bench/imap-sync.sh
#   PROFILES="embedded postgres" bash bench/imap-sync.sh
#
# What it measures (a benchmark: it prints figures; it exits 1 when a QRESYNC resync does not
# return exactly the changes made, or a command fails):
#   0. Load: N generated messages (fixed seed, 1-20 KB, Subjects with Re:/RE:/Fwd:/[tag]
#      prefixes, some Korean in RFC 2047 B and Q words, varied From and Date, Message-ID,
#      In-Reply-To and References chains, some to messages that are not in the mailbox) go into
#      INBOX with APPEND over one IMAPS session, pipelined with LITERAL+ (a window of 64), each
#      with its flags and INTERNALDATE. The same bytes, flags, dates and order on every system,
#      so sequence numbers and UIDs match and answers can be compared. Then the server is
#      restarted, so the measurements start with its in-process caches empty (page cache warm).
#   1. SORT (DATE), SORT (SUBJECT), SORT (REVERSE ARRIVAL), SORT (FROM), THREAD REFERENCES,
#      THREAD ORDEREDSUBJECT (all UTF-8 ALL) and SEARCH RETURN (COUNT) UNSEEN on one selected
#      session, each twice in a row: the first is cold (the first time the server answers it
#      since its start), the second warm. Wall time at the client (command sent to tagged OK)
#      and the size of the response. Answers are compared between the systems.
#   2. QRESYNC: a session does ENABLE QRESYNC + SELECT INBOX and notes UIDVALIDITY and
#      HIGHESTMODSEQ; another session changes the flags of 10 messages and expunges 5 others;
#      a new session does ENABLE QRESYNC + SELECT INBOX (QRESYNC (UIDVALIDITY HIGHESTMODSEQ)),
#      timed, which must return exactly 10 FETCH responses (the changed UIDs) and one VANISHED
#      (EARLIER) naming the 5 expunged UIDs. For comparison, what a client without QRESYNC does:
#      a new session with SELECT INBOX + UID FETCH 1:* (FLAGS), timed.
#   3. The server's RSS (ps -o rss) at the end, with the last session still logged in: Baedal's
#      process; Dovecot's imap process of that session and all its processes summed.
# All systems get the same EC P-256 certificate, bcrypt cost-12 passwords (Dovecot:
# BLF-CRYPT), loopback only, IMAPS. Nothing here does DNS. The load average at the start and at
# the end, uptime and the three processes with the most CPU (ps) are printed, since other load
# moves the figures.
#
# Environment: N (10000), SEED (20261207), PROFILES ("embedded"; any of embedded, postgres,
# production, in that order), ONLY=baedal|dovecot, DOVECOT_STORAGE (maildir|sdbox|mdbox),
# PG_FSYNC (on|off), PGBIN (/usr/lib/postgresql/15/bin), S3S_FS (/opt/s3s-fs/bin/s3s-fs,
# installed with cargo install when production is asked and it is missing), BAEDAL (binary,
# target/release/baedal), SKIP_BUILD=1 (use the existing binary), KEEP=1 (keep the temp dir:
# logs, the messages and the JSON of every system).
set -euo pipefail

N=${N:-10000}
SEED=${SEED:-20261207}
PROFILES=${PROFILES:-embedded}
ONLY=${ONLY:-}
DOVECOT_STORAGE=${DOVECOT_STORAGE:-maildir}
PG_FSYNC=${PG_FSYNC:-on}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
S3S_FS=${S3S_FS:-/opt/s3s-fs/bin/s3s-fs}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}

case "$ONLY" in ""|baedal|dovecot) ;; *) echo "ONLY=baedal|dovecot" >&2; exit 2 ;; esac
for p in $PROFILES; do
  case "$p" in embedded|production|postgres) ;; *) echo "PROFILES: embedded, postgres, production; not $p" >&2; exit 2 ;; esac
done
case "$DOVECOT_STORAGE" in sdbox|mdbox|maildir) ;; *) echo "DOVECOT_STORAGE=sdbox|mdbox|maildir" >&2; exit 2 ;; esac
case "$PG_FSYNC" in on|off) ;; *) echo "PG_FSYNC=on|off" >&2; exit 2 ;; esac
[ "$N" -ge 100 ] || { echo "N must be at least 100" >&2; exit 2; }
[ "$ONLY" = dovecot ] && PROFILES=
[ "$ONLY" = baedal ] && RUN_DOVECOT= || RUN_DOVECOT=1
NEED_PG=; [[ " $PROFILES " == *" production "* || " $PROFILES " == *" postgres "* ]] && NEED_PG=1
NEED_S3=; [[ " $PROFILES " == *" production "* ]] && NEED_S3=1

[ "$(id -u)" = 0 ] || { echo "run as root (dovecot and postgresql need it)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
if [ -n "$RUN_DOVECOT" ]; then
  command -v dovecot >/dev/null || need+=(dovecot-core)
  [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
fi
if [ -n "$NEED_PG" ]; then
  [ -x "$PGBIN/postgres" ] || need+=(postgresql-15)
  command -v psql >/dev/null || need+=(postgresql-client-15)
fi
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -n "$NEED_S3" ] && [ ! -x "$S3S_FS" ]; then
  # the standalone s3s-fs server (the tests run the same crate in-process); ~3 min to build
  echo "== cargo install s3s-fs@0.14.1 --features binary --locked --root /opt/s3s-fs"
  cargo install s3s-fs@0.14.1 --features binary --locked --root /opt/s3s-fs --quiet
  S3S_FS=/opt/s3s-fs/bin/s3s-fs
fi

if [ -n "$PROFILES" ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi
[ -z "$PROFILES" ] || [ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-imapsync.XXXXXX); chmod 755 "$T"   # dovecot's users traverse it
BAEDAL_PID=; DOVECOT_PID=; S3_PID=; PG_DIR=
cleanup() {
  set +e
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  [ -n "$S3_PID" ] && kill -TERM "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
  [ -n "$PG_DIR" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  [ -n "$DOVECOT_PID" ] && kill -TERM "$DOVECOT_PID" 2>/dev/null && wait "$DOVECOT_PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
client() { python3 "$T/imap_sync.py" "$@"; }
# what else is running: uptime and the three processes with the most CPU (ps: CPU time over
# each process's lifetime, not just now)
others() {
  echo "   uptime: $(uptime)"
  ps -eo pid=,pcpu=,etime=,args= --sort=-pcpu | head -3 |
    awk '{ a = $4; for (i = 5; i <= NF; i++) a = a " " $i
           printf "   ps: pid %s %s%% CPU over its %s: %s\n", $1, $2, $3, substr(a, 1, 110) }'
}

rev=$(git -C "$ROOT" log -1 --format=%h 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -uno 2>/dev/null | wc -l)
echo "== Baedal $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files")$([ -n "$RUN_DOVECOT" ] && echo ", $(dovecot --version 2>/dev/null | cut -d' ' -f1) ($DOVECOT_STORAGE)")"
echo "== INBOX of $N messages, seed $SEED; temp dir $T ($(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
others
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# One certificate for every server, so the TLS work is the same.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null

# ---------------------------------------------------------------------------------------------
# The client (standard library only; raw sockets and ssl, no imaplib: it is slow on 10,000-line
# responses and loses the order of untagged responses).
cat >"$T/imap_sync.py" <<'PY'
"""Client side of bench/imap-sync.sh. Subcommands:
  gen DIR N SEED                        N messages DIR/00001.eml ... and DIR/manifest.json
  load PORT USER PW DIR                 APPEND them all to INBOX over one IMAPS session
  measure PORT USER PW N PID [--tree]   SORT/THREAD/SEARCH, QRESYNC and full resyncs; JSON out
  report LABEL=FILE ...                 the table
"""
import base64
import datetime as dt
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import time


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# gen

FIRST = ["Minjun", "Seoyeon", "Jiho", "Hayoon", "Anna", "Ben", "Carla", "David", "Elena", "Farid",
         "Grace", "Hiro", "Ines", "Jonas", "Lena", "Marco", "Nora", "Oscar", "Priya", "Quentin"]
LAST = ["Kim", "Lee", "Park", "Choi", "Jung", "Smith", "Garcia", "Rossi", "Tanaka", "Novak",
        "Dubois", "Silva", "Jensen", "O'Brien", "Adams", "Baker"]
KOREAN_NAMES = ["김민준", "이서연", "박지호", "최하윤", "정도윤", "강지우", "조서준", "윤하은"]
DOMAINS = ["example.com", "mail.example.net", "corp.example", "lists.example.org",
           "partner.example", "university.example.edu", "shop.example", "naver.example.kr"]
WORDS = ("the of and to in is that for it as was with be by on not this are or from at which but "
         "have an they you were all there would their we been has when who will more no if out so "
         "what up about into than them can only other new some could time these two may then do "
         "first any now such like our over even most made after also did many before must through "
         "back years where much your way well down should because each just those people how too "
         "state good very make world still own see work long get here between both life being "
         "under never day same another know while last might great old year off come since go "
         "right take three report budget meeting agenda release deadline invoice shipment server "
         "migration backup review draft contract").split()
TOPICS = ["Quarterly report", "Meeting agenda", "Invoice", "Release notes", "Server migration",
          "Weekly sync", "Budget review", "Project update", "Travel plans", "Contract draft",
          "Backup failed", "Your order has shipped", "Newsletter", "Action required", "Lunch",
          "Build broken on main", "Security advisory", "Offsite planning", "Hiring update"]
KOREAN = ["회의 일정 안내", "주간 보고서", "견적서 송부", "서버 점검 공지", "계약서 검토 요청",
          "출장 일정", "신규 입사자 안내", "월간 뉴스레터", "배달 서버 이전 계획", "예산 검토"]
TAGS = ["[ops]", "[baedal-dev]", "[JIRA]", "[Announce]", "[security]"]
ZONES = ["+0900", "+0900", "+0900", "+0000", "-0500", "+0100", "-0800", "+0530"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def encoded_words(text, rng):
    """RFC 2047: B or Q, sometimes two words (split between characters) folded."""
    def one(part):
        if rng.random() < 0.7:
            return "=?UTF-8?B?" + base64.b64encode(part.encode()).decode() + "?="
        q = "".join(c if c.isascii() and c.isalnum() else "_" if c == " " else
                    "".join("=%02X" % b for b in c.encode()) for c in part)
        return "=?UTF-8?Q?" + q + "?="
    if len(text) > 4 and rng.random() < 0.3:
        cut = rng.randint(2, len(text) - 2)
        return one(text[:cut]) + "\r\n " + one(text[cut:])
    return one(text)


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    addr = f"{first.lower()}.{re.sub('[^a-z]', '', last.lower())}@{rng.choice(DOMAINS)}"
    r = rng.random()
    if r < 0.2:
        return f"{encoded_words(rng.choice(KOREAN_NAMES), rng)} <{addr}>"
    if r < 0.3:
        return addr
    if r < 0.35:
        return f"<{addr.upper()}>"
    if r < 0.5:
        return f'"{last}, {first}" <{addr}>'
    return f"{first} {last} <{addr}>"


def rfc822_date(t, zone, rng):
    sign = 1 if zone[0] == "+" else -1
    off = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    lt = t.astimezone(dt.timezone(off))
    s = f"{lt.day} {MONTHS[lt.month - 1]} {lt.year} {lt:%H:%M:%S} {zone}"
    if rng.random() < 0.95:
        s = f"{DAYS[lt.weekday()]}, " + s
    if zone == "+0900" and rng.random() < 0.1:
        s += " (KST)"
    return s


def internal_date(t):
    lt = t.astimezone(dt.timezone(dt.timedelta(hours=9)))
    return f"{lt.day:02d}-{MONTHS[lt.month - 1]}-{lt.year} {lt:%H:%M:%S} +0900"


def body_lines(rng, nbytes):
    out, line, size, width = [], [], 0, 0
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        width += len(w) + 1
        if width > 66:
            out.append(" ".join(line))
            line, width = [], 0
            size += 1
    if line:
        out.append(" ".join(line))
    return out


def gen(a):
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    start = dt.datetime(2025, 1, 6, 0, 0, tzinfo=dt.timezone.utc)
    manifest, earlier = [], []        # earlier: (message-id, root subject as header text, refs)
    counts = {"reply": 0, "phantom_parent": 0, "in_reply_to_only": 0, "korean_subject": 0,
              "tagged": 0, "fwd": 0, "no_subject": 0, "no_date": 0, "unseen": 0}
    for i in range(1, a.n + 1):
        arrival = start + dt.timedelta(seconds=i * 260 + rng.randint(0, 200))
        sent = arrival - dt.timedelta(seconds=int(rng.expovariate(1 / 1800)) + rng.randint(1, 30))
        frm = person(rng)
        dom = rng.choice(DOMAINS)
        mid = f"<{sent:%Y%m%d%H%M%S}.{i:05d}.{rng.getrandbits(40):010x}@{dom}>"
        h = [f"Return-Path: <bounce-{i}@{dom}>",
             f"Received: from mail.{dom} (mail.{dom} [192.0.2.{rng.randint(1, 254)}])\r\n"
             f"\tby mx1.example.org with ESMTPS id {rng.getrandbits(48):012x}\r\n"
             f"\tfor <bench@example.org>; {rfc822_date(arrival, '+0900', rng)}",
             f"From: {frm}",
             "To: " + ", ".join(["Bench User <bench@example.org>"] +
                                [person(rng) for _ in range(rng.choice([0, 0, 0, 1, 2]))])]
        if rng.random() < 0.25:
            h.append("Cc: " + ", ".join(person(rng) for _ in range(rng.randint(1, 3))))
        r = rng.random()
        root, refs = None, ""
        if earlier and r < 0.4:                        # a reply to a message in the mailbox
            pmid, proot, prefs = rng.choice(earlier[-300:])
            root = proot
            counts["reply"] += 1
            prefix = rng.choice(["Re: ", "Re: ", "Re: ", "RE: ", "re: ", "Re: Re: ", "Re:  ", "Fwd: "])
            if proot.startswith("[") and rng.random() < 0.5:   # "[tag] Re: x" instead of "Re: [tag] x"
                tag, rest = proot.split(" ", 1)
                subj = f"{tag} {prefix}{rest}"
            else:
                subj = prefix + proot
            refs = (prefs + " " + pmid).strip()
            refs = " ".join(refs.split()[-12:])
            h.append(f"Subject: {subj}")
            h.append(f"In-Reply-To: {pmid}")
            if rng.random() < 0.9:
                h.append("References: " + refs.replace(" ", "\r\n "))
            else:
                counts["in_reply_to_only"] += 1
        elif r < 0.45:                                 # a reply whose parent is not here
            counts["phantom_parent"] += 1
            pmid = f"<{rng.getrandbits(64):016x}@elsewhere.example>"
            root = rng.choice(TOPICS)
            refs = pmid
            h.append(f"Subject: Re: {root}")
            h.append(f"In-Reply-To: {pmid}")
            h.append(f"References: {pmid}")
        else:                                          # a new thread
            if rng.random() < 0.15:
                root = encoded_words(rng.choice(KOREAN) + " " + str(rng.randint(1, 99)), rng)
                counts["korean_subject"] += 1
            else:
                root = rng.choice(TOPICS) + " " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))
                root = root.strip()
            if rng.random() < 0.15:
                root = rng.choice(TAGS) + " " + root
                counts["tagged"] += 1
            if rng.random() < 0.05:
                counts["fwd"] += 1
                h.append(f"Subject: Fwd: {root}")
            elif rng.random() < 0.01:
                counts["no_subject"] += 1
                root = None
            else:
                h.append(f"Subject: {root}")
        if rng.random() < 0.99:
            h.append(f"Date: {rfc822_date(sent, rng.choice(ZONES), rng)}")
        else:
            counts["no_date"] += 1
        h.append(f"Message-ID: {mid}")
        h.append(rng.choice(["User-Agent: Mozilla Thunderbird 128.5.0", "X-Mailer: Microsoft Outlook 16.0",
                             "X-Mailer: Apple Mail (2.3826)", "X-Mailer: Baedal bench"]))
        h.append("MIME-Version: 1.0")
        target = rng.randint(1024, 20480)
        head = "\r\n".join(h) + "\r\n"
        room = max(200, target - len(head) - 120)
        if rng.random() < 0.85:
            head += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
            body = "\r\n".join(body_lines(rng, room)) + "\r\n"
        else:
            b = f"----=_Part_{i}_{rng.getrandbits(32):08x}"
            head += f'Content-Type: multipart/mixed;\r\n\tboundary="{b}"\r\n'
            text = "\r\n".join(body_lines(rng, 300))
            blob = base64.encodebytes(rng.randbytes(max(60, (room - 700) * 3 // 4))).decode().replace("\n", "\r\n")
            body = (f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                    f'--{b}\r\nContent-Type: application/pdf; name="scan-{i}.pdf"\r\n'
                    f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--{b}--\r\n")
        data = (head + "\r\n" + body).encode()
        if len(data) < 1024:                           # at least 1 KB: pad the text (or epilogue)
            data += b"\r\n".join([b"-- " + b"x" * 60] * ((1024 - len(data)) // 62 + 1)) + b"\r\n"
        flags = []
        if rng.random() < 0.7:
            flags.append("\\Seen")
        else:
            counts["unseen"] += 1
        if rng.random() < 0.05:
            flags.append("\\Flagged")
        if rng.random() < 0.08:
            flags.append("\\Answered")
        name = f"{i:05d}.eml"
        with open(os.path.join(a.dir, name), "wb") as f:
            f.write(data)
        manifest.append({"file": name, "size": len(data), "flags": flags,
                         "internaldate": internal_date(arrival)})
        if root is not None:
            earlier.append((mid, root, refs))
    with open(os.path.join(a.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    sizes = [m["size"] for m in manifest]
    print(json.dumps({"messages": len(sizes), "bytes": sum(sizes), "min": min(sizes),
                      "max": max(sizes), **counts}))


# --------------------------------------------------------------------------------------------
# A small blocking IMAP client that reads literals exactly

class ImapError(Exception):
    pass


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False          # every server has the same throwaway self-signed cert
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Imap:
    def __init__(self, port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=600)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls_context().wrap_socket(raw, server_hostname="localhost")
        self.f = self.sock.makefile("rb", buffering=1 << 17)
        self.n = 0
        self.bytes = 0
        greeting = self.f.readline()
        if not greeting.startswith(b"* OK"):
            raise ImapError(f"greeting {greeting!r}")

    def response(self):
        """One response, literals inline: (text, [literals])."""
        texts, lits = [], []
        while True:
            line = self.f.readline()
            if not line:
                raise ImapError("connection closed")
            self.bytes += len(line)
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if not m:
                texts.append(line.rstrip(b"\r\n"))
                return b"".join(texts), lits
            texts.append(line[:m.start()])
            lit = self.f.read(int(m.group(1)))
            self.bytes += len(lit)
            lits.append(lit)

    def cmd(self, text):
        """Sends one command; returns (seconds to the tagged OK, untagged texts, bytes received);
        NO/BAD raise."""
        self.n += 1
        tag = f"s{self.n}".encode()
        b0 = self.bytes
        t0 = time.perf_counter()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            resp, _ = self.response()
            if resp.startswith(tag + b" "):
                secs = time.perf_counter() - t0
                if not resp.startswith(tag + b" OK"):
                    raise ImapError(f"{text[:60]!r} -> {resp[:300]!r}")
                return secs, untagged, self.bytes - b0
            untagged.append(resp)

    def login(self, user, pw):
        self.cmd(f'LOGIN "{user}" "{pw}"')

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:  # noqa: BLE001 - the server closes after BYE
            pass
        self.sock.close()


def load(a):
    manifest = json.load(open(os.path.join(a.dir, "manifest.json")))
    c = Imap(a.port)
    c.login(a.user, a.password)
    window, sent, done, errors = 64, 0, 0, []
    t0 = time.perf_counter()
    while done < len(manifest):
        while sent < len(manifest) and sent - done < window:
            m = manifest[sent]
            with open(os.path.join(a.dir, m["file"]), "rb") as f:
                data = f.read()
            flags = f" ({' '.join(m['flags'])})" if m["flags"] else ""
            sent += 1
            c.sock.sendall(f'a{sent} APPEND INBOX{flags} "{m["internaldate"]}" {{{len(data)}+}}\r\n'.encode()
                           + data + b"\r\n")
        resp, _ = c.response()
        if resp.startswith(b"a"):
            done += 1
            if resp.split(b" ", 2)[1:2] != [b"OK"]:
                errors.append(resp.decode(errors="replace")[:200])
            if done % 2000 == 0:
                log(f"   {done}/{len(manifest)}")
    secs = time.perf_counter() - t0
    c.close()
    print(json.dumps({"appended": len(manifest) - len(errors), "seconds": round(secs, 2),
                      "per_second": round(len(manifest) / secs, 1), "errors": errors[:5]}))
    return 1 if errors else 0


# --------------------------------------------------------------------------------------------
# measure

COMMANDS = ["SORT (DATE) UTF-8 ALL", "SORT (SUBJECT) UTF-8 ALL", "SORT (REVERSE ARRIVAL) UTF-8 ALL",
            "SORT (FROM) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL",
            "SEARCH RETURN (COUNT) UNSEEN"]


def seqset(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        lo, hi = int(lo), int(hi or lo)
        out.extend(range(min(lo, hi), max(lo, hi) + 1))
    return out


def code(untagged, name):
    for t in untagged:
        m = re.match(rb"\* OK \[" + name.encode() + rb" (\d+)\]", t)
        if m:
            return int(m.group(1))
    return None


def exists(untagged):
    for t in untagged:
        m = re.match(rb"\* (\d+) EXISTS", t)
        if m:
            return int(m.group(1))
    return None


def answer(untagged):
    """The payload of a SORT, THREAD or ESEARCH answer, as text."""
    for t in untagged:
        for kw in (b"SORT", b"THREAD", b"ESEARCH"):
            if t.startswith(b"* " + kw):
                s = t[len(kw) + 2:].decode(errors="replace").strip()
                return re.sub(r'^\(TAG "[^"]*"\)\s*', "", s) if kw == b"ESEARCH" else s
    return None


def procs(pid, tree):
    pids = [pid]
    if tree:
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = open(f"/proc/{d}/stat").read()
                except OSError:
                    continue
                if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                    pids.append(int(d))
    return pids


def rss(pid, tree):
    out = subprocess.run(["ps", "-o", "rss=,comm=", "-p", ",".join(map(str, procs(pid, tree)))],
                         capture_output=True, text=True).stdout.split("\n")
    total, by = 0, {}
    for line in out:
        if line.strip():
            kb, name = line.split(None, 1)
            total += int(kb)
            by[name] = by.get(name, 0) + int(kb)
    return {"rss_kb": total, "by_process": by, "processes": sum(1 for x in out if x.strip())}


def measure(a):
    res = {"messages": a.n, "commands": {}, "errors": []}
    # 1. SORT / THREAD / SEARCH on one session, each twice
    c = Imap(a.port)
    c.login(a.user, a.password)
    secs, un, _ = c.cmd("SELECT INBOX")
    res["select_first_s"] = secs
    if exists(un) != a.n:
        res["errors"].append(f"SELECT INBOX: {exists(un)} EXISTS, {a.n} loaded")
    for cmd in COMMANDS:
        runs = []
        for _ in range(2):
            secs, un, nbytes = c.cmd(cmd)
            runs.append({"s": secs, "bytes": nbytes, "answer": answer(un)})
        if runs[0]["answer"] != runs[1]["answer"]:
            res["errors"].append(f"{cmd}: the second answer differs from the first")
        if runs[0]["answer"] is None:
            res["errors"].append(f"{cmd}: no SORT/THREAD/ESEARCH response")
        res["commands"][cmd] = {"cold_s": runs[0]["s"], "warm_s": runs[1]["s"], "bytes": runs[0]["bytes"],
                                "answer": runs[0]["answer"]}
        log(f"   {cmd}: {runs[0]['s'] * 1000:.1f} / {runs[1]['s'] * 1000:.1f} ms, {runs[0]['bytes']} bytes")
    _, un, _ = c.cmd("UID SEARCH ALL")
    uids = [int(x) for t in un if t.startswith(b"* SEARCH") for x in t.split()[2:]]
    c.close()

    # 2. QRESYNC: the state a client keeps ...
    c = Imap(a.port)
    c.login(a.user, a.password)
    c.cmd("ENABLE QRESYNC")
    _, un, _ = c.cmd("SELECT INBOX")
    uidvalidity, modseq = code(un, "UIDVALIDITY"), code(un, "HIGHESTMODSEQ")
    _, un, _ = c.cmd("UID FETCH 1:* (FLAGS)")
    flags = {}
    for t in un:
        m = re.match(rb"\* \d+ FETCH \(.*\bUID (\d+)", t)
        f = re.search(rb"FLAGS \(([^)]*)\)", t)
        if m and f:
            flags[int(m.group(1))] = f.group(1).split()
    c.close()
    res["qresync"] = {"uidvalidity": uidvalidity, "highestmodseq": modseq}
    if uidvalidity is None or modseq is None or len(uids) != a.n:
        res["errors"].append(f"QRESYNC: UIDVALIDITY {uidvalidity}, HIGHESTMODSEQ {modseq}, {len(uids)} UIDs")
        print(json.dumps(res))
        return 1
    # ... another session changes the flags of 10 messages and expunges 5 others ...
    changed = [uids[(2 * k + 1) * len(uids) // 20] for k in range(10)]
    gone = [uids[(4 * k + 3) * len(uids) // 20 - 1] for k in range(5)]
    c = Imap(a.port)
    c.login(a.user, a.password)
    c.cmd("SELECT INBOX")
    for u in changed:
        op = "-" if b"\\Flagged" in flags.get(u, []) else "+"
        c.cmd(f"UID STORE {u} {op}FLAGS.SILENT (\\Flagged)")
    gone_set = ",".join(map(str, gone))
    c.cmd(f"UID STORE {gone_set} +FLAGS.SILENT (\\Deleted)")
    _, un, _ = c.cmd(f"UID EXPUNGE {gone_set}")
    n_exp = sum(1 for t in un if re.match(rb"\* \d+ EXPUNGE", t))
    if n_exp != 5:
        res["errors"].append(f"UID EXPUNGE of 5: {n_exp} EXPUNGE responses")
    c.close()
    # ... and the client comes back: QRESYNC resync
    c = Imap(a.port)
    c.login(a.user, a.password)
    enable_s, _, _ = c.cmd("ENABLE QRESYNC")
    sel_s, un, nbytes = c.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))")
    fetched, vanished, other = [], [], 0
    for t in un:
        m = re.match(rb"\* \d+ FETCH \(.*\bUID (\d+)", t)
        if m:
            fetched.append(int(m.group(1)))
        elif t.startswith(b"* VANISHED (EARLIER) "):
            vanished.extend(seqset(t[21:].decode()))
        elif t.startswith(b"* VANISHED"):
            other += 1
    q = res["qresync"]
    q.update({"enable_s": enable_s, "select_s": sel_s, "bytes": nbytes, "fetch": len(fetched),
              "fetch_uids": sorted(fetched), "vanished": len(vanished), "vanished_uids": sorted(vanished),
              "vanished_without_earlier": other, "changed_uids": sorted(changed), "expunged_uids": sorted(gone),
              "exists": exists(un), "highestmodseq_after": code(un, "HIGHESTMODSEQ")})
    q["ok"] = sorted(fetched) == sorted(changed) and sorted(vanished) == sorted(gone) and other == 0
    if not q["ok"]:
        res["errors"].append(f"QRESYNC resync: {len(fetched)} FETCH (UIDs {sorted(fetched)[:20]}), "
                             f"{len(vanished)} VANISHED (EARLIER) UIDs ({sorted(vanished)[:20]}); "
                             f"want 10 FETCH {sorted(changed)} and 5 VANISHED {sorted(gone)}")
    log(f"   QRESYNC resync: {sel_s * 1000:.1f} ms, {len(fetched)} FETCH, {len(vanished)} VANISHED UIDs")
    c.close()
    # 3. a client without QRESYNC: SELECT + UID FETCH 1:* (FLAGS)
    c = Imap(a.port)
    c.login(a.user, a.password)
    s1, un, b1 = c.cmd("SELECT INBOX")
    s2, un2, b2 = c.cmd("UID FETCH 1:* (FLAGS)")
    nf = sum(1 for t in un2 if re.match(rb"\* \d+ FETCH", t))
    res["full"] = {"select_s": s1, "fetch_s": s2, "bytes": b1 + b2, "fetch": nf, "exists": exists(un)}
    if nf != a.n - 5:
        res["errors"].append(f"full resync: {nf} FETCH responses, want {a.n - 5}")
    log(f"   full resync: SELECT {s1 * 1000:.1f} ms + UID FETCH 1:* (FLAGS) {s2 * 1000:.1f} ms, {nf} FETCH")
    # 4. RSS with this session still logged in
    res["rss"] = rss(a.pid, a.tree)
    c.close()
    print(json.dumps(res))
    return 1 if res["errors"] else 0


# --------------------------------------------------------------------------------------------
# report

def compare(cmd, mine, ref):
    """How an answer compares with the reference system's."""
    if mine is None or ref is None:
        return "-"
    if mine == ref:
        return "same"
    if cmd.startswith("SORT"):
        x, y = mine.split(), ref.split()
        if len(x) != len(y):
            return f"differs: {len(x)} vs {len(y)} numbers"
        diff = [i for i in range(len(x)) if x[i] != y[i]]
        return f"differs at {len(diff)} of {len(x)} positions (first at {diff[0] + 1})"
    if cmd.startswith("THREAD"):
        def groups(s):
            out, depth, cur = [], 0, []
            for tok in re.findall(r"\(|\)|\d+", s):
                if tok == "(":
                    depth += 1
                elif tok == ")":
                    depth -= 1
                    if depth == 0:
                        out.append(frozenset(cur))
                        cur = []
                else:
                    cur.append(int(tok))
            return out
        gx, gy = groups(mine), groups(ref)
        if set(gx) == set(gy):
            return f"same {len(gx)} threads, other order or shape"
        return f"differs: {len(gx)} vs {len(gy)} threads, {len(set(gx) ^ set(gy))} not shared"
    return f"differs: {mine[:40]} vs {ref[:40]}"


def report(a):
    systems = []
    for arg in a.systems:
        label, path = arg.split("=", 1)
        try:
            systems.append((label, json.load(open(path))))
        except (OSError, ValueError):
            systems.append((label, None))
    ok = [(lbl, r) for lbl, r in systems if r]
    ref_label, ref = (ok[-1] if ok and len(ok) > 1 else (None, None))
    ms = lambda s: f"{s * 1000:,.1f}"
    head = "| command | " + " | ".join(f"{lbl} ms (cold/warm)" for lbl, _ in systems) + \
        " | response bytes (" + " / ".join(lbl for lbl, _ in systems) + ")" + \
        (f" | answer vs {ref_label}" if ref_label else "") + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    def row(name, cells, sizes, note=""):
        print(f"| {name} | " + " | ".join(cells) + " | " + " / ".join(sizes) +
              (f" | {note}" if ref_label else "") + " |")
    get = lambda r, f: f(r) if r else "-"
    row("SELECT INBOX (first after restart)", [get(r, lambda r: ms(r["select_first_s"])) for _, r in systems],
        ["-"] * len(systems))
    for cmd in COMMANDS:
        cells = [get(r, lambda r: ms(r["commands"][cmd]["cold_s"]) + " / " + ms(r["commands"][cmd]["warm_s"]))
                 for _, r in systems]
        sizes = [get(r, lambda r: f"{r['commands'][cmd]['bytes']:,}") for _, r in systems]
        notes = []
        if ref_label:
            for lbl, r in ok[:-1]:
                notes.append(compare(cmd, r["commands"][cmd]["answer"], ref["commands"][cmd]["answer"]))
            if cmd.startswith("SEARCH"):
                notes.append("; ".join(f"{lbl}: {r['commands'][cmd]['answer']}" for lbl, r in ok))
        row(cmd, cells, sizes, "; ".join(notes))
    row("QRESYNC resync: ENABLE QRESYNC", [get(r, lambda r: ms(r["qresync"]["enable_s"])) for _, r in systems],
        ["-"] * len(systems))
    row("QRESYNC resync: SELECT INBOX (QRESYNC (v m))",
        [get(r, lambda r: ms(r["qresync"]["select_s"])) for _, r in systems],
        [get(r, lambda r: f"{r['qresync']['bytes']:,}") for _, r in systems])
    row("full resync: SELECT INBOX", [get(r, lambda r: ms(r["full"]["select_s"])) for _, r in systems],
        ["-"] * len(systems))
    row("full resync: UID FETCH 1:* (FLAGS)", [get(r, lambda r: ms(r["full"]["fetch_s"])) for _, r in systems],
        [get(r, lambda r: f"{r['full']['bytes']:,}") for _, r in systems])
    print()
    status = 0
    for lbl, r in systems:
        if not r:
            print(f"{lbl}: no result (the client failed: see its log above)")
            status = 1
            continue
        q = r["qresync"]
        if "fetch" in q:
            print(f"{lbl}: QRESYNC from UIDVALIDITY {q['uidvalidity']} HIGHESTMODSEQ {q['highestmodseq']}: "
                  f"{q['fetch']} FETCH (want 10), VANISHED (EARLIER) of {q['vanished']} UIDs (want 5: "
                  f"{','.join(map(str, q['expunged_uids']))}), EXISTS {q['exists']}: "
                  + ("OK" if q["ok"] else "WRONG"))
        over = [c for c, v in r["commands"].items() if max(v["cold_s"], v["warm_s"]) >= 1]
        if over:
            print(f"   over 1 s: {', '.join(over)}")
        rs = r["rss"]
        procs_txt = ", ".join(f"{k} {v:,}" for k, v in sorted(rs["by_process"].items(), key=lambda kv: -kv[1]))
        print(f"   RSS at the end: {rs['rss_kb']:,} kB in {rs['processes']} process(es) ({procs_txt})")
        for e in r["errors"]:
            print(f"   ERROR: {e}")
            status = 1
    return status


def main():
    import argparse
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("dir")
    g.add_argument("n", type=int)
    g.add_argument("seed", type=int)
    lo = sub.add_parser("load")
    for x in ("port", "user", "password", "dir"):
        lo.add_argument(x, type=int if x == "port" else str)
    m = sub.add_parser("measure")
    for x in ("port", "user", "password", "n", "pid"):
        m.add_argument(x, type=int if x in ("port", "n", "pid") else str)
    m.add_argument("--tree", action="store_true")
    r = sub.add_parser("report")
    r.add_argument("systems", nargs="+")
    a = p.parse_args()
    sys.exit({"gen": gen, "load": load, "measure": measure, "report": report}[a.cmd](a) or 0)


if __name__ == "__main__":
    main()
PY

echo "== generating $N messages (seed $SEED)"
client gen "$T/msgs" "$N" "$SEED" | tee "$T/gen.json"

# ---------------------------------------------------------------------------------------------
# Production peers: PostgreSQL 15 and s3s-fs, loopback only, under the temp dir (as in
# bench/smtp-inbound.sh and bench/imap-stress.sh).
PG_PW=baedal-bench; S3_KEY=baedalbench; S3_SECRET=baedal-bench-secret
start_pg() {
  local d=$T/pg sync
  PGPORT=$(free_port)
  # PostgreSQL runs as the postgres user, who must traverse / to reach its binaries
  if [ $(( 0$(stat -c %a /) & 01 )) = 0 ]; then
    echo "imap-sync.sh: / is not traversable by other users (mode $(stat -c %a /)); adding o+x" >&2
    chmod o+x /
  fi
  rm -rf "$d"; mkdir -p "$d"; chown postgres: "$d"
  echo "$PG_PW" >"$d/pw"; chmod 600 "$d/pw"; chown postgres: "$d/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" -A scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 -N >"$d/initdb.log"
  if [ "$PG_FSYNC" = on ]; then sync="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  else sync="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  PG_DIR=$d
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
      -o "-p $PGPORT -k $d -c listen_addresses=127.0.0.1 $sync -c max_connections=200" \
      start >/dev/null || { cat "$d/server.log"; return 1; }
  PGPASSWORD=$PG_PW psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE baedal" >/dev/null
  PG_URL=postgres://postgres:$PG_PW@127.0.0.1:$PGPORT/baedal
}
stop_pg() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; PG_DIR=
}
start_s3() {
  S3ROOT=$T/s3/root; rm -rf "$T/s3"; mkdir -p "$S3ROOT/mailboxes"   # the bucket: a directory
  S3PORT=$(free_port)
  RUST_LOG=warn "$S3S_FS" --host 127.0.0.1 --port "$S3PORT" --access-key "$S3_KEY" \
      --secret-key "$S3_SECRET" "$S3ROOT" >"$T/s3/s3s-fs.log" 2>&1 &
  S3_PID=$!
  wait_port "$S3PORT" || { echo "s3s-fs did not listen"; cat "$T/s3/s3s-fs.log"; return 1; }
}
stop_s3() { kill -TERM "$S3_PID"; wait "$S3_PID" || true; S3_PID=; }

# ---------------------------------------------------------------------------------------------
# Baedal, one profile: run_baedal embedded|postgres|production
STATUS=0
declare -A NOTE
start_baedal() {   # start_baedal DIR: sets BAEDAL_PID and PORT (IMAPS)
  rm -f "$1/data/run/listeners.json"
  "$BAEDAL" --config "$1/baedal.toml" serve >>"$1/baedal.log" 2>&1 &
  BAEDAL_PID=$!
  for _ in $(seq 1 600); do [ -s "$1/data/run/listeners.json" ] && break; sleep 0.05; done
  PORT=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["imaps"][0].rsplit(":", 1)[1])' \
    "$1/data/run/listeners.json") || { echo "baedal did not start"; cat "$1/baedal.log"; exit 1; }
  wait_port "$PORT" || { echo "baedal did not listen"; cat "$1/baedal.log"; exit 1; }
}
stop_baedal() { kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=; }
run_baedal() {
  local prof=$1 B=$T/baedal-$1
  mkdir -p "$B"
  cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = "127.0.0.1:0"
smtps = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
[tls]
cert = "$T/cert.pem"
key = "$T/key.pem"
[verify]
enabled = false
[dns]
nameservers = ["127.0.0.1:9"]
[log]
level = "warn"
CONF
  case $prof in
    postgres)
      echo "== Baedal $prof: starting PostgreSQL (fsync=$PG_FSYNC)"
      start_pg
      printf '[database]\nurl = "%s"\n' "$PG_URL" >>"$B/baedal.toml" ;;
    production)
      echo "== Baedal $prof: starting PostgreSQL (fsync=$PG_FSYNC) and s3s-fs"
      start_pg; start_s3
      cat >>"$B/baedal.toml" <<CONF
[database]
url = "$PG_URL"
[storage]
backend = "s3"
[storage.s3]
endpoint = "http://127.0.0.1:$S3PORT"
region = "kr-central-1"
bucket = "mailboxes"
access_key = "$S3_KEY"
secret_key = "$S3_SECRET"
CONF
      ;;
  esac
  start_baedal "$B"
  "$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
  printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add bench@example.org --password-stdin --quota 0 >/dev/null
  echo "== Baedal $prof: APPEND of $N messages over one IMAPS session (LITERAL+, pipelined)"
  client load "$PORT" bench@example.org pw "$T/msgs" | tee "$B/load.json" || STATUS=1
  echo "== Baedal $prof: restart, then SORT/THREAD/SEARCH, QRESYNC and full resync"
  stop_baedal; start_baedal "$B"
  client measure "$PORT" bench@example.org pw "$N" "$BAEDAL_PID" >"$B/measure.json" || STATUS=1
  stop_baedal
  local warns; warns=$(grep -cE ' (WARN|ERROR) ' "$B/baedal.log" || true)
  if [ "$warns" != 0 ]; then
    NOTE[$prof]="baedal.log: $warns warning/error lines; commonest:"$'\n'"$(grep -E ' (WARN|ERROR) ' "$B/baedal.log" |
      sed -E 's/^[^ ]+ +//; s/session=[0-9a-f]+/session=S/; s/peer=[0-9.:]+/peer=P/; s/[0-9]+/N/g' |
      sort | uniq -c | sort -rn | head -3 | cut -c1-220)"
  fi
  [ -n "$S3_PID" ] && stop_s3
  [ -n "$PG_DIR" ] && stop_pg
  return 0
}

for prof in $PROFILES; do run_baedal "$prof"; done

# ---------------------------------------------------------------------------------------------
# Dovecot 2.3: IMAPS, a passwd-file user with a bcrypt cost-12 password (BLF-CRYPT, Baedal's
# scheme and cost), everything else Dovecot's defaults.
D=$T/dovecot
if [ -n "$RUN_DOVECOT" ]; then
  mkdir -p "$D/run" "$D/mail"; chown nobody:nogroup "$D/mail"
  DPORT=$(free_port)
  echo "bench@example.org:$(doveadm pw -s BLF-CRYPT -r 12 -p pw)::::::" >"$D/users"; chmod 644 "$D/users"
  case $DOVECOT_STORAGE in
    sdbox) location="sdbox:~/sdbox" ;;
    mdbox) location="mdbox:~/mdbox" ;;
    maildir) location="maildir:~/Maildir" ;;
  esac
  cat >"$D/dovecot.conf" <<CONF
# self-contained: nothing from /etc/dovecot is read; everything else is Dovecot's default
instance_name = imapsync-$(basename "$T")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = imap
mail_location = $location
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
ssl = yes
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=BLF-CRYPT username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
  default_fields = home=$D/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $DPORT
    ssl = yes
  }
}
CONF
  dovecot -c "$D/dovecot.conf" -n >/dev/null
  start_dovecot() {
    dovecot -c "$D/dovecot.conf" -F >>"$D/stdout.log" 2>&1 &
    DOVECOT_PID=$!
    wait_port "$DPORT" || { echo "dovecot did not listen"; cat "$D/stdout.log" "$D/dovecot.log"; exit 1; }
  }
  stop_dovecot() { kill -TERM "$DOVECOT_PID"; wait "$DOVECOT_PID" || true; DOVECOT_PID=; }
  start_dovecot
  echo "== Dovecot ($DOVECOT_STORAGE): APPEND of $N messages over one IMAPS session (LITERAL+, pipelined)"
  client load "$DPORT" bench@example.org pw "$T/msgs" | tee "$D/load.json" || STATUS=1
  echo "== Dovecot ($DOVECOT_STORAGE): restart, then SORT/THREAD/SEARCH, QRESYNC and full resync"
  stop_dovecot; start_dovecot
  client measure "$DPORT" bench@example.org pw "$N" "$DOVECOT_PID" --tree >"$D/measure.json" || STATUS=1
  stop_dovecot
  warns=$(grep -E '(Warning|Error|Fatal|Panic):' "$D/dovecot.log" | grep -vc 'Killed with signal 15' || true)
  if [ "$warns" != 0 ]; then
    NOTE[dovecot]="dovecot.log: $warns warning/error lines; commonest:"$'\n'"$(grep -E '(Warning|Error|Fatal|Panic):' "$D/dovecot.log" | grep -v 'Killed with signal 15' |
      sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} //; s/<[^>]*>//g; s/\([^)]*\)//g; s/[0-9]+/N/g' |
      sort | uniq -c | sort -rn | head -3 | cut -c1-220)"
  fi
fi

# ---------------------------------------------------------------------------------------------
echo
echo "IMAP resync, SORT and THREAD on an INBOX of $N messages over IMAPS, one run; ms: wall time at the client,"
echo "command sent to tagged OK; cold: the first time since the server started, warm: right after"
args=()
for prof in $PROFILES; do args+=("baedal $prof=$T/baedal-$prof/measure.json"); done
[ -n "$RUN_DOVECOT" ] && args+=("dovecot $DOVECOT_STORAGE=$D/measure.json")
client report "${args[@]}" || STATUS=1
for prof in $PROFILES; do
  [ -s "$T/baedal-$prof/load.json" ] && echo "load, baedal $prof: $(cat "$T/baedal-$prof/load.json")"
done
[ -s "$D/load.json" ] && echo "load, dovecot $DOVECOT_STORAGE: $(cat "$D/load.json")"
for key in $PROFILES dovecot; do
  [ -n "${NOTE[$key]:-}" ] && echo "${key}: ${NOTE[$key]}"
done
echo "load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
others
[ "$STATUS" = 0 ] || { echo "FAILED: see the errors above"; exit 1; }
