#!/usr/bin/env python3
"""Client side of bench/imap.sh: generates the messages, loads a mailbox, times IMAP fetches and
holds IDLE sessions. Standard library only. Every subcommand prints one JSON object on stdout
(progress goes to stderr); `report` turns the JSON files into the table.

  gen DIR N SEED                                write N messages DIR/00001.eml ... + manifest.json
  deliver smtp|lmtp HOST PORT RCPT DIR CONC     deliver every DIR/*.eml over CONC sessions
  sync HOST PORT USER PW DIR RUNS NFULL         header sync x RUNS, NFULL full bodies x RUNS
  idle HOST PORT USER PW N --pid PID --tree ... N sessions in IDLE: RSS, CPU, wake-up latency
  report BAEDAL_DIR DOVECOT_DIR                 the table
"""
import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import smtplib
import socket
import ssl
import statistics
import sys
import threading
import time

HEADER_FIELDS = ("From To Cc Bcc Subject Date Message-ID Priority X-Priority References "
                 "Newsgroups In-Reply-To Content-Type Reply-To")
HEADER_SYNC = f"UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
ENVELOPE_FROM = "sender@bench-client.example"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# gen: realistic mail, 4-10 KB, fixed seed so both servers get byte-identical input

FIRST = ["Minjun", "Seoyeon", "Jiho", "Hayoon", "Doyoon", "Jiwoo", "Anna", "Ben", "Carla", "David",
         "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kim", "Lena", "Marco", "Nora"]
LAST = ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Smith", "Garcia", "Müller",
        "Rossi", "Tanaka", "Novak", "Dubois", "Silva", "Jensen", "O'Brien"]
DOMAINS = ["example.com", "mail.example.net", "corp.example", "lists.example.org", "partner.example",
           "university.example.edu", "shop.example"]
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which "
         "but have an they you were her all she there would their we him been has when who will more "
         "no if out so said what up its about into than them can only other new some could time these "
         "two may then do first any my now such like our over man me even most made after also did "
         "many before must through back years where much your way well down should because each just "
         "those people how too little state good very make world still own see men work long get here "
         "between both life being under never day same another know while last might us great old year "
         "off come since against go came right used take three quarterly report budget meeting agenda "
         "release deadline invoice shipment server migration backup review draft contract").split()
TOPICS = ["Quarterly report", "Meeting agenda", "Invoice", "Release notes", "Server migration",
          "Weekly sync", "Budget review", "Project update", "Travel plans", "Contract draft",
          "Backup failed", "Your order has shipped", "Newsletter", "Action required", "Lunch"]
KOREAN = ["회의 일정 안내", "주간 보고서", "견적서 송부", "서버 점검 공지", "계약서 검토 요청",
          "출장 일정", "신규 입사자 안내", "월간 뉴스레터"]


def encoded_word(text):
    import base64
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    addr = f"{first.lower()}.{re.sub('[^a-z]', '', last.lower()) or 'x'}@{rng.choice(DOMAINS)}"
    name = f"{first} {last}"
    if not name.isascii():
        name = encoded_word(name)
    elif rng.random() < 0.5:
        name = f'"{name}"'
    return f"{name} <{addr}>", addr


def paragraph(rng, nbytes):
    out, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        if sum(len(x) + 1 for x in line) > 66:
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return out


def gen(args):
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    base = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    manifest, earlier = [], []
    for i in range(1, args.n + 1):
        target = rng.randint(4096, 10240)
        date = base + dt.timedelta(seconds=i * 6000 + rng.randint(0, 5000))
        from_hdr, from_addr = person(rng)
        dom = from_addr.split("@")[1]
        mid = f"<{date.strftime('%Y%m%d%H%M%S')}.{i:05d}.{rng.getrandbits(40):010x}@{dom}>"
        topic = rng.choice(TOPICS) + " " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 5)))
        if rng.random() < 0.1:
            topic = encoded_word(rng.choice(KOREAN))
        h = [f"Received: from mail.{dom} (mail.{dom} [192.0.2.{rng.randint(1, 254)}])\r\n"
             f"\tby mx1.example.org with ESMTPS id {rng.getrandbits(48):012x}\r\n"
             f"\tfor <bench@example.org>; {date.strftime('%a, %d %b %Y %H:%M:%S %z')}",
             f"From: {from_hdr}",
             "To: " + ", ".join(["Bench User <bench@example.org>"] +
                                [person(rng)[0] for _ in range(rng.choice([0, 0, 0, 1, 2]))])]
        if rng.random() < 0.35:
            h.append("Cc: " + ", ".join(person(rng)[0] for _ in range(rng.randint(1, 3))))
        if earlier and rng.random() < 0.3:
            parent = rng.choice(earlier[-200:])
            h.append(f"Subject: Re: {parent[1]}")
            h.append(f"In-Reply-To: {parent[0]}")
            h.append(f"References: {parent[2]} {parent[0]}".replace("  ", " ").strip())
            subject = "Re: " + parent[1]
            refs = (parent[2] + " " + parent[0]).strip()
        else:
            h.append(f"Subject: {topic}")
            subject, refs = topic, ""
        h.append(f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S %z')}")
        h.append(f"Message-ID: {mid}")
        if rng.random() < 0.2:
            h.append(f"Reply-To: {person(rng)[0]}")
        if rng.random() < 0.1:
            h.append("X-Priority: 1 (Highest)")
        if rng.random() < 0.15:
            h.append(f"List-Id: <announce.{dom}>")
            h.append(f"List-Unsubscribe: <mailto:leave-announce@{dom}>")
        h.append(rng.choice(["User-Agent: Mozilla Thunderbird 115.6.0",
                             "X-Mailer: Microsoft Outlook 16.0", "X-Mailer: Apple Mail (2.3774)"]))
        h.append("MIME-Version: 1.0")
        kind = rng.random()
        head_len = sum(len(x) + 2 for x in h) + 120
        room = max(600, target - head_len)
        if kind < 0.55:
            h.append("Content-Type: text/plain; charset=utf-8; format=flowed")
            h.append("Content-Transfer-Encoding: 7bit")
            body = paragraph(rng, room)
        else:
            b = f"----=_Part_{i}_{rng.getrandbits(32):08x}"
            h.append(f'Content-Type: {"multipart/alternative" if kind < 0.85 else "multipart/mixed"};'
                     f'\r\n\tboundary="{b}"')
            if kind < 0.85:
                text = paragraph(rng, room * 2 // 5)
                html = ["<html><body>"] + [f"<p>{x}</p>" for x in paragraph(rng, room * 2 // 5)] + \
                       ["</body></html>"]
                body = ["This is a multi-part message in MIME format.", "", f"--{b}",
                        "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit", ""] + \
                    text + ["", f"--{b}", "Content-Type: text/html; charset=utf-8",
                            "Content-Transfer-Encoding: 7bit", ""] + html + ["", f"--{b}--", ""]
            else:
                import base64
                blob = base64.encodebytes(rng.randbytes(room * 2 // 5)).decode().split("\n")
                text = paragraph(rng, room // 4)
                body = ["This is a multi-part message in MIME format.", "", f"--{b}",
                        "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit", ""] + \
                    text + ["", f"--{b}", f'Content-Type: application/pdf; name="scan-{i}.pdf"',
                            f'Content-Disposition: attachment; filename="scan-{i}.pdf"',
                            "Content-Transfer-Encoding: base64", ""] + [x for x in blob if x] + \
                    ["", f"--{b}--", ""]
        data = ("\r\n".join(h) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()
        with open(os.path.join(args.dir, f"{i:05d}.eml"), "wb") as f:
            f.write(data)
        earlier.append((mid, subject.removeprefix("Re: "), refs))
        manifest.append({"message_id": mid, "size": len(data)})
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    sizes = [m["size"] for m in manifest]
    print(json.dumps({"messages": len(sizes), "bytes": sum(sizes), "min": min(sizes),
                      "max": max(sizes), "mean": round(statistics.mean(sizes))}))


# --------------------------------------------------------------------------------------------
# deliver: SMTP (Baedal) or LMTP (Dovecot), CONC persistent sessions in threads

def message_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".eml"))


def deliver_one(proto, host, port, rcpt, path):
    c = smtplib.SMTP(host, port, local_hostname="bench-client.example", timeout=120) if proto == "smtp" \
        else smtplib.LMTP(host, port, local_hostname="bench-client.example", timeout=120)
    with open(path, "rb") as f:
        c.sendmail(ENVELOPE_FROM, [rcpt], f.read())
    c.quit()


def deliver(args):
    files = message_files(args.dir)
    lock, pos, errors = threading.Lock(), [0], []

    def worker():
        try:
            c = smtplib.SMTP(args.host, args.port, local_hostname="bench-client.example", timeout=300) \
                if args.proto == "smtp" else \
                smtplib.LMTP(args.host, args.port, local_hostname="bench-client.example", timeout=300)
            while True:
                with lock:
                    if pos[0] >= len(files):
                        break
                    path = files[pos[0]]
                    pos[0] += 1
                    if pos[0] % 1000 == 0:
                        log(f"   {pos[0]}/{len(files)}")
                with open(path, "rb") as f:
                    c.sendmail(ENVELOPE_FROM, [args.rcpt], f.read())
            c.quit()
        except Exception as e:  # noqa: BLE001 - reported, the shell decides
            errors.append(repr(e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    print(json.dumps({"delivered": len(files), "seconds": round(secs, 3),
                      "per_second": round(len(files) / secs, 1), "errors": errors[:5]}))
    return 1 if errors else 0


# --------------------------------------------------------------------------------------------
# A small blocking IMAP client that reads literals exactly (no imaplib: it is slow on 10k lines)

class ImapError(Exception):
    pass


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False          # both servers use the same throwaway self-signed cert
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Imap:
    def __init__(self, host, port, ctx):
        raw = socket.create_connection((host, port), timeout=600)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.f = self.sock.makefile("rb", buffering=1 << 17)
        self.n = 0
        self.bytes = 0
        self.greeting = self.f.readline()
        if not self.greeting.startswith(b"* OK"):
            raise ImapError(f"greeting {self.greeting!r}")

    def response(self):
        """One response: (first line without CRLF, [pieces of text], [literals])."""
        texts, lits = [], []
        while True:
            line = self.f.readline()
            if not line:
                raise ImapError("connection closed")
            self.bytes += len(line)
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if not m:
                texts.append(line.rstrip(b"\r\n"))
                return texts, lits
            texts.append(line[:m.start()])
            lit = self.f.read(int(m.group(1)))
            self.bytes += len(lit)
            lits.append(lit)

    def cmd(self, text):
        """Sends one command; returns (tagged line, untagged responses); NO/BAD raise."""
        self.n += 1
        tag = f"b{self.n}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            texts, lits = self.response()
            if texts[0].startswith(tag + b" "):
                if not texts[0].startswith(tag + b" OK"):
                    raise ImapError(f"{text[:60]!r} -> {texts[0]!r}")
                return texts[0], untagged
            untagged.append((b"".join(texts), lits))

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:  # noqa: BLE001 - the server closes after BYE
            pass
        self.sock.close()


def parse_fetch(text):
    uid = re.search(rb"\bUID (\d+)", text)
    size = re.search(rb"RFC822\.SIZE (\d+)", text)
    flags = re.search(rb"FLAGS \(([^)]*)\)", text)
    return (int(uid.group(1)) if uid else None, int(size.group(1)) if size else None,
            flags.group(1) if flags else None)


def sync(args):
    ctx = tls_context()
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    want_ids = {m["message_id"] for m in manifest}
    runs, notes = [], []
    uids, sizes = [], {}
    for r in range(args.runs):
        t0 = time.monotonic()
        c = Imap(args.host, args.port, ctx)
        t_conn = time.monotonic()
        c.cmd(f'LOGIN "{args.user}" "{args.password}"')
        t_login = time.monotonic()
        _, sel = c.cmd("SELECT INBOX")
        t_select = time.monotonic()
        _, fetched = c.cmd(HEADER_SYNC)
        t_fetch = time.monotonic()
        c.close()
        exists = [int(t.split()[1]) for t, _ in sel if t.endswith(b" EXISTS")]
        fetches = [(t, lits) for t, lits in fetched if re.match(rb"\* \d+ FETCH ", t)]
        ids, bad, header_bytes = set(), 0, 0
        uids, sizes = [], {}
        for text, lits in fetches:
            uid, size, flags = parse_fetch(text)
            if uid is None or size is None or flags is None or len(lits) != 1:
                bad += 1
                continue
            uids.append(uid)
            sizes[uid] = size
            header_bytes += len(lits[0])
            m = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", lits[0])
            if m:
                ids.add(m.group(1).decode())
            if not lits[0].endswith(b"\r\n\r\n") and not lits[0] == b"\r\n":
                bad += 1
        run = {"connect_tls_s": t_conn - t0, "login_s": t_login - t_conn, "select_s": t_select - t_login,
               "fetch_s": t_fetch - t_select, "total_s": t_fetch - t0,
               "exists": exists[0] if exists else None, "fetch_responses": len(fetches),
               "other_untagged": len(fetched) - len(fetches), "malformed": bad,
               "header_literal_bytes": header_bytes, "bytes_received": c.bytes,
               "message_ids_missing": len(want_ids - ids), "message_ids_extra": len(ids - want_ids)}
        runs.append(run)
        log(f"   header sync run {r + 1}: {run['total_s']:.3f} s (login {run['login_s']:.3f}, "
            f"select {run['select_s']:.3f}, fetch {run['fetch_s']:.3f}), {len(fetches)} FETCH, "
            f"{c.bytes} bytes")
    # full bodies: NFULL UIDs spread over the mailbox, one UID FETCH and NFULL single ones
    uids.sort()
    pick = sorted({uids[i * len(uids) // args.nfull] for i in range(args.nfull)}) if uids else []
    full_runs = []
    for r in range(args.runs):
        c = Imap(args.host, args.port, ctx)
        c.cmd(f'LOGIN "{args.user}" "{args.password}"')
        c.cmd("SELECT INBOX")
        t0 = time.monotonic()
        _, got = c.cmd("UID FETCH " + ",".join(map(str, pick)) + " (BODY.PEEK[])")
        t1 = time.monotonic()
        singles = []
        for u in pick:
            _, one = c.cmd(f"UID FETCH {u} (BODY.PEEK[])")
            singles.extend(one)
        t2 = time.monotonic()
        c.close()
        bad, body_bytes = 0, 0
        for text, lits in got + singles:
            if not re.match(rb"\* \d+ FETCH ", text):
                continue
            uid, _, _ = parse_fetch(text)
            if len(lits) != 1 or uid not in sizes or len(lits[0]) != sizes[uid]:
                bad += 1
            body_bytes += sum(map(len, lits))
        full_runs.append({"one_command_s": t1 - t0, "single_commands_s": t2 - t1,
                          "fetched": sum(1 for t, _ in got if re.match(rb"\* \d+ FETCH ", t)),
                          "bytes": body_bytes // 2, "size_mismatch": bad})
        log(f"   {len(pick)} full bodies run {r + 1}: one UID FETCH {t1 - t0:.4f} s, "
            f"{len(pick)} UID FETCHes {t2 - t1:.4f} s")
        if bad:
            notes.append(f"full fetch run {r + 1}: {bad} bodies whose length differs from RFC822.SIZE")
    out = {"runs": runs, "full_runs": full_runs, "nfull": len(pick), "notes": notes,
           "header_sync_median_s": statistics.median(x["total_s"] for x in runs),
           "header_fetch_median_s": statistics.median(x["fetch_s"] for x in runs),
           "full_one_median_s": statistics.median(x["one_command_s"] for x in full_runs),
           "full_single_median_s": statistics.median(x["single_commands_s"] for x in full_runs)}
    print(json.dumps(out))


# --------------------------------------------------------------------------------------------
# idle: N sessions in IDLE; RSS and CPU of the server; time until one delivery reaches all

def procs(pid, tree):
    """The server's processes: PID alone, or PID and its children (Dovecot's master)."""
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


def comm(p):
    try:
        return open(f"/proc/{p}/comm").read().strip()
    except OSError:
        return "?"


def memory(pid, tree):
    """kB: summed VmRSS and Pss, peak VmHWM of PID, and a count of processes by name."""
    rss = pss = 0
    names = {}
    for p in procs(pid, tree):
        try:
            rss += int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{p}/status").read()).group(1))
            pss += int(re.search(r"Pss:\s+(\d+)", open(f"/proc/{p}/smaps_rollup").read()).group(1))
        except (OSError, AttributeError):
            continue
        names[comm(p)] = names.get(comm(p), 0) + 1
    hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))
    return {"rss_kb": rss, "pss_kb": pss, "hwm_kb": hwm, "processes": names}


def cpu_ticks(pid, tree):
    ticks = {}
    for p in procs(pid, tree):
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        ticks[p] = int(f[11]) + int(f[12])          # utime + stime
    return ticks


async def read_until(reader, pred, timeout):
    async def go():
        while True:
            line = await reader.readline()
            if not line:
                raise ImapError("connection closed")
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if m:                                   # skip a literal (none expected here)
                await reader.readexactly(int(m.group(1)))
            if pred(line):
                return line
    return await asyncio.wait_for(go(), timeout)


class Held:
    """One session in IDLE; a task reads what the server sends while it is held."""
    def __init__(self, r, w):
        self.r, self.w = r, w
        self.closed_at = None       # monotonic time the server closed the connection
        self.exists_at = None       # seconds from the new delivery to "* N EXISTS"
        self.bye = None
        self.task = None

    async def pump(self, wake_t0):
        while True:
            line = await self.r.readline()
            if not line:
                self.closed_at = time.monotonic()
                return
            if line.startswith(b"* BYE"):
                self.bye = line.strip().decode(errors="replace")
            if line.endswith(b" EXISTS\r\n") and wake_t0[0] is not None and self.exists_at is None:
                self.exists_at = time.monotonic() - wake_t0[0]


async def idle_main(args):
    ctx = tls_context()
    sem = asyncio.Semaphore(args.parallel)
    held, errors = [], []
    wake_t0 = [None]
    if args.mailbox.upper() != "INBOX":             # an empty mailbox to sit in
        c = Imap(args.host, args.port, ctx)
        c.cmd(f'LOGIN "{args.user}" "{args.password}"')
        try:
            c.cmd(f'CREATE "{args.mailbox}"')
        except ImapError:
            pass                                    # it exists already
        c.close()
    before = memory(args.pid, args.tree)
    log(f"   server before: RSS {before['rss_kb'] / 1024:.1f} MB, PSS {before['pss_kb'] / 1024:.1f} MB")

    async def open_one(i):
        async with sem:
            w = None
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    args.host, args.port, ssl=ctx, server_hostname="localhost"), 120)
                await read_until(r, lambda l: l.startswith(b"* "), 120)
                for tag, cmd in ((b"a", f'LOGIN "{args.user}" "{args.password}"'),
                                 (b"s", f'SELECT "{args.mailbox}"')):
                    w.write(tag + b" " + cmd.encode() + b"\r\n")
                    line = await read_until(r, lambda l, t=tag: l.startswith(t + b" "), 300)
                    if not line.startswith(tag + b" OK"):
                        raise ImapError(f"{cmd.split()[0]} -> {line!r}")
                w.write(b"i IDLE\r\n")
                line = await read_until(r, lambda l: l.startswith(b"+") or l.startswith(b"i "), 120)
                if not line.startswith(b"+"):
                    raise ImapError(f"IDLE -> {line!r}")
                h = Held(r, w)
                h.task = asyncio.ensure_future(h.pump(wake_t0))
                held.append(h)
                w = None
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                errors.append(f"session {i}: {e!r}")
            finally:
                if w is not None:
                    w.close()
            if (i + 1) % 100 == 0:
                log(f"   {len(held)} sessions in IDLE ({time.monotonic() - t0:.0f} s)")

    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(open_one(i)) for i in range(args.n)]
    _, pending = await asyncio.wait(tasks, timeout=args.setup_timeout)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    setup_s = time.monotonic() - t0
    open_now = lambda: sum(1 for h in held if h.closed_at is None)  # noqa: E731
    log(f"   {len(held)}/{args.n} sessions reached IDLE in {setup_s:.1f} s"
        + (f" (gave up on {len(pending)} after the {args.setup_timeout:.0f} s limit)" if pending else "")
        + f", {open_now()} still open; settling {args.settle} s")
    await asyncio.sleep(args.settle)
    with_n = memory(args.pid, args.tree)
    open_at_with = open_now()
    c0, w0 = cpu_ticks(args.pid, args.tree), time.monotonic()
    await asyncio.sleep(args.cpu_window)
    c1, w1 = cpu_ticks(args.pid, args.tree), time.monotonic()
    cpu_s = sum(c1[p] - c0[p] for p in c1 if p in c0) / os.sysconf("SC_CLK_TCK")
    with_after = memory(args.pid, args.tree)
    open_at_after = open_now()
    log(f"   server with {open_at_after} sessions in IDLE: RSS {with_after['rss_kb'] / 1024:.1f} MB, "
        f"PSS {with_after['pss_kb'] / 1024:.1f} MB, CPU {100 * cpu_s / (w1 - w0):.0f}% of one core")

    # One new message in INBOX: how long until each IDLE session hears "* N EXISTS"
    wake_error, deliver_s, woke = None, None, []
    waiting = [h for h in held if h.closed_at is None]
    if args.mailbox.upper() == "INBOX" and waiting:
        wake_t0[0] = time.monotonic()
        try:
            await asyncio.to_thread(deliver_one, args.wake_proto, args.host, args.wake_port, args.user,
                                    args.wake_msg)
        except Exception as e:  # noqa: BLE001 - reported
            wake_error = repr(e)
            log(f"   delivery of the new message failed: {wake_error}")
        deliver_s = time.monotonic() - wake_t0[0]
        deadline = wake_t0[0] + args.wake_timeout
        while time.monotonic() < deadline and any(h.exists_at is None and h.closed_at is None
                                                  for h in waiting):
            await asyncio.sleep(0.05)
        woke = sorted(h.exists_at for h in waiting if h.exists_at is not None)
        log(f"   new message seen by {len(woke)}/{len(waiting)} IDLE sessions"
            + (f", median {statistics.median(woke):.2f} s, last {woke[-1]:.2f} s" if woke else ""))
    closed = [h for h in held if h.closed_at is not None]
    byes = sorted({h.bye for h in closed if h.bye})

    # DONE and LOGOUT, in parallel batches
    done_errors = []

    async def finish(h):
        h.task.cancel()
        await asyncio.gather(h.task, return_exceptions=True)
        if h.closed_at is not None:
            h.w.close()
            return
        async with sem:
            try:
                h.w.write(b"DONE\r\n")
                line = await read_until(h.r, lambda l: l.startswith(b"i "), 60)
                if not line.startswith(b"i OK"):
                    done_errors.append(repr(line))
                h.w.write(b"z LOGOUT\r\n")
                await read_until(h.r, lambda l: l.startswith(b"z "), 60)
            except Exception as e:  # noqa: BLE001
                done_errors.append(repr(e))
            h.w.close()

    await asyncio.gather(*(finish(h) for h in held))
    print(json.dumps({
        "requested": args.n, "mailbox": args.mailbox, "sessions": len(held),
        "open_with": open_at_with, "open_after_cpu_window": open_at_after,
        "closed_by_server": len(closed), "byes": byes[:3],
        "setup_s": round(setup_s, 2), "setup_gave_up": len(pending),
        "errors": errors[:5], "error_count": len(errors), "before": before, "with": with_n,
        "with_after_cpu_window": with_after, "cpu_window_s": round(w1 - w0, 2),
        "cpu_s": round(cpu_s, 2), "cpu_percent": round(100 * cpu_s / (w1 - w0), 1),
        "wake_deliver_s": None if deliver_s is None else round(deliver_s, 3),
        "wake_error": wake_error, "wake_waiting": len(waiting) if deliver_s is not None else 0,
        "woken": len(woke), "wake_timeout_s": args.wake_timeout,
        "wake_median_s": round(statistics.median(woke), 3) if woke else None,
        "wake_max_s": round(woke[-1], 3) if woke else None,
        "done_errors": done_errors[:5], "done_error_count": len(done_errors)}))


def idle(args):
    asyncio.run(idle_main(args))


# --------------------------------------------------------------------------------------------
# report

def report(args):
    def load(d, name):
        try:
            return json.load(open(os.path.join(d, name)))
        except (OSError, ValueError):
            return None

    b = {k: load(args.baedal, k + ".json") for k in ("load", "sync", "idle")}
    d = {k: load(args.dovecot, k + ".json") for k in ("load", "sync", "idle")}
    rows = []

    def row(label, bv, dv, unit, fmt="{:.3f}", comparable=True):
        ratio = f"{bv / dv:.2f}" if bv is not None and dv and comparable else "-"
        show = lambda v: (fmt.format(v) + unit) if v is not None else "skipped"  # noqa: E731
        rows.append((label, show(bv), show(dv), ratio))

    g = lambda x, *ks: None if x is None else (  # noqa: E731
        x.get(ks[0]) if len(ks) == 1 else g(x.get(ks[0]), *ks[1:]))
    n = args.messages
    row(f"header sync, {n} msgs (connect..FETCH done)", g(b["sync"], "header_sync_median_s"),
        g(d["sync"], "header_sync_median_s"), " s")
    row("  of which the UID FETCH 1:* alone", g(b["sync"], "header_fetch_median_s"),
        g(d["sync"], "header_fetch_median_s"), " s")
    nf = g(b["sync"], "nfull") or g(d["sync"], "nfull")
    row(f"{nf} full bodies, one UID FETCH", g(b["sync"], "full_one_median_s"),
        g(d["sync"], "full_one_median_s"), " s", "{:.4f}")
    row(f"{nf} full bodies, {nf} UID FETCH commands", g(b["sync"], "full_single_median_s"),
        g(d["sync"], "full_single_median_s"), " s", "{:.4f}")
    mb = lambda x, *ks: None if g(x, *ks) is None else g(x, *ks) / 1024  # noqa: E731
    bi, di = b["idle"], d["idle"]
    counts = sorted({x["open_after_cpu_window"] for x in (bi, di) if x})
    ns = "/".join(map(str, counts)) or "no"
    box = (bi or di or {}).get("mailbox", "INBOX")
    same = bool(bi and di and bi["open_after_cpu_window"] == di["open_after_cpu_window"])
    row(f"setup of {ns} IDLE sessions in {box}, {args.parallel} at once", g(bi, "setup_s"), g(di, "setup_s"),
        " s", "{:.0f}", same)
    row("server RSS before the IDLE sessions", mb(bi, "before", "rss_kb"), mb(di, "before", "rss_kb"),
        " MB", "{:.1f}")
    row(f"server RSS with {ns} sessions in IDLE", mb(bi, "with_after_cpu_window", "rss_kb"),
        mb(di, "with_after_cpu_window", "rss_kb"), " MB", "{:.1f}", same)
    row("  same, PSS (shared pages split)", mb(bi, "with_after_cpu_window", "pss_kb"),
        mb(di, "with_after_cpu_window", "pss_kb"), " MB", "{:.1f}", same)
    grow = lambda x: None if x is None else (  # noqa: E731
        x["with_after_cpu_window"]["pss_kb"] - x["before"]["pss_kb"]) / max(1, x["open_after_cpu_window"])
    row("  PSS growth per IDLE session", grow(bi), grow(di), " kB", "{:.0f}")
    row("server CPU while they sit in IDLE (10 s)", g(bi, "cpu_percent"), g(di, "cpu_percent"), " %", "{:.0f}",
        same)
    wake = lambda x: None if not x or not x.get("woken") else x["wake_max_s"]  # noqa: E731
    row("one new mail: last IDLE session told", wake(bi), wake(di), " s", "{:.2f}")
    row(f"load {n} msgs (Baedal SMTP, Dovecot LMTP)", g(b["load"], "seconds"), g(d["load"], "seconds"),
        " s", "{:.1f}")
    w = max(len(r[0]) for r in rows)
    gen = load(os.path.dirname(args.gen), os.path.basename(args.gen)) if args.gen else None
    print(f"IMAP over IMAPS, INBOX of {n} messages"
          + (f" ({gen['min']}-{gen['max']} B, mean {gen['mean']} B)" if gen else "")
          + f"; medians of {args.runs} runs; ratio > 1: Baedal takes more time / memory / CPU")
    if not same and bi and di:
        print("(the two servers held different numbers of IDLE sessions: compare the per-session row)")
    print(f"{'measurement':<{w}}  {'Baedal':>12}  {'Dovecot':>12}  {'Baedal/Dovecot':>14}")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>12}  {r[2]:>12}  {r[3]:>14}")
    print()
    for name, x in (("Baedal", b), ("Dovecot", d)):
        s = x["sync"]
        if s:
            print(f"{name} header sync runs (s): " + ", ".join(f"{r['total_s']:.3f}" for r in s["runs"])
                  + f"; per run: {s['runs'][-1]['fetch_responses']} FETCH responses, "
                  f"{s['runs'][-1]['bytes_received']} bytes, header literals "
                  f"{s['runs'][-1]['header_literal_bytes']} bytes; last run: connect+TLS "
                  f"{s['runs'][-1]['connect_tls_s']:.3f}, LOGIN {s['runs'][-1]['login_s']:.3f}, "
                  f"SELECT {s['runs'][-1]['select_s']:.3f}, FETCH {s['runs'][-1]['fetch_s']:.3f}")
            for r in s["runs"]:
                problems = {k: r[k] for k in ("malformed", "message_ids_missing", "message_ids_extra",
                                              "other_untagged") if r[k]}
                if problems or r["exists"] != n or r["fetch_responses"] != n:
                    print(f"  ! {name}: EXISTS {r['exists']}, FETCH responses {r['fetch_responses']}, {problems}")
            for note in s["notes"]:
                print(f"  ! {name}: {note}")
        i = x["idle"]
        if i:
            print(f"{name} IDLE in {i['mailbox']}: {i['sessions']}/{i['requested']} sessions reached IDLE in "
                  f"{i['setup_s']} s (connect+TLS+LOGIN+SELECT+IDLE, {args.parallel} at a time), "
                  f"{i['open_after_cpu_window']} still open when measured; processes "
                  f"{i['with_after_cpu_window']['processes']}"
                  + (f"; new mail told to {i['woken']}/{i['wake_waiting']} within {i['wake_timeout_s']:.0f} s"
                     if i["wake_deliver_s"] is not None else "")
                  + (f" (median {i['wake_median_s']} s)" if i["woken"] else "")
                  + (f"; delivery failed: {i['wake_error']}" if i["wake_error"] else ""))
            if i["error_count"]:
                print(f"  ! {name}: {i['error_count']} sessions failed to set up, e.g. {i['errors'][:2]}")
            if i["setup_gave_up"]:
                print(f"  ! {name}: gave up on {i['setup_gave_up']} sessions at the setup time limit")
            if i["closed_by_server"]:
                print(f"  ! {name}: the server closed {i['closed_by_server']} sessions while they sat in IDLE"
                      + (f" ({i['byes']})" if i["byes"] else ""))
            if i["done_error_count"]:
                print(f"  ! {name}: {i['done_error_count']} DONE/LOGOUT errors, e.g. {i['done_errors'][:2]}")
        if x["load"] and x["load"]["errors"]:
            print(f"  ! {name} load errors: {x['load']['errors']}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("gen")
    s.add_argument("dir"); s.add_argument("n", type=int); s.add_argument("seed", type=int)
    s = sub.add_parser("deliver")
    s.add_argument("proto", choices=["smtp", "lmtp"]); s.add_argument("host"); s.add_argument("port", type=int)
    s.add_argument("rcpt"); s.add_argument("dir"); s.add_argument("conc", type=int)
    s = sub.add_parser("sync")
    s.add_argument("host"); s.add_argument("port", type=int); s.add_argument("user"); s.add_argument("password")
    s.add_argument("dir"); s.add_argument("runs", type=int); s.add_argument("nfull", type=int)
    s = sub.add_parser("idle")
    s.add_argument("host"); s.add_argument("port", type=int); s.add_argument("user"); s.add_argument("password")
    s.add_argument("n", type=int)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--tree", action="store_true", help="count PID's children too (Dovecot)")
    s.add_argument("--parallel", type=int, default=20, help="sessions set up at the same time")
    s.add_argument("--settle", type=float, default=5)
    s.add_argument("--cpu-window", type=float, default=10)
    s.add_argument("--wake-proto", choices=["smtp", "lmtp"], required=True)
    s.add_argument("--wake-port", type=int, required=True)
    s.add_argument("--wake-msg", required=True)
    s.add_argument("--wake-timeout", type=float, default=120)
    s.add_argument("--setup-timeout", type=float, default=900,
                   help="stop opening sessions after this many seconds and measure those open")
    s.add_argument("--mailbox", default="INBOX", help="the mailbox the sessions select (created if missing)")
    s = sub.add_parser("report")
    s.add_argument("baedal"); s.add_argument("dovecot"); s.add_argument("--messages", type=int, default=0)
    s.add_argument("--parallel", type=int, default=20)
    s.add_argument("--runs", type=int, default=3)
    s.add_argument("--gen", help="gen's JSON output (message sizes)")
    a = p.parse_args()
    sys.exit({"gen": gen, "deliver": deliver, "sync": sync, "idle": idle, "report": report}[a.cmd](a) or 0)


if __name__ == "__main__":
    main()
