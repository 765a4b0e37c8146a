#!/usr/bin/env python3
"""State-tracking IMAP stress tester: many sessions on shared mailboxes, every response checked.

  imap_stress.py --host 127.0.0.1 --port PORT (--tls | --starttls) --cafile CA
                 (--users u1@d:pw,u2@d:pw,... | --user-pattern 'stress{i}@example.org'
                  --users-count 100 --password pw)
                 [--clients 20] [--duration 60] [--seed 1] [--json out.json]
                 [--extensions none|condstore|qresync|mixed]
  imap_stress.py --selftest

N sessions (threads, raw sockets + ssl, no imaplib: imaplib loses the order of untagged
responses, and the order is what the checks are about) loop for --duration seconds doing random
SELECT, FETCH, STORE, EXPUNGE, APPEND, COPY, MOVE (and the UID forms), IDLE, NOOP, SEARCH, CHECK
on INBOX and a folder "Stress" of their user, several sessions on one user at a time. Every
APPENDed message carries a unique "X-Stress-Id" header, so the tester knows which message a UID
names.

The checker keeps, per session, the model RFC 3501 (and RFC 9051) lets a client hold: the
sequence number -> UID list of the selected mailbox, the flags of each message as last told,
the keywords announced by "* FLAGS", the UIDVALIDITY; and, across sessions, the truth: which
message each (user, mailbox, UIDVALIDITY, UID) names, when each message was created and when it
went, and every write of every session's own keyword "$S<k>" with the interval (command start,
tagged response) in which the server applied it. Times are ticks of one process-wide counter,
taken before a command is sent and after its tagged response is read, so "A ended before B
started" in ticks means the server finished A before it received B.

With --extensions condstore or qresync every session sends ENABLE CONDSTORE or ENABLE QRESYNC
(RFC 7162) after login (mixed: sessions take none, condstore, qresync by turns; none, the
default, changes nothing). The model then also holds the MODSEQ of each message, the
HIGHESTMODSEQ of the SELECT and the modseq up to which every change was told; the truth also
holds every MODSEQ told to any session, as of the tagged response that told it. Such sessions
also send FETCH (FLAGS MODSEQ), UID FETCH 1:* (FLAGS) (CHANGEDSINCE m [VANISHED]), STORE
(UNCHANGEDSINCE m) of their own keyword, SEARCH MODSEQ m and (QRESYNC) SELECT (QRESYNC (v m
known-uids)) from the model they kept, checked by a FETCH 1:n (UID FLAGS) right after; those
command kinds must then be exercised too. RULES 9-15 are the CONDSTORE/QRESYNC ones.

A response that contradicts the model or the truth is a state error (see the RULE docstrings
of Session below). The run exits 0 only with no errors, at least --min-commands commands and
every command kind exercised; it prints commands/s, commands by kind, errors by kind, and the
first errors (up to 5 of each kind, 20 in all) with the tail of their session's transcript;
--json writes the same as JSON, --trace every session's whole transcript.

Standard library only (Python 3.11).
"""

import argparse
import base64
import collections
import email.utils
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
import traceback

RESPONSE_TIMEOUT = 15.0  # seconds: a longer wait for any response is an error (rule 8)
MAX_MESSAGES = 40  # above this a session trims its mailbox (\Deleted + EXPUNGE)
STRESS_FOLDERS = ("INBOX", "Stress")
SYSTEM_FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft")
# Every command kind a run must exercise at least once to count as having done work.
REQUIRED_KINDS = (
    "SELECT", "FETCH", "UID FETCH", "STORE", "UID STORE", "EXPUNGE", "UID EXPUNGE", "APPEND",
    "COPY", "UID COPY", "MOVE", "UID MOVE", "IDLE", "NOOP", "SEARCH", "UID SEARCH", "CHECK",
)
# With --extensions, the command kinds of CONDSTORE (every session that enables it) and of
# QRESYNC (RFC 7162) that a run must exercise too.
CONDSTORE_KINDS = ("ENABLE", "FETCH MODSEQ", "UID FETCH CHANGEDSINCE", "STORE UNCHANGEDSINCE", "SEARCH MODSEQ")
QRESYNC_KINDS = ("SELECT QRESYNC", "UID FETCH VANISHED")
EXTENSION_MODES = ("none", "condstore", "qresync", "mixed")
KEYWORD_RE = re.compile(r"^\$S(\d+)$", re.I)
SEARCH_MODSEQ_RE = re.compile(r"\(\s*MODSEQ\s+(\d+)\s*\)", re.I)
STRESS_ID_RE = re.compile(rb"(?im)^X-Stress-Id:[ \t]*(\S+)")
# A NO that says the messages it names were expunged meanwhile (RFC 5530 EXPUNGEISSUED,
# RFC 2180 §4.1.2 is the FETCH case): tolerated for COPY, MOVE and STORE.
EXPUNGED_TEXT_RE = re.compile(r"expunge|no longer exist|not exist|deleted|vanished|gone", re.I)


# ---------------------------------------------------------------------------------------------
# Small helpers


def seqset(numbers):
    """Formats numbers as an IMAP sequence set, ranges compressed: [1, 2, 3, 5] -> "1:3,5"."""
    nums = sorted(set(numbers))
    parts, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else "%d:%d" % (nums[i], nums[j]))
        i = j + 1
    return ",".join(parts)


def parse_uid_set(text):
    """Expands a UID set without "*" (as in COPYUID, RFC 4315 §3) into a list, in order."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":", 1))
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        elif part:
            out.append(int(part))
    return out


def session_extension(mode, index):
    """What session index enables after login under --extensions mode: "none", "condstore"
    or "qresync" ("mixed": none, condstore, qresync by turns; the final checker: none)."""
    if index is None or mode in (None, "none"):
        return "none"
    if mode == "mixed":
        return ("none", "condstore", "qresync")[index % 3]
    return mode


def required_kinds(mode, clients=None):
    """The command kinds a run under --extensions mode must exercise."""
    modes = {session_extension(mode, k) for k in range(clients if clients else 3)}
    kinds = list(REQUIRED_KINDS)
    if modes & {"condstore", "qresync"}:
        kinds += CONDSTORE_KINDS
    if "qresync" in modes:
        kinds += QRESYNC_KINDS
    return tuple(kinds)


def modseq_of(items):
    """The MODSEQ of FETCH items ("MODSEQ (5)"), or None."""
    v = items.get("MODSEQ")
    if isinstance(v, list) and v:
        v = v[0]
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def quote(s):
    """An IMAP quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def norm_flags(flags):
    """Flags as a comparable set: upper-cased (flags compare case-insensitively), without
    \\Recent, which the server may add on its own (RFC 3501 §2.3.2) and the checks ignore."""
    out = set()
    for f in flags or ():
        if isinstance(f, (bytes, bytearray)):
            f = bytes(f).decode("latin-1")
        if not isinstance(f, str):
            continue
        u = f.upper()
        if u != "\\RECENT":
            out.add(u)
    return frozenset(out)


def keywords_of(flags):
    """The session keywords ($S<k>) in a flag set, as session numbers."""
    out = set()
    for f in flags:
        m = KEYWORD_RE.match(f)
        if m:
            out.add(int(m.group(1)))
    return out


def keyword(k):
    return "$S%d" % k


def stress_id(data):
    """The X-Stress-Id of a message (or of its header fields), or None."""
    if not isinstance(data, (bytes, bytearray)):
        return None
    m = STRESS_ID_RE.search(data)
    return m.group(1).decode("latin-1") if m else None


# ---------------------------------------------------------------------------------------------
# Response parsing (RFC 3501 §9 / RFC 9051 §9, the parts a server sends)


class ParseError(Exception):
    pass


class Response:
    """One server response: a continuation ("+"), an untagged ("*") or a tagged response.

    word is the upper-cased keyword (EXISTS, FETCH, OK, FLAGS, SEARCH, ...); num the number
    before EXISTS/RECENT/EXPUNGE/FETCH; code and code_args the response code of a status
    response ("[APPENDUID 3 7]" -> "APPENDUID", "3 7"); data the parsed payload (FETCH: dict of
    items; FLAGS/CAPABILITY: list; SEARCH: list of ints; STATUS: (mailbox, dict))."""

    __slots__ = ("kind", "tag", "word", "num", "code", "code_args", "text", "data", "raw", "extra")

    def __init__(self, raw):
        self.raw = raw
        self.kind = self.tag = self.word = self.code = self.code_args = None
        self.num = self.extra = None
        self.text = ""
        self.data = None


class Parser:
    """A cursor over one response (its line and the literals inside it)."""

    def __init__(self, data):
        self.d = bytes(data)
        self.i = 0

    def at_end(self):
        return self.i >= len(self.d) or self.d.startswith(b"\r\n", self.i)

    def peek(self):
        return self.d[self.i:self.i + 1]

    def skip_spaces(self):
        while self.peek() == b" ":
            self.i += 1

    def atom(self):
        """An atom; "[...]" inside it (BODY[HEADER.FIELDS (X)]<0>) is kept whole."""
        start, depth = self.i, 0
        while self.i < len(self.d):
            c = self.d[self.i]
            if c == 0x5B:  # [
                depth += 1
            elif c == 0x5D and depth:  # ]
                depth -= 1
            elif depth == 0 and c in b" ()\r\n":
                break
            self.i += 1
        if self.i == start:
            raise ParseError("atom expected at %d" % start)
        return self.d[start:self.i].decode("latin-1")

    def quoted(self):
        self.i += 1
        out = bytearray()
        while True:
            if self.i >= len(self.d):
                raise ParseError("unterminated quoted string")
            c = self.d[self.i]
            if c == 0x5C:  # backslash
                out.append(self.d[self.i + 1])
                self.i += 2
            elif c == 0x22:
                self.i += 1
                return bytes(out)
            else:
                out.append(c)
                self.i += 1

    def literal(self):
        m = re.compile(rb"\{(\d+)\+?\}\r\n").match(self.d, self.i)
        if not m:
            raise ParseError("bad literal at %d" % self.i)
        n = int(m.group(1))
        self.i = m.end() + n
        if self.i > len(self.d):
            raise ParseError("short literal")
        return self.d[m.end():self.i]

    def value(self):
        """A list, string (bytes), literal (bytes), NIL (None) or atom (str)."""
        self.skip_spaces()
        c = self.peek()
        if c == b"(":
            self.i += 1
            out = []
            while True:
                self.skip_spaces()
                if self.peek() == b")":
                    self.i += 1
                    return out
                if self.at_end():
                    raise ParseError("unterminated list")
                out.append(self.value())
        if c == b'"':
            return self.quoted()
        if c == b"{":
            return self.literal()
        a = self.atom()
        return None if a.upper() == "NIL" else a

    def rest(self):
        text = self.d[self.i:].rstrip(b"\r\n").decode("utf-8", "replace")
        self.i = len(self.d)
        return text


def parse_status_tail(p, r):
    """resp-text: an optional [code args] and free text."""
    p.skip_spaces()
    if p.peek() == b"[":
        end = p.d.find(b"]", p.i)
        if end < 0:
            raise ParseError("unterminated response code")
        inner = p.d[p.i + 1:end].decode("latin-1")
        r.code, _, r.code_args = inner.partition(" ")
        r.code = r.code.upper()
        r.code_args = r.code_args.strip()
        p.i = end + 1
    r.text = p.rest().strip()


def parse_response(raw):
    """Parses one complete response (as read by Conn.read_response) into a Response."""
    r = Response(raw)
    p = Parser(raw)
    if raw.startswith(b"+"):
        r.kind = "cont"
        p.i = 1
        r.text = p.rest().strip()
        return r
    r.tag = p.atom()
    p.skip_spaces()
    if r.tag != "*":
        r.kind = "tagged"
        r.word = p.atom().upper()
        parse_status_tail(p, r)
        return r
    r.kind = "untagged"
    first = p.atom()
    if first.isdigit():
        r.num = int(first)
        p.skip_spaces()
        r.word = p.atom().upper()
        if r.word == "FETCH":
            items = p.value()
            if not isinstance(items, list) or len(items) % 2:
                raise ParseError("FETCH items are not a list of pairs")
            data = {}
            for key, val in zip(items[0::2], items[1::2]):
                if not isinstance(key, str):
                    raise ParseError("FETCH item name expected")
                key = re.sub(r"<\d+>$", "", key.upper())
                data[key] = val
            r.data = data
        return r
    r.word = first.upper()
    if r.word in ("OK", "NO", "BAD", "BYE", "PREAUTH"):
        parse_status_tail(p, r)
    elif r.word == "FLAGS":
        r.data = p.value()
    elif r.word in ("CAPABILITY", "ENABLED"):
        r.data = p.rest().upper().split()
    elif r.word == "SEARCH":
        rest = p.rest()
        m = SEARCH_MODSEQ_RE.search(rest)  # RFC 7162 §3.1.5: "* SEARCH 2 5 (MODSEQ 917)"
        if m:
            r.extra = int(m.group(1))
            rest = rest[:m.start()] + rest[m.end():]
        r.data = [int(x) for x in rest.split() if x.isdigit()]
    elif r.word == "VANISHED":
        # RFC 7162 §3.2.10: "* VANISHED [(EARLIER)] uid-set"; data: (earlier, [uids]).
        rest = p.rest().strip()
        earlier = False
        if rest.upper().startswith("(EARLIER)"):
            earlier, rest = True, rest[len("(EARLIER)"):].strip()
        if not re.match(r"^\d+(:\d+)?(,\d+(:\d+)?)*$", rest):
            raise ParseError("VANISHED without a UID set")
        r.data = (earlier, parse_uid_set(rest))
    elif r.word == "STATUS":
        name = p.value()
        items = p.value()
        status = {}
        if isinstance(items, list):
            for key, val in zip(items[0::2], items[1::2]):
                status[str(key).upper()] = int(val) if isinstance(val, str) and val.isdigit() else val
        r.data = (name, status)
    else:
        r.text = p.rest()
    return r


def display(raw, limit=300):
    """A response for the transcript: literals shown as their size and X-Stress-Id."""
    out, i = [], 0
    for m in re.finditer(rb"\{(\d+)\+?\}\r\n", raw):
        if m.start() < i:
            continue
        n = int(m.group(1))
        body = raw[m.end():m.end() + n]
        xid = stress_id(body)
        out.append(raw[i:m.start()].decode("utf-8", "replace"))
        out.append("{%d}<%d bytes%s>" % (n, n, ", X-Stress-Id " + xid if xid else ""))
        i = m.end() + n
    out.append(raw[i:].decode("utf-8", "replace"))
    text = "".join(out).rstrip("\r\n").replace("\r\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# Transport


class Closed(Exception):
    """The server closed the connection (or it broke)."""


class Conn:
    """A socket with a byte buffer: whole responses (a line plus its literals) out of it."""

    LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Closed("send failed: %s" % e) from e

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError from None
        except (OSError, ssl.SSLError) as e:
            raise Closed("recv failed: %s" % e) from e
        if not chunk:
            raise Closed("connection closed by the server")
        self.buf += chunk

    def read_response(self, timeout):
        """The next complete response; TimeoutError leaves a partial one in the buffer."""
        deadline = time.monotonic() + timeout
        pos = 0
        while True:
            j = self.buf.find(b"\r\n", pos)
            if j < 0:
                self._fill(deadline)
                continue
            m = self.LITERAL_AT_END.search(self.buf, pos, j)
            if m:
                need = j + 2 + int(m.group(1))
                while len(self.buf) < need:
                    self._fill(deadline)
                pos = need
                continue
            out = bytes(self.buf[:j + 2])
            del self.buf[:j + 2]
            return out

    def start_tls(self, context, server_hostname):
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# The run: clock, counters, errors


class Run:
    """What all sessions share: the tick clock, the truth, the counters and the errors."""

    def __init__(self, clients, sample_limit=20, per_kind=5, trace=None):
        self.lock = threading.RLock()
        self.trace = trace  # a file every session's transcript goes to (--trace)
        self.per_kind = per_kind
        self._tick = 0
        self.clients = clients  # keyword owners: sessions 0..clients-1
        self.truth = Truth(self)
        self.commands = collections.Counter()
        self.errors = collections.Counter()
        self.tolerated = collections.Counter()
        self.checked = collections.Counter()  # how many determined comparisons each check made
        self.samples = []
        self.sample_limit = sample_limit
        self.t0 = time.monotonic()

    def tick(self):
        with self.lock:
            self._tick += 1
            return self._tick

    def count(self, kind):
        with self.lock:
            self.commands[kind] += 1

    def tolerate(self, kind):
        with self.lock:
            self.tolerated[kind] += 1

    def error(self, session, kind, message):
        with self.lock:
            self.errors[kind] += 1
            if len(self.samples) < self.sample_limit and self.errors[kind] <= self.per_kind:
                self.samples.append({
                    "kind": kind,
                    "session": session.index if session else None,
                    "user": session.user if session else None,
                    "at": round(time.monotonic() - self.t0, 3),
                    "message": message,
                    "transcript": list(session.transcript)[-30:] if session else [],
                })


# ---------------------------------------------------------------------------------------------
# The truth: what each UID names, when messages came and went, every keyword write


class Write:
    """A command that may change session keywords of one message, applied by the server at
    some moment in [start, end] (end None: not answered yet, or never: unknown for good).

    Scope "one": keyword k only, value True/False/None. Scope "all": every keyword, value
    values.get(k, default) (a replace STORE: set/clear all; a copy: the source's values)."""

    __slots__ = ("start", "end", "who", "what", "k", "value", "values", "default")

    def __init__(self, start, who, what, k=None, value=None, values=None, default=None):
        self.start, self.end, self.who, self.what = start, None, who, what
        self.k, self.value, self.values, self.default = k, value, values, default

    def value_for(self, k):
        if self.k is not None:
            return self.value
        if self.values is None:
            return self.default
        return self.values.get(k, self.default)

    def make_unknown(self):
        self.value = self.default = None
        self.values = None


class MsgTruth:
    """One message of one (user, mailbox, UIDVALIDITY): its UID, X-Stress-Id, size, when it
    was created, when a command that may remove it started (a \\Deleted STORE or a MOVE), and
    when a session was first told it was gone."""

    __slots__ = ("key", "uid", "xid", "size", "created", "deleted_since", "moved_since",
                 "gone_at", "per_k", "all_w", "touched")

    def __init__(self, key, uid, xid=None, size=None, created=None):
        self.key, self.uid, self.xid, self.size, self.created = key, uid, xid, size, created
        self.deleted_since = self.moved_since = self.gone_at = None
        self.per_k = {}
        self.all_w = []
        self.touched = []  # [start, end] of every STORE to it (any flag; end None: unknown)

    def touch(self, start):
        """Records a STORE to this message starting at tick start; returns its interval (the
        caller sets [1] at the tagged response, or leaves None when the session was lost)."""
        iv = [start, None]
        self.touched = self.touched[-15:]
        self.touched.append(iv)
        return iv

    def touched_between(self, cs, ce):
        """True if a STORE to this message may have been applied between ticks cs and ce."""
        return any(s < ce and (e is None or e > cs) for s, e in self.touched)

    def removable_before(self, tick):
        """True if a command that may remove it started before tick."""
        return any(t is not None and t < tick for t in (self.deleted_since, self.moved_since))

    def add_write(self, w, prune=True):
        """Records w; drops writes that ended before w started (w's result supersedes them
        for every later query: see keyword_value). prune False (a conditional STORE, which
        may not be applied at all): they stay until settle_write."""
        if not prune:
            (self.per_k.setdefault(w.k, []) if w.k is not None else self.all_w).append(w)
            return w
        if w.k is not None:
            lst = self.per_k.setdefault(w.k, [])
            lst[:] = [o for o in lst if o.end is None or o.end >= w.start]
            lst.append(w)
        else:
            self.all_w = [o for o in self.all_w if o.end is None or o.end >= w.start]
            for k, lst in self.per_k.items():
                lst[:] = [o for o in lst if o.end is None or o.end >= w.start]
            self.all_w.append(w)
        return w

    def settle_write(self, w, applied):
        """A conditional write's outcome: applied (it supersedes the writes that ended before
        it started), or not (UNCHANGEDSINCE failed: it never happened, so it goes)."""
        lst = self.per_k.get(w.k, []) if w.k is not None else self.all_w
        if w in lst:
            lst.remove(w)
        if applied:
            self.add_write(w)

    def keyword_value(self, k, cs, ce):
        """Whether $S<k> is set on this message for a command that ran from tick cs to ce, or
        None when that is not determined: a write may have been applied during the command
        (it overlaps [cs, ce]), or the last writes before cs ran at the same time as each other
        with different results, or there is no write at all.

        The writes that ended before cs are in the server's state by then; among them, those
        that no other such write definitely follows (started after they ended) are the
        candidates for the last one applied. If they all agree, that is the value."""
        ws = self.per_k.get(k, []) + self.all_w
        before = []
        for w in ws:
            end = w.end if w.end is not None else float("inf")
            if w.start < ce and end > cs:
                return None
            if end < cs:
                before.append(w)
        if not before:
            return None
        latest = [w for w in before if not any(o.start > w.end for o in before)]
        values = {w.value_for(k) for w in latest}
        if len(values) != 1:
            return None
        return values.pop()

    def last_write(self, k, cs):
        """A description of the write that set $S<k> as the truth has it (for error text)."""
        ws = [w for w in self.per_k.get(k, []) + self.all_w if w.end is not None and w.end < cs]
        if not ws:
            return "no write"
        w = max(ws, key=lambda w: w.end)
        return "%s by session %s, ticks %d-%d, this command started at tick %d" % (
            w.what, w.who, w.start, w.end, cs)


class Truth:
    """Across all sessions: the messages of every (user, mailbox, UIDVALIDITY), the
    UIDVALIDITY of every (user, mailbox), and the UIDVALIDITYs scratch folders had."""

    def __init__(self, run):
        self.run = run
        self.msgs = collections.defaultdict(dict)  # (user, mailbox, uidvalidity) -> uid -> MsgTruth
        self.live = collections.defaultdict(set)  # key -> UIDs expected_present may still return
        self.uidvalidity = {}  # (user, mailbox) -> (uidvalidity, where first seen)
        self.scratch = collections.defaultdict(list)  # (user, name) -> [uidvalidity, ...]
        # key -> [(end tick, modseq, who)]: the MODSEQs (and HIGHESTMODSEQs) told to any
        # session, kept as a frontier: ends ascending, modseqs strictly ascending.
        self.told_modseq = collections.defaultdict(list)

    def record_modseq(self, key, end, modseq, who):
        """A MODSEQ told to session who in a command whose tagged response came at end."""
        f = self.told_modseq[key]
        if any(e <= end and m >= modseq for e, m, _ in f):
            return
        f[:] = [x for x in f if not (x[0] >= end and x[1] <= modseq)]
        f.append((end, modseq, who))
        f.sort()

    def modseq_told_before(self, key, tick):
        """(modseq, end, who): the highest MODSEQ told for key in a command that ended
        before tick, or None."""
        best = None
        for e, m, who in self.told_modseq.get(key, ()):
            if e < tick and (best is None or m > best[0]):
                best = (m, e, who)
        return best

    def get(self, key, uid):
        return self.msgs.get(key, {}).get(uid)

    def ensure(self, key, uid):
        """The truth of a UID, a placeholder if nothing is known yet: a session may learn a
        UID from EXISTS + FETCH and STORE, MOVE or expunge it before the APPEND or COPY that
        made it has its tagged OK; register() merges what was recorded meanwhile."""
        box = self.msgs[key]
        t = box.get(uid)
        if t is None:
            t = box[uid] = MsgTruth(key, uid)
        return t

    def check_uidvalidity(self, session, user, mailbox, v, where):
        """RULE 2 (RFC 3501 §2.3.1.1): the UIDVALIDITY of a mailbox name does not change while
        the mailbox exists (the tester never deletes INBOX or Stress)."""
        if v is None:
            return
        seen = self.uidvalidity.get((user, mailbox))
        if seen is None:
            self.uidvalidity[(user, mailbox)] = (v, where)
        elif seen[0] != v:
            session.fail("uidvalidity-changed",
                         "%s of %s says UIDVALIDITY %d, but it was %d (%s) and the mailbox was "
                         "never deleted" % (where, mailbox, v, seen[0], seen[1]))

    def register(self, session, key, uid, xid, size, cs, ce, write=None, deleted=False):
        """A message created by APPEND or COPY/MOVE (UIDPLUS told its UID).

        RULE 2 (RFC 3501 §2.3.1.1): under one (mailbox name, UIDVALIDITY) a UID names one
        message for good, and new UIDs are higher than every UID assigned before: a UID
        that already named another X-Stress-Id, or a new UID not above a UID whose message
        was created before this command started, is UID reuse."""
        box = self.msgs[key]
        old = box.get(uid)
        if old is not None and ((old.xid and xid and old.xid != xid) or old.created):
            session.fail("uid-reuse",
                         "%s UIDVALIDITY %d UID %d was given to X-Stress-Id %s, but it already "
                         "named X-Stress-Id %s" % (key[1], key[2], uid, xid, old.xid))
            return None
        for other in box.values():
            if other.uid >= uid and other.created and other.created[1] < cs:
                session.fail("uid-reuse",
                             "%s UIDVALIDITY %d: new message %s got UID %d, not above UID %d "
                             "(X-Stress-Id %s) assigned earlier" % (
                                 key[1], key[2], xid, uid, other.uid, other.xid))
                break
        t = old or MsgTruth(key, uid, xid, size)
        t.xid = t.xid or xid
        t.size = t.size if t.size is not None else size
        t.created = (cs, ce)
        if write is not None:
            write.end = ce
            t.add_write(write)
        if deleted and (t.deleted_since is None or t.deleted_since > cs):
            t.deleted_since = cs
        box[uid] = t
        self.live[key].add(uid)
        return t

    def learn(self, session, key, uid, xid, size=None):
        """What a FETCH showed of a UID: the X-Stress-Id (and size) of its message.

        RULE 2 and RULE 6: a UID in a FETCH response names the message the truth says it
        names (the one APPENDUID/COPYUID gave it, or the one first seen under it)."""
        t = self.ensure(key, uid)
        if xid and t.xid:
            self.run.checked["X-Stress-Id of a UID (rules 2, 6)"] += 1
        if xid and t.xid and xid != t.xid:
            session.fail("wrong-message",
                         "%s UIDVALIDITY %d UID %d shows X-Stress-Id %s, but that UID names "
                         "X-Stress-Id %s" % (key[1], key[2], uid, xid, t.xid))
        elif xid and not t.xid:
            t.xid = xid
        if size is not None and t.size is None:
            t.size = size
        elif size is not None and size != t.size:
            session.fail("size-mismatch", "%s UID %d (X-Stress-Id %s): %d octets, APPENDed as %d"
                         % (key[1], uid, t.xid, size, t.size))

    def expected_present(self, key, cs, ce):
        """The UIDs a session selected in key must hold after a command from cs to ce: every
        message created (tagged OK with APPENDUID/COPYUID) before cs that no command which
        may remove it (a \\Deleted STORE, a MOVE) had started before ce."""
        box, live = self.msgs.get(key, {}), self.live.get(key, set())
        out, dead = set(), []
        for uid in live:
            t = box[uid]
            if t.gone_at is not None or t.removable_before(ce):
                dead.append(uid)  # for good: later commands end later still
            elif t.created[1] < cs:
                out.add(uid)
        live.difference_update(dead)
        return out


# ---------------------------------------------------------------------------------------------
# The client model of one session


class Slot:
    """One message of the selected mailbox as the session was told: UID, flags and MODSEQ
    (None: not told yet)."""

    __slots__ = ("uid", "flags", "modseq")

    def __init__(self, uid=None, flags=None, modseq=None):
        self.uid, self.flags, self.modseq = uid, flags, modseq

    def copy(self):
        return Slot(self.uid, self.flags, self.modseq)


class Model:
    """The selected mailbox as RFC 3501 lets the client hold it."""

    def __init__(self):
        self.reset(None)

    def reset(self, mailbox):
        self.mailbox = mailbox
        self.uidvalidity = None
        self.slots = []
        self.announced = set()  # keywords "* FLAGS" announced since SELECT (upper case)
        self.tainted = False  # an error made the model doubtful: re-SELECT
        # A VANISHED may have named a message whose UID the session had not learned: the
        # message count is not known (re-SELECT; responses until then are not judged).
        self.lost_count = False
        self.hms = None  # the HIGHESTMODSEQ of the SELECT
        self.max_told = None  # the highest MODSEQ told since (any FETCH)
        # A modseq the session may resynchronize from (QRESYNC): every change up to it was
        # told. The SELECT's HIGHESTMODSEQ; after a command that completed and could send
        # expunges (so nothing was held back), the highest MODSEQ told so far.
        self.safe = None

    def key(self, user):
        return (user, self.mailbox, self.uidvalidity)

    def known_uids(self):
        return {s.uid for s in self.slots if s.uid is not None}

    def unknown_seqs(self):
        return [i + 1 for i, s in enumerate(self.slots) if s.uid is None or s.flags is None]

    def seq_of(self, uid):
        for i, s in enumerate(self.slots):
            if s.uid == uid:
                return i + 1
        return None


class Cmd:
    """One command: its kind, tag, start/end ticks, tagged status, and what came with it."""

    def __init__(self, kind, tag, uid=False):
        self.kind, self.tag, self.uid = kind, tag, uid
        # The IMAP command: "UID FETCH CHANGEDSINCE" -> FETCH, "SELECT QRESYNC" -> SELECT.
        self.verb = (kind[4:] if kind.startswith("UID ") else kind).split(" ")[0]
        self.start = self.end = None
        # A FETCH's own targets (sequence numbers, or UIDs for UID FETCH; "all": 1:*): its
        # responses for them are solicited (RFC 7162 §3.2.4 asks UID and MODSEQ of the rest).
        self.targets = None
        self.first = {}  # seq (or UID, for UID FETCH) -> the first FETCH items for it
        self.uid_flags = {}  # UID -> the last FLAGS a FETCH with UID showed
        self.told_modseqs = {}  # model key -> highest MODSEQ told in this command
        self.vanished_earlier = []  # UIDs of * VANISHED (EARLIER)
        self.search_modseq = None  # the (MODSEQ n) of a SEARCH response
        self.enabled = []  # what * ENABLED said
        self.status = None  # OK, NO, BAD, or LOST (disconnect/timeout)
        self.code = self.code_args = None
        self.text = ""
        self.fetched = {}  # seq -> merged FETCH items (with "_uid")
        self.fetched_uid = {}  # uid -> merged FETCH items
        self.expunged = set()  # known UIDs the server expunged in this command's responses
        self.untagged_codes = []  # (code, args) of untagged OK responses
        self.search = None
        self.status_data = None
        self.exists = False
        self.bye = False


class SessionLost(Exception):
    """The connection is gone (the error was recorded); the session reconnects."""


# ---------------------------------------------------------------------------------------------
# A session: commands, the checks on every response, and the workload operations


class Session:
    """One IMAP session: sends commands, feeds every response through the checks, and keeps
    its Model. `index` is k of its keyword $S<k>; the final checker has index None."""

    def __init__(self, run, index, conn=None, opts=None, rng=None):
        self.run = run
        self.truth = run.truth
        self.index = index
        self.own = keyword(index) if index is not None else None
        self.conn = conn
        self.opts = opts
        self.rng = rng or random.Random(index)
        self.user = None
        self.model = Model()
        self.caps = set()
        self.tagn = 0
        self.transcript = collections.deque(maxlen=60)
        self.pending = []  # expectations: (uids, kind, text), checked once UIDs are known
        self.appended = 0
        self.final = False  # the final checker: its flag errors are "final-flags"
        # --extensions: what this session ENABLEs after login, and what is on now.
        self.extension = session_extension(getattr(opts, "extensions", None), index)
        self.condstore = self.qresync = False
        self.told_modseq = {}  # (mailbox, uidvalidity, uid) -> highest MODSEQ told (rule 10)
        self.modified_guard = set()  # (key, uid): [MODIFIED] by a STORE of the own keyword
        self.saved = {}  # mailbox -> (uidvalidity, hms, safe, [Slot]): the model when left
        self.resync = None  # during a QRESYNC SELECT: what its responses said
        self.kind_map = {}  # error kinds renamed while a check runs (the QRESYNC check)

    def reset_extensions(self):
        self.condstore = self.qresync = False
        self.told_modseq = {}
        self.modified_guard = set()
        self.saved = {}

    # -- errors ---------------------------------------------------------------------------

    def fail(self, kind, message, taint=False):
        """Records a state error with this session's transcript tail."""
        kind = self.kind_map.get(kind, kind)
        self.note("!! %s: %s" % (kind, message))
        self.run.error(self, kind, message)
        if taint:
            self.model.tainted = True

    def note(self, text):
        line = "t%d %s" % (self.run._tick, text)
        self.transcript.append(line)
        if self.run.trace:
            with self.run.lock:
                self.run.trace.write("s%s %s %s\n" % (self.index, self.user, line))

    # -- the command engine ---------------------------------------------------------------

    def command(self, kind, text, uid=False, before=None, after=None, literal=None,
                idle=None, cont=None, timeout=RESPONSE_TIMEOUT, targets=None):
        """Sends one command and reads until its tagged response; every untagged response
        goes through on_untagged in order. before(cmd) runs under the run lock right after
        the start tick is taken, after(cmd) right after the end tick (also when the session
        is lost: status "LOST"). literal: bytes sent as a LITERAL+ literal (or after "+"
        without LITERAL+). idle: seconds to stay in IDLE before DONE. cont: lines to send on
        "+" (AUTHENTICATE). targets: a FETCH's own messages (Cmd.targets)."""
        self.tagn += 1
        tag = "A%04d" % self.tagn
        cmd = Cmd(kind, tag, uid)
        cmd.targets = targets
        self.run.count(kind)
        chunks = list(cont or [])
        if literal is not None:
            if "LITERAL+" in self.caps:
                line = ("%s %s {%d+}\r\n" % (tag, text, len(literal))).encode() + literal + b"\r\n"
            else:
                line = ("%s %s {%d}\r\n" % (tag, text, len(literal))).encode()
                chunks.insert(0, literal + b"\r\n")
        else:
            line = ("%s %s\r\n" % (tag, text)).encode()
        with self.run.lock:
            cmd.start = self.run.tick()
            if before:
                before(cmd)
        shown = text if not text.startswith(("LOGIN", "AUTHENTICATE")) else text.split(" ")[0] + " ..."
        self.note("C: %s %s%s" % (tag, shown, " {%d}" % len(literal) if literal is not None else ""))
        idle_until = None
        try:
            self.conn.send(line)
            while True:
                wait = timeout
                if idle_until is not None:
                    wait = max(0.0, idle_until - time.monotonic())
                try:
                    raw = self.conn.read_response(wait)
                except TimeoutError:
                    if idle_until is not None:
                        idle_until = None
                        self.note("C: DONE")
                        self.conn.send(b"DONE\r\n")
                        continue
                    raise
                try:
                    r = parse_response(raw)
                except (ParseError, ValueError, IndexError) as e:
                    self.note("S: " + display(raw))
                    self.fail("unparsable", "cannot parse %r: %s" % (display(raw, 200), e))
                    continue
                self.note("S: " + display(raw))
                if r.kind == "cont":
                    if idle is not None and idle_until is None and not chunks:
                        idle_until = time.monotonic() + idle
                    elif chunks:
                        self.conn.send(chunks.pop(0))
                    else:
                        self.fail("protocol", "unexpected continuation request to %s" % kind)
                    continue
                if r.kind == "untagged":
                    with self.run.lock:
                        self.on_untagged(r, cmd)
                    continue
                if r.tag != tag:
                    self.fail("protocol", "tagged response for %s while %s was running" % (r.tag, tag))
                    continue
                cmd.status, cmd.code, cmd.code_args, cmd.text = r.word, r.code, r.code_args, r.text
                break
        except TimeoutError:
            self.finish(cmd, "LOST", after)
            self.fail("timeout", "no response to %s %s within %.0f s" % (tag, kind, timeout))
            raise SessionLost from None
        except Closed as e:
            self.finish(cmd, "LOST", after)
            if not cmd.bye or kind != "LOGOUT":
                self.fail("disconnect", "%s during %s %s" % (e, tag, kind))
            raise SessionLost from None
        self.finish(cmd, cmd.status, after)
        self.check_status(cmd)
        return cmd

    def publish_modseqs(self, cmd):
        """Into the truth: the MODSEQs cmd told (RULE 11), as of its tagged response."""
        for key, modseq in cmd.told_modseqs.items():
            self.truth.record_modseq(key, cmd.end, modseq, self.index)

    def finish(self, cmd, status, after):
        with self.run.lock:
            cmd.end = self.run.tick()
            cmd.status = status
            self.publish_modseqs(cmd)
            if after:
                after(cmd)
        m = self.model
        # Nothing is held back after a command that could send expunges (RFC 7162 §3.2.10;
        # RFC 5162 erratum 1810 holds MODSEQs back with them): every change up to the highest
        # MODSEQ told is told.
        if (status == "OK" and m.mailbox is not None and not m.tainted and m.max_told is not None
                and (cmd.uid or cmd.verb not in ("FETCH", "STORE", "SEARCH", "SELECT"))):
            m.safe = max(m.safe or 0, m.max_told)

    def check_status(self, cmd):
        """RULE 8: a tagged BAD is always an error; so is NO [UNAVAILABLE] or NO [SERVERBUG]
        (RFC 5530: the server could not do what it should). Other NOs are judged per command."""
        if cmd.status == "BAD":
            self.fail("bad", "%s %s: BAD %s" % (cmd.tag, cmd.kind, cmd.text))
        elif cmd.status == "NO" and cmd.code in ("UNAVAILABLE", "SERVERBUG"):
            self.fail("no-" + cmd.code.lower(), "%s %s: NO [%s] %s" % (cmd.tag, cmd.kind, cmd.code, cmd.text))
        elif cmd.status not in ("OK", "NO", "BAD"):
            self.fail("protocol", "%s %s: tagged %s" % (cmd.tag, cmd.kind, cmd.status))

    def judge_no(self, cmd, expunge_tolerated=False):
        """A NO that is not already an error (check_status): tolerated when it says the named
        messages were expunged meanwhile and the command names messages (COPY, MOVE, STORE),
        else an unexpected NO."""
        if cmd.status != "NO" or cmd.code in ("UNAVAILABLE", "SERVERBUG"):
            return
        said = (cmd.code or "") + " " + cmd.text
        if expunge_tolerated and (cmd.code in ("EXPUNGEISSUED", "NONEXISTENT") or EXPUNGED_TEXT_RE.search(said)):
            self.run.tolerate(cmd.kind)
            return
        self.fail("unexpected-no", "%s %s: NO %s%s" % (
            cmd.tag, cmd.kind, "[%s] " % " ".join(filter(None, (cmd.code, cmd.code_args))) if cmd.code else "",
            cmd.text))
        if cmd.code in ("TRYCREATE", "NONEXISTENT") and self.user in self.opts.prepared:
            # A stressed folder is missing (its CREATE failed, or it vanished): the error is
            # recorded; create it again rather than repeat the error on every command.
            self.opts.prepared.discard(self.user)
            self.prepare_user()

    # -- untagged responses: the checks that need no more than the response and the model --

    def on_untagged(self, r, cmd):
        w = r.word
        if self.resync is not None and cmd.verb == "SELECT" and w in ("EXISTS", "FETCH", "VANISHED"):
            # A QRESYNC SELECT: applied to the old model once the tagged OK is in (op_select).
            if w == "VANISHED" and not r.data[0]:
                self.fail("protocol", "* VANISHED without (EARLIER) during %s %s" % (cmd.tag, cmd.kind))
            elif w == "VANISHED":
                cmd.vanished_earlier += r.data[1]
            elif w == "EXISTS":
                self.resync["exists"] = r.num
            else:
                self.resync["fetches"].append((r.num, r.data))
            return
        if w == "VANISHED":
            self.on_vanished(r.data[0], r.data[1], cmd)
            return
        if r.num is not None:
            if w == "EXISTS":
                self.on_exists(r.num, cmd)
            elif w == "EXPUNGE":
                self.on_expunge(r.num, cmd)
            elif w == "FETCH":
                self.on_fetch(r.num, r.data, cmd)
            return
        if w == "FLAGS":
            if self.model.mailbox is not None:
                self.model.announced |= {f for f in norm_flags(r.data) if not f.startswith("\\")}
        elif w == "OK":
            if r.code:
                cmd.untagged_codes.append((r.code, r.code_args or ""))
                if r.code == "UIDVALIDITY" and cmd.verb in ("SELECT", "EXAMINE"):
                    self.model.uidvalidity = int(r.code_args.split()[0])
                elif r.code == "HIGHESTMODSEQ" and cmd.verb in ("SELECT", "EXAMINE"):
                    self.model.hms = int(r.code_args.split()[0])
                elif r.code == "CAPABILITY":
                    self.caps = set(r.code_args.upper().split())
        elif w == "CAPABILITY":
            self.caps = set(r.data)
        elif w == "ENABLED":
            cmd.enabled += r.data
        elif w == "SEARCH":
            cmd.search = (cmd.search or []) + r.data
            if r.extra is not None:
                cmd.search_modseq = r.extra
                m = self.model
                if m.mailbox is not None and not m.tainted:
                    self.tell_modseq(m.key(self.user), r.extra, cmd, of_message=False)
        elif w == "STATUS":
            cmd.status_data = r.data
        elif w == "BYE":
            cmd.bye = True
            if cmd.verb != "LOGOUT":
                self.fail("unexpected-bye", "* BYE %s during %s %s" % (r.text, cmd.tag, cmd.kind))
        elif w == "BAD":
            self.fail("bad", "untagged BAD %s during %s %s" % (r.text, cmd.tag, cmd.kind))

    def on_exists(self, n, cmd):
        """RULE 1 (RFC 3501 §7.3.1): EXISTS gives the new size of the mailbox; messages
        leave only through EXPUNGE responses, so EXISTS never shrinks the count."""
        m = self.model
        if m.mailbox is None or m.lost_count:
            return
        cmd.exists = True
        if n < len(m.slots):
            self.fail("exists-shrank", "* %d EXISTS while the session holds %d messages of %s"
                      % (n, len(m.slots), m.mailbox), taint=True)
            return
        m.slots.extend(Slot() for _ in range(n - len(m.slots)))

    def on_expunge(self, n, cmd):
        """RULE 1 (RFC 3501 §7.4.1): n names a message the session holds (1 <= n <= count),
        and no EXPUNGE response is sent during FETCH, STORE or SEARCH (the UID forms may).
        RULE 5: an expunged message must have been \\Deleted or moved by some session first
        (a spurious expunge loses mail); the message is gone from then on for every session.
        RULE 9: a session that enabled QRESYNC is told VANISHED, never * n EXPUNGE."""
        m = self.model
        if m.mailbox is None or m.lost_count:
            return
        if cmd.verb in ("FETCH", "STORE", "SEARCH") and not cmd.uid:
            self.fail("expunge-forbidden", "* %d EXPUNGE during %s %s (RFC 3501 §7.4.1 forbids "
                      "EXPUNGE responses during FETCH, STORE and SEARCH)" % (n, cmd.tag, cmd.kind))
        if self.qresync:
            self.fail("expunge-not-vanished", "* %d EXPUNGE during %s %s, but the session enabled QRESYNC "
                      "(RFC 7162 §3.2.10: VANISHED replaces EXPUNGE)" % (n, cmd.tag, cmd.kind))
        if n < 1 or n > len(m.slots):
            self.fail("expunge-out-of-range", "* %d EXPUNGE while the session holds %d messages of %s"
                      % (n, len(m.slots), m.mailbox), taint=True)
            return
        slot = m.slots.pop(n - 1)
        if slot.uid is None:
            return
        cmd.expunged.add(slot.uid)
        if m.tainted:
            return
        self.gone(slot.uid, "* %d EXPUNGE" % n)

    def gone(self, uid, what):
        """RULE 5 for a message the server said was expunged: some session \\Deleted or moved
        it first, and from now on it is gone for every session."""
        m = self.model
        t = self.truth.ensure(m.key(self.user), uid)
        if t.created and not t.removable_before(self.run._tick + 1):
            self.fail("spurious-expunge", "%s of %s UID %d (X-Stress-Id %s): no session "
                      "set \\Deleted on it or moved it" % (what, m.mailbox, uid, t.xid))
        if t.gone_at is None:
            t.gone_at = self.run._tick

    def on_vanished(self, earlier, uids, cmd):
        """RULE 9 (RFC 7162 §3.2.10): with QRESYNC enabled, expunges come as * VANISHED
        uid-set (never to a session that did not enable it). VANISHED without (EARLIER)
        removes every UID of the set the session holds (UIDs it does not hold are ignored:
        the server may name messages already gone), with the restrictions of EXPUNGE (RULE 1:
        not during FETCH, STORE or SEARCH) and RULE 5. VANISHED (EARLIER) changes no sequence
        number: it names UIDs expunged earlier (QRESYNC SELECT, UID FETCH ... VANISHED), never
        one the session still holds (it has not been told that one is gone: the plain
        VANISHED that does so would then name a UID the client already dropped)."""
        m = self.model
        if not self.qresync:
            self.fail("vanished-unexpected", "* VANISHED%s %s during %s %s, but the session did not "
                      "enable QRESYNC (RFC 7162 §3.2.10)" % (" (EARLIER)" if earlier else "", seqset(uids),
                                                             cmd.tag, cmd.kind))
        if m.mailbox is None:
            return
        if earlier:
            cmd.vanished_earlier += uids
            if cmd.verb != "FETCH" or not cmd.uid:
                self.fail("protocol", "* VANISHED (EARLIER) during %s %s (RFC 7162 §3.2.10: only in "
                          "reply to SELECT (QRESYNC) or UID FETCH (VANISHED))" % (cmd.tag, cmd.kind))
            held = sorted(set(uids) & m.known_uids())
            if held and not m.tainted:
                self.fail("vanished-earlier-held", "* VANISHED (EARLIER) during %s %s names UIDs %s of %s, "
                          "which the session holds (not told expunged yet) as messages %s" % (
                              cmd.tag, cmd.kind, seqset(held), m.mailbox,
                              ",".join(str(m.seq_of(u)) for u in held)))
            if not m.tainted:
                key = m.key(self.user)
                for u in uids:
                    t = self.truth.get(key, u)
                    if t is None or not t.created:
                        continue
                    if not t.removable_before(self.run._tick + 1):
                        self.fail("spurious-expunge", "* VANISHED (EARLIER) names %s UID %d (X-Stress-Id %s): "
                                  "no session set \\Deleted on it or moved it" % (m.mailbox, u, t.xid))
                    elif t.gone_at is None:
                        t.gone_at = self.run._tick
            return
        if cmd.verb in ("FETCH", "STORE", "SEARCH") and not cmd.uid:
            self.fail("expunge-forbidden", "* VANISHED %s during %s %s (RFC 7162 §3.2.10: VANISHED is "
                      "restricted as EXPUNGE, RFC 3501 §7.4.1)" % (seqset(uids), cmd.tag, cmd.kind))
        gone = set(uids)
        # It may name a message announced by EXISTS whose UID is not learned yet (a UID it
        # does not hold, between the UIDs around such a message): whether it does is not
        # determined. Start over after it (not an error).
        ambiguous = False
        lo = 0
        unknown_since = None
        for s in m.slots + [Slot(uid=float("inf"))]:
            if s.uid is None:
                unknown_since = lo if unknown_since is None else unknown_since
                continue
            if unknown_since is not None and any(unknown_since < u < s.uid for u in gone):
                ambiguous = True
            lo, unknown_since = s.uid, None
        for i in range(len(m.slots) - 1, -1, -1):
            uid = m.slots[i].uid
            if uid is not None and uid in gone:
                m.slots.pop(i)
                cmd.expunged.add(uid)
                if not m.tainted:
                    self.gone(uid, "* VANISHED")
        if ambiguous:
            self.note("-- VANISHED may name a message whose UID is not learned yet: re-SELECT")
            m.tainted = m.lost_count = True

    def on_fetch(self, n, items, cmd):
        """RULE 1: a FETCH names a message the session holds (n <= count); a UID in it equals
        the UID the session already has at n; UIDs ascend with sequence numbers (RFC 3501
        §2.3.1.1). RULE 7 (RFC 3501 §7.2.6): every keyword in FLAGS was announced in "* FLAGS".
        RULE 2/6: a body or X-Stress-Id header shows the message its UID names."""
        m = self.model
        if m.mailbox is None or m.lost_count:
            return
        if n < 1 or n > len(m.slots):
            self.fail("fetch-out-of-range", "* %d FETCH while the session holds %d messages of %s"
                      % (n, len(m.slots), m.mailbox), taint=True)
            return
        slot = m.slots[n - 1]
        if "UID" in items:
            try:
                uid = int(items["UID"])
            except (TypeError, ValueError):
                self.fail("unparsable", "FETCH UID %r" % (items["UID"],))
                return
            cmd.first.setdefault(uid if cmd.uid else n, dict(items))
            if "FLAGS" in items:
                cmd.uid_flags[uid] = items["FLAGS"]
            if slot.uid is None:
                self.check_uid_order(n, uid)
                slot.uid = uid
            elif slot.uid != uid:
                self.fail("fetch-uid-mismatch", "* %d FETCH (UID %d), but message %d of %s has UID %d"
                          % (n, uid, n, m.mailbox, slot.uid), taint=True)
                return
        cmd.first.setdefault(slot.uid if cmd.uid else n, dict(items))
        if self.condstore or "MODSEQ" in items:
            self.check_modseq(n, slot, items, cmd)
        if "FLAGS" in items:
            flags = norm_flags(items["FLAGS"])
            kws = {f for f in flags if not f.startswith("\\")}
            missing = kws - m.announced
            if missing:
                self.fail("keyword-not-announced", "* %d FETCH FLAGS shows %s, never announced by "
                          "* FLAGS (%s) in %s" % (n, " ".join(sorted(missing)),
                                                  " ".join(sorted(m.announced)), m.mailbox))
                m.announced |= missing  # once per keyword and mailbox selection
            slot.flags = flags
        self.merge_fetched(cmd, n, slot.uid, items)
        if slot.uid is None or m.tainted:
            return
        key = m.key(self.user)
        size = items.get("RFC822.SIZE")
        size = int(size) if isinstance(size, str) and size.isdigit() else None
        body = items.get("BODY[]")
        t = self.truth.get(key, slot.uid)
        # RFC 2180 §4.1.3: "NIL FETCH responses" (BODY[] NIL, RFC822.SIZE 0) for a message
        # another session expunged meanwhile (Dovecot does so); tolerated only
        # for a message some session \Deleted or moved.
        expungeable = t is not None and t.removable_before(self.run._tick + 1)
        if size == 0 and expungeable:
            self.run.tolerate("NIL FETCH of an expunged message")
            size = None
        if "BODY[]" in items:
            if not isinstance(body, (bytes, bytearray)):
                if expungeable:
                    self.run.tolerate("NIL FETCH of an expunged message")
                else:
                    self.fail("body-unavailable", "* %d FETCH (UID %d) BODY[] is NIL, and no session "
                              "\\Deleted or moved the message" % (n, slot.uid))
            else:
                self.truth.learn(self, key, slot.uid, stress_id(body), len(body))
        for name, val in items.items():
            if name.startswith("BODY[HEADER.FIELDS"):
                self.truth.learn(self, key, slot.uid, stress_id(val))
        if size is not None:
            self.truth.learn(self, key, slot.uid, None, size)

    def solicited(self, cmd, n, uid):
        """Whether a FETCH response for message n (UID uid) answers the FETCH itself."""
        if cmd.verb != "FETCH" or cmd.targets is None:
            return False
        if cmd.targets == "all":
            return True
        return (uid if cmd.uid else n) in cmd.targets

    def check_modseq(self, n, slot, items, cmd):
        """RULE 10 (RFC 7162 §3.1, §3.2.4), for sessions that enabled CONDSTORE:
        (a) the MODSEQ of a message never goes down (per session);
        (b) a FETCH whose FLAGS differ from the flags last told for the message carries a
            MODSEQ above the one last told for it; and every FETCH that is not the answer to
            the session's own FETCH (a flag change of another session, a STORE's response)
            carries UID and MODSEQ (§3.2.4: "MUST automatically include both UID and
            mod-sequence data in all subsequent untagged FETCH responses", with the exception
            of a FETCH without UID or MODSEQ items)."""
        m = self.model
        modseq = modseq_of(items)
        if "MODSEQ" in items and modseq is None:
            self.fail("unparsable", "* %d FETCH MODSEQ %r" % (n, items["MODSEQ"]))
            return
        if self.condstore and ("FLAGS" in items or "MODSEQ" in items) and not self.solicited(cmd, n, slot.uid):
            for item, kind in (("MODSEQ", "fetch-without-modseq"), ("UID", "fetch-without-uid")):
                if item not in items:
                    self.fail(kind, "* %d FETCH (%s) during %s %s without %s, but the session enabled "
                              "CONDSTORE (RFC 7162 §3.2.4: UID and MODSEQ in every untagged FETCH but "
                              "the answer to a FETCH without them)" % (
                                  n, " ".join(k for k in items), cmd.tag, cmd.kind, item))
        if modseq is None or m.tainted:
            return
        self.run.checked["MODSEQs (rule 10)"] += 1
        if slot.uid is not None:
            k = (m.mailbox, m.uidvalidity, slot.uid)
            prev = self.told_modseq.get(k)
            if prev is not None and modseq < prev:
                self.fail("modseq-decreased", "* %d FETCH (UID %d ... MODSEQ (%d)) of %s, but the session "
                          "was told MODSEQ %d for it before (RFC 7162 §3.1: mod-sequences only grow)"
                          % (n, slot.uid, modseq, m.mailbox, prev))
            self.told_modseq[k] = max(prev or 0, modseq)
        if "FLAGS" in items and slot.flags is not None and slot.modseq is not None:
            flags = norm_flags(items["FLAGS"])
            if flags != slot.flags and modseq <= slot.modseq:
                self.fail("modseq-not-raised", "* %d FETCH (FLAGS (%s) MODSEQ (%d)) of %s UID %s: the flags "
                          "differ from those last told (%s, MODSEQ %d), but the MODSEQ did not grow "
                          "(RFC 7162 §3.1: every flag change gets a new, higher mod-sequence)" % (
                              n, " ".join(sorted(flags)), modseq, m.mailbox, slot.uid,
                              " ".join(sorted(slot.flags)), slot.modseq))
        slot.modseq = max(slot.modseq or 0, modseq)
        self.tell_modseq(m.key(self.user), modseq, cmd)

    def tell_modseq(self, key, modseq, cmd, of_message=True):
        """Notes a MODSEQ told for key (RULE 11 compares later HIGHESTMODSEQs with it); one of
        a message (not a SEARCH's) also counts for the session's resync point (Model.safe)."""
        cmd.told_modseqs[key] = max(cmd.told_modseqs.get(key, 0), modseq)
        if of_message and key == self.model.key(self.user):
            self.model.max_told = max(self.model.max_told or 0, modseq)

    @staticmethod
    def merge_fetched(cmd, n, uid, items):
        """Collects a command's FETCH data per message: by UID where it is known (a UID
        command's EXPUNGEs may renumber a message between two of its FETCH responses), else
        by sequence number."""
        rec = cmd.fetched.get(n)
        if rec is not None and rec.get("_uid") not in (None, uid):
            rec = None  # that number named another message before an EXPUNGE
        if uid is not None:
            urec = cmd.fetched_uid.get(uid)
            if urec is None:
                urec = rec if rec is not None else {}
            elif rec is not None and rec is not urec:
                urec.update(rec)
            rec = cmd.fetched_uid[uid] = urec
        if rec is None:
            rec = {}
        cmd.fetched[n] = rec
        rec.update(items)
        rec["_uid"] = uid

    def check_uid_order(self, n, uid):
        slots = self.model.slots
        for i in range(n - 2, -1, -1):
            if slots[i].uid is not None:
                if slots[i].uid >= uid:
                    self.fail("uid-order", "message %d has UID %d, not above UID %d of message %d"
                              % (n, uid, slots[i].uid, i + 1), taint=True)
                break
        for i in range(n, len(slots)):
            if slots[i].uid is not None:
                if slots[i].uid <= uid:
                    self.fail("uid-order", "message %d has UID %d, not below UID %d of message %d"
                              % (n, uid, slots[i].uid, i + 1), taint=True)
                break

    # -- checks at the end of a command -----------------------------------------------------

    def check_flags(self, cmd, seqs, skip_removable=True):
        """RULE 3 (lost flag updates): for the messages in seqs, the flags the session holds
        after cmd show every session keyword as its truth is over cmd's run: set iff the last
        write to it before cmd started set it. Applied after solicited FETCH FLAGS and STORE
        responses (the server reports the message's flags as they are) and after NOOP (which
        must have told every change committed before it began). Writes overlapping the
        command, or racing each other, make the keyword undetermined and are skipped; so are
        messages some session may have expunged meanwhile (the session can hold their flags
        frozen until it is told). With CONDSTORE on, a server holds back every update during a
        FETCH while an expunge it may not report yet is pending (RFC 5162 erratum 1810: no
        MODSEQ may pass an unreported expunge): then a FETCH shows the flags last told, and
        is not judged. A wrong own keyword on a message a conditional STORE of it reported
        [MODIFIED] is RULE 12."""
        m = self.model
        if m.mailbox is None or m.tainted:
            return
        key = m.key(self.user)
        if self.condstore and cmd.verb == "FETCH" and not cmd.uid:
            for s in m.slots:
                t = self.truth.get(key, s.uid) if s.uid is not None else None
                if t is not None and (t.gone_at is not None or t.removable_before(cmd.end)):
                    self.run.checked["FETCH flag checks not judged: an expunge may be pending (CONDSTORE)"] += 1
                    return
        kind, what = ("final-flags", "final check: ") if self.final else ("lost-flag-update", "")
        skip_removable = skip_removable and not self.final
        for seq in seqs:
            if seq < 1 or seq > len(m.slots):
                continue
            slot = m.slots[seq - 1]
            if slot.uid is None or slot.flags is None:
                continue
            t = self.truth.get(key, slot.uid)
            if t is None or t.gone_at is not None or (skip_removable and t.removable_before(cmd.end)):
                continue
            have = keywords_of(slot.flags)
            wrong = []
            guarded = False
            for k in range(self.run.clients):
                v = t.keyword_value(k, cmd.start, cmd.end)
                if v is not None:
                    self.run.checked["keyword states (rule 3)"] += 1
                if v is not None and (k in have) != v:
                    wrong.append("%s should be %s (%s)" % (keyword(k), "set" if v else "clear",
                                                          t.last_write(k, cmd.start)))
                    if k == self.index and (key, slot.uid) in self.modified_guard:
                        guarded = True
                        wrong[-1] += "; a STORE (UNCHANGEDSINCE) of it by this session got [MODIFIED]"
            if wrong:
                self.fail("unchangedsince-stored" if guarded else kind,
                          "%s%s UID %d (X-Stress-Id %s, message %d) has FLAGS (%s) after %s %s, "
                          "but %s" % (what, m.mailbox, slot.uid, t.xid, seq, " ".join(sorted(slot.flags)),
                                      cmd.tag, cmd.kind, "; ".join(wrong)))

    def check_gone(self, cmd, kind="unannounced-expunge"):
        """RULE 5: after a NOOP that started after some session was told a message was
        expunged (or its MOVE completed), this session no longer holds it."""
        m = self.model
        if m.mailbox is None or m.tainted:
            return
        key = m.key(self.user)
        for i, slot in enumerate(m.slots):
            t = self.truth.get(key, slot.uid) if slot.uid is not None else None
            if t is not None and t.created:
                self.run.checked["messages held, checked not expunged (rule 5)"] += 1
            if t is not None and t.gone_at is not None and t.gone_at < cmd.start:
                self.fail(kind, "%s UID %d (X-Stress-Id %s) was expunged at tick %d, but after %s %s "
                          "(started at tick %d) the session still holds it as message %d"
                          % (m.mailbox, slot.uid, t.xid, t.gone_at, cmd.tag, cmd.kind, cmd.start, i + 1))

    def expect(self, uids, kind, text):
        """Records UIDs the model must hold once its unknown UIDs are learned (RULE 4)."""
        if uids:
            self.pending.append((set(uids), kind, text))

    def resolve_expectations(self):
        """RULE 4: every expected UID is in the model (now that all its UIDs are known)."""
        if self.model.unknown_seqs() or self.model.tainted:
            if self.model.tainted:
                self.pending = []
            return
        known = self.model.known_uids()
        for uids, kind, text in self.pending:
            self.run.checked["UIDs required present (rule 4)"] += len(uids)
            missing = sorted(uids - known)
            if missing:
                key = self.model.key(self.user)
                xids = [getattr(self.truth.get(key, u), "xid", None) for u in missing]
                self.fail(kind, "%s: UIDs %s (X-Stress-Id %s) are not among the %d messages the "
                          "session holds" % (text, seqset(missing), ", ".join(map(str, xids)),
                                             len(self.model.slots)))
        self.pending = []

    # -- connection and login -----------------------------------------------------------------

    def connect(self, user, password):
        """Connects (IMAPS, or STARTTLS on the plain port), logs in (LOGIN or AUTHENTICATE
        PLAIN, at random) and makes sure the user has the folder "Stress"."""
        o = self.opts
        self.model.reset(None)
        self.pending = []
        self.user = user
        try:
            sock = socket.create_connection((o.host, o.port), timeout=RESPONSE_TIMEOUT)
            if o.tls:
                sock = o.ssl_context.wrap_socket(sock, server_hostname=o.servername)
        except (OSError, ssl.SSLError) as e:
            self.fail("disconnect", "cannot connect: %s" % e)
            raise SessionLost from None
        self.conn = Conn(sock)
        self.tagn = 0
        self.note("-- connected as %s" % user)
        try:
            greeting = parse_response(self.conn.read_response(RESPONSE_TIMEOUT))
        except (TimeoutError, Closed, ParseError) as e:
            self.fail("disconnect", "no greeting: %r" % e)
            raise SessionLost from None
        self.note("S: " + display(greeting.raw))
        if greeting.word != "OK":
            self.fail("protocol", "greeting %s %s" % (greeting.word, greeting.text))
            raise SessionLost
        if greeting.code == "CAPABILITY":
            self.caps = set(greeting.code_args.upper().split())
        if o.starttls:
            cmd = self.command("STARTTLS", "STARTTLS")
            if cmd.status != "OK":
                self.fail("protocol", "STARTTLS refused: %s" % cmd.text)
                raise SessionLost
            try:
                self.conn.start_tls(o.ssl_context, o.servername)
            except (OSError, ssl.SSLError) as e:
                self.fail("disconnect", "TLS handshake after STARTTLS: %s" % e)
                raise SessionLost from None
        self.login(user, password)
        self.command("CAPABILITY", "CAPABILITY")
        self.enable()
        self.prepare_user()

    def enable(self):
        """--extensions: ENABLE CONDSTORE or QRESYNC (RFC 5161, RFC 7162 §3.1, §3.2.3) once
        logged in; the server must advertise it and answer * ENABLED with it."""
        self.reset_extensions()
        if self.extension == "none":
            return
        name = self.extension.upper()
        if name not in self.caps:
            self.fail("protocol", "--extensions %s, but the server does not advertise %s (capabilities: %s)"
                      % (self.extension, name, " ".join(sorted(self.caps))))
            return
        cmd = self.command("ENABLE", "ENABLE %s" % name)
        enabled = cmd.enabled
        if cmd.status != "OK" or name not in enabled:
            self.fail("protocol", "%s ENABLE %s: %s, * ENABLED %s" % (cmd.tag, name, cmd.status, " ".join(enabled)))
            return
        self.condstore = True  # QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
        self.qresync = name == "QRESYNC"

    def login(self, user, password):
        if self.rng.random() < 0.5:
            cmd = self.command("LOGIN", "LOGIN %s %s" % (quote(user), quote(password)),
                               timeout=self.opts.login_timeout)
        else:
            token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
            if "SASL-IR" in self.caps:
                cmd = self.command("AUTHENTICATE", "AUTHENTICATE PLAIN " + token,
                                   timeout=self.opts.login_timeout)
            else:
                cmd = self.command("AUTHENTICATE", "AUTHENTICATE PLAIN",
                                   cont=[(token + "\r\n").encode()], timeout=self.opts.login_timeout)
        if cmd.status != "OK":
            self.fail("login-failed", "%s as %s: %s %s" % (cmd.kind, user, cmd.status, cmd.text))
            raise SessionLost
        if cmd.code == "CAPABILITY":
            self.caps = set(cmd.code_args.upper().split())

    def prepare_user(self):
        """Once per user and run, before any other session of the user goes on: CREATE
        "Stress" (an existing folder is fine) and STATUS INBOX, so both mailboxes exist
        before sessions use them at the same time (a brand-new user's first mailbox
        accesses racing each other is a different test; Dovecot 2.3 on sdbox panics there)."""
        with self.run.lock:
            lock = self.opts.user_locks.setdefault(self.user, threading.Lock())
        with lock:
            if self.user in self.opts.prepared:
                return
            for attempt in range(3):
                cmd = self.command("CREATE", "CREATE %s" % quote("Stress"))
                if cmd.status == "OK" or cmd.code == "ALREADYEXISTS" or re.search("exist", cmd.text, re.I):
                    break
                self.judge_no(cmd)  # an error (NO [UNAVAILABLE] is one already): try again
                time.sleep(0.2)
            self.judge_no(self.command("STATUS", "STATUS INBOX (MESSAGES UIDVALIDITY)"))
            self.opts.prepared.add(self.user)

    def logout(self):
        try:
            self.command("LOGOUT", "LOGOUT")
        except SessionLost:
            pass
        self.drop()

    def drop(self):
        if self.conn:
            self.conn.close()
        self.conn = None
        self.model.reset(None)
        self.pending = []

    # -- operations ---------------------------------------------------------------------------

    def op_select(self, mailbox, qresync=False, since=None):
        """SELECT; the model starts over (RFC 3501 §6.3.1). RULE 2: UIDVALIDITY is stable.
        RULE 11 (RFC 7162 §3.1.2.1): its HIGHESTMODSEQ is at least every MODSEQ (and
        HIGHESTMODSEQ) of the mailbox told to any session in a command that ended before this
        SELECT was sent. qresync: SELECT mailbox (QRESYNC (uidvalidity modseq known-uids))
        from the state the session kept of it (RULE 13, apply_resync)."""
        old = self.resync_base(mailbox, since) if qresync else None
        self.save_model()
        self.model.reset(mailbox)
        self.pending = []
        if old is not None:
            v, since, slots = old
            known = seqset(s.uid for s in slots)
            self.resync = {"exists": None, "fetches": []}
            try:
                cmd = self.command("SELECT QRESYNC", "SELECT %s (QRESYNC (%d %d%s))" % (
                    quote(mailbox), v, since, " " + known if known else ""))
            finally:
                resync, self.resync = self.resync, None
        else:
            cmd = self.command("SELECT", "SELECT %s" % quote(mailbox))
        if cmd.status != "OK":
            self.judge_no(cmd)
            self.model.reset(None)
            return cmd
        if self.model.uidvalidity is None:
            self.fail("protocol", "SELECT %s sent no UIDVALIDITY" % mailbox)
            self.model.reset(None)
            return cmd
        m = self.model
        with self.run.lock:
            self.truth.check_uidvalidity(self, self.user, mailbox, m.uidvalidity,
                                         "SELECT at tick %d" % cmd.start)
            self.check_hms(cmd)
        m.safe = m.hms
        if old is not None:
            self.apply_resync(cmd, old, resync)
        else:
            self.settle()
        return cmd

    def check_hms(self, cmd):
        """RULE 11 (see op_select), for the HIGHESTMODSEQ the SELECT just told."""
        m = self.model
        if m.hms is None or not self.condstore:
            return
        key = m.key(self.user)
        best = self.truth.modseq_told_before(key, cmd.start)
        if best is not None:
            self.run.checked["HIGHESTMODSEQ against MODSEQs told before (rule 11)"] += 1
            if m.hms < best[0]:
                self.fail("highestmodseq-too-low", "%s %s %s: HIGHESTMODSEQ %d, but session %s was told "
                          "MODSEQ %d for %s UIDVALIDITY %d in a command that ended at tick %d, before "
                          "this SELECT (tick %d)" % (cmd.tag, cmd.kind, m.mailbox, m.hms, best[2], best[0],
                                                      m.mailbox, m.uidvalidity, best[1], cmd.start))
        self.truth.record_modseq(key, cmd.end, m.hms, self.index)

    def save_model(self):
        """Keeps the model of the selected mailbox (if whole and sound) for a later QRESYNC
        SELECT of it."""
        m = self.model
        if (self.qresync and m.mailbox is not None and not m.tainted and m.uidvalidity is not None
                and m.safe is not None and not m.unknown_seqs()):
            self.saved[m.mailbox] = (m.uidvalidity, m.hms, m.safe, [s.copy() for s in m.slots])

    def resync_base(self, mailbox, since=None):
        """(uidvalidity, modseq, slots) to resynchronize mailbox from, or None: the model the
        session kept of it, from its SELECT's HIGHESTMODSEQ or (at random) from the later
        point up to which it was told every change (Model.safe)."""
        if not self.qresync:
            return None
        if mailbox == self.model.mailbox:
            self.save_model()
        base = self.saved.pop(mailbox, None)
        if base is None:
            return None
        v, hms, safe, slots = base
        if since is None:
            since = hms if self.rng.random() < 0.5 or safe is None else safe
        return v, since, slots

    def apply_resync(self, cmd, old, resync):
        """RULE 13 (RFC 7162 §3.2.5.1): a QRESYNC SELECT brings the model the session kept up
        to date. Its * VANISHED (EARLIER) names only UIDs some session \\Deleted or moved
        (RULE 5); removed from the old model, the UIDs left are the first messages of the
        EXISTS count (the rest are new), each * n FETCH (UID u FLAGS (...) MODSEQ (m)) has u
        at n, m above the modseq given (and not above HIGHESTMODSEQ, RULE 11); the result
        shows every keyword as its truth is (RULE 3), no message known expunged before
        (RULE 5), every message created before (RULE 4); and a FETCH 1:n (UID FLAGS) right
        after agrees with it, UID for UID and flag for flag (flags another session's STORE
        may have changed meanwhile are not judged), and shows no UID the VANISHED (EARLIER)
        named."""
        v, since, old_slots = old
        m = self.model
        n = resync["exists"]
        if n is None:
            self.fail("protocol", "%s %s sent no EXISTS" % (cmd.tag, cmd.kind))
            m.tainted = True
            self.settle()
            return
        vanished = set(cmd.vanished_earlier)
        if m.uidvalidity != v:
            # Another mailbox under that name now: nothing to resynchronize (RULE 2 judges).
            if vanished or resync["fetches"]:
                self.fail("qresync-mismatch", "%s %s: UIDVALIDITY %d is not the %d given, yet VANISHED "
                          "(EARLIER) or FETCH responses came" % (cmd.tag, cmd.kind, m.uidvalidity, v))
            m.slots = [Slot() for _ in range(n)]
            self.settle()
            return
        key = m.key(self.user)
        self.run.checked["QRESYNC SELECTs checked (rule 13)"] += 1
        self.kind_map = {k: "qresync-mismatch" for k in (
            "fetch-uid-mismatch", "fetch-out-of-range", "uid-order", "lost-flag-update", "unannounced-expunge")}
        try:
            with self.run.lock:
                for u in sorted(vanished):
                    t = self.truth.get(key, u)
                    if t is None or not t.created:
                        continue
                    if not t.removable_before(self.run._tick + 1):
                        self.fail("spurious-expunge", "%s %s: * VANISHED (EARLIER) names %s UID %d (X-Stress-Id "
                                  "%s): no session set \\Deleted on it or moved it" % (
                                      cmd.tag, cmd.kind, m.mailbox, u, t.xid))
                    elif t.gone_at is None:
                        t.gone_at = self.run._tick
            surviving = [s.copy() for s in old_slots if s.uid not in vanished]
            if len(surviving) > n:
                self.fail("qresync-mismatch", "%s %s: after * VANISHED (EARLIER) %s the session holds %d of its "
                          "%d messages, but * %d EXISTS: expunges went unreported" % (
                              cmd.tag, cmd.kind, seqset(vanished) or "(none)", len(surviving), len(old_slots), n),
                          taint=True)
                m.slots = [Slot() for _ in range(n)]
            else:
                m.slots = surviving + [Slot() for _ in range(n - len(surviving))]
            for num, items in resync["fetches"]:
                if str(items.get("UID")) in {str(u) for u in vanished}:
                    self.fail("vanished-earlier-present", "%s %s: * %d FETCH (UID %s ...) of a UID its own "
                              "* VANISHED (EARLIER) named" % (cmd.tag, cmd.kind, num, items["UID"]))
            for num, items in ([] if m.tainted else resync["fetches"]):
                ms = modseq_of(items)
                if "UID" not in items or "FLAGS" not in items or ms is None:
                    self.fail("qresync-mismatch", "%s %s: * %d FETCH (%s) lacks UID, FLAGS or MODSEQ "
                              "(RFC 7162 §3.2.5.1)" % (cmd.tag, cmd.kind, num, " ".join(items)))
                elif ms <= since:
                    self.fail("qresync-mismatch", "%s %s: * %d FETCH (UID %s ... MODSEQ (%d)), not changed "
                              "since the modseq %d given" % (cmd.tag, cmd.kind, num, items["UID"], ms, since))
                elif m.hms is not None and ms > m.hms:
                    self.fail("highestmodseq-too-low", "%s %s: * %d FETCH (UID %s ... MODSEQ (%d)) above the "
                              "HIGHESTMODSEQ %d of the same SELECT" % (cmd.tag, cmd.kind, num, items["UID"],
                                                                       ms, m.hms))
                with self.run.lock:
                    self.on_fetch(num, items, cmd)
                if m.tainted:
                    break
            with self.run.lock:
                self.publish_modseqs(cmd)
            if not m.tainted:
                self.check_after_poll(cmd, kind="qresync-mismatch")
        finally:
            self.kind_map = {}
        self.resync_check(cmd, vanished)

    def resync_check(self, sel, vanished):
        """The FETCH 1:n (UID FLAGS) right after a QRESYNC SELECT (RULE 13, apply_resync).
        When the resync already went wrong, the model starts over from this FETCH (all its
        messages unknown), which still shows whether a UID VANISHED (EARLIER) named is there."""
        m = self.model
        n = len(m.slots)
        if m.mailbox is None or n == 0 or m.lost_count:
            self.settle()
            return
        if m.tainted:
            m.slots = [Slot() for _ in m.slots]
            m.tainted = False
            self.pending = []
        expected = [(s.uid, s.flags) for s in m.slots]
        self.kind_map = {k: "qresync-mismatch" for k in ("fetch-uid-mismatch", "fetch-out-of-range", "uid-order")}
        try:
            chk = self.command("FETCH", "FETCH 1:%d (UID FLAGS)" % n, targets=set(range(1, n + 1)))
        finally:
            self.kind_map = {}
        if chk.status != "OK":
            self.judge_no(chk)
            self.settle()
            return
        key = m.key(self.user)
        with self.run.lock:
            for seq, (uid, flags) in enumerate(expected, 1):
                first = chk.first.get(seq)
                got = first.get("UID") if first else None
                if not (isinstance(got, str) and got.isdigit()):
                    self.fail("qresync-mismatch", "%s FETCH 1:%d (UID FLAGS) after %s %s: no UID for message %d"
                              % (chk.tag, n, sel.tag, sel.kind, seq), taint=True)
                    break
                got = int(got)
                self.run.checked["messages compared after a QRESYNC SELECT (rule 13)"] += 1
                if got in vanished:
                    self.fail("vanished-earlier-present", "%s %s: * VANISHED (EARLIER) named UID %d, but %s "
                              "FETCH shows it as message %d of %s" % (sel.tag, sel.kind, got, chk.tag, seq,
                                                                      m.mailbox))
                if uid is None or got != uid or flags is None or "FLAGS" not in first:
                    continue  # a new message (learned now), or a mismatch on_fetch reported
                shown = norm_flags(first["FLAGS"])
                t = self.truth.get(key, uid)
                if shown != flags and not (t is not None and t.touched_between(sel.start, chk.end)):
                    self.fail("qresync-mismatch", "%s %s left %s UID %d (message %d) with FLAGS (%s), but %s "
                              "FETCH right after shows FLAGS (%s), and no STORE to it ran meanwhile" % (
                                  sel.tag, sel.kind, m.mailbox, uid, seq, " ".join(sorted(flags)), chk.tag,
                                  " ".join(sorted(shown))))
            if m.tainted and not m.lost_count:
                # The resync went wrong: the model starts over from what this FETCH showed.
                firsts = [chk.first.get(seq) or {} for seq in range(1, n + 1)]
                if all(str(f.get("UID", "")).isdigit() and "FLAGS" in f for f in firsts):
                    m.slots = [Slot(int(f["UID"]), norm_flags(chk.uid_flags.get(int(f["UID"]), f["FLAGS"])))
                               for f in firsts] + m.slots[n:]
                    m.tainted = False
                    self.pending = []
        self.settle()

    def op_learn(self):
        """FETCH (UID FLAGS) of the messages whose UID or flags the session was not told
        (with CONDSTORE: (UID FLAGS MODSEQ))."""
        seqs = self.model.unknown_seqs()
        if not seqs:
            return None
        spec = "(UID FLAGS MODSEQ)" if self.condstore else "(UID FLAGS)"
        cmd = self.command("FETCH", "FETCH %s %s" % (seqset(seqs), spec), targets=set(seqs))
        if cmd.status == "OK":
            for seq in seqs:
                if seq not in cmd.fetched or cmd.fetched[seq].get("_uid") is None:
                    self.fail("fetch-missing", "%s FETCH %d %s: no UID for message %d of %s"
                              % (cmd.tag, seq, spec, seq, self.model.mailbox), taint=True)
                    break
                if self.condstore and "MODSEQ" not in cmd.fetched[seq]:
                    self.fail("fetch-missing", "%s FETCH %d %s: no MODSEQ for message %d of %s"
                              % (cmd.tag, seq, spec, seq, self.model.mailbox))
            with self.run.lock:
                self.check_flags(cmd, seqs)
        else:
            self.judge_no(cmd)
        self.resolve_expectations()
        return cmd

    def settle(self):
        """Learns unknown UIDs (after EXISTS), then checks pending expectations."""
        if self.model.tainted and self.model.mailbox:
            self.op_select(self.model.mailbox)
            return
        if self.model.unknown_seqs():
            self.op_learn()
        else:
            self.resolve_expectations()

    def op_fetch(self, seqs, items, uid=False, kind=None):
        """FETCH / UID FETCH of messages the session holds.

        RULE 6 (RFC 3501 §7.4.1, RFC 2180 §4.1.1 keeps them fetchable): a FETCH by sequence
        number of a message the session holds returns it, even if another session expunged it
        and this session was not told yet (no EXPUNGE may come during FETCH); a NO or a
        missing response is an error. UID FETCH may instead report the message expunged.
        RULE 3: the FLAGS it returns are checked against the truth (check_flags)."""
        m = self.model
        targets = [(s, m.slots[s - 1].uid) for s in seqs if 1 <= s <= len(m.slots)]
        if not targets:
            return None
        spec = "(%s)" % " ".join(items)
        if uid:
            cmd = self.command(kind or "UID FETCH", "UID FETCH %s %s" % (seqset(u for _, u in targets), spec),
                               uid=True, targets={u for _, u in targets})
        else:
            cmd = self.command(kind or "FETCH", "FETCH %s %s" % (seqset(s for s, _ in targets), spec),
                               targets={s for s, _ in targets})
        wants_body = "BODY.PEEK[]" in items
        what = "BODY[]" if wants_body else "FETCH data"
        if m.tainted:
            self.settle()
            return cmd
        if cmd.status != "OK":
            if wants_body and cmd.status == "NO":
                self.fail("body-unavailable", "%s %s of messages the session holds: NO %s%s" % (
                    cmd.tag, cmd.kind, "[%s] " % cmd.code if cmd.code else "", cmd.text))
            else:
                self.judge_no(cmd)
            return cmd
        got = []
        for seq, u in targets:
            rec = cmd.fetched_uid.get(u) if uid else cmd.fetched.get(seq)
            if uid and rec is None and u in cmd.expunged:
                continue
            if rec is None or (wants_body and "BODY[]" not in rec):
                self.fail("body-unavailable" if wants_body else "fetch-missing",
                          "%s %s: no %s for message %d (UID %s) of %s, which the session holds"
                          % (cmd.tag, cmd.kind, what, seq, u, m.mailbox))
                continue
            if uid and "UID" not in rec:
                self.fail("protocol", "%s UID FETCH response for UID %s without UID" % (cmd.tag, u))
            if "MODSEQ" in items and "MODSEQ" not in rec:
                self.fail("fetch-missing", "%s %s: no MODSEQ for message %d (UID %s) of %s"
                          % (cmd.tag, cmd.kind, seq, u, m.mailbox))
            cur = m.seq_of(u) if u is not None else seq
            if cur:
                got.append(cur)
        if "FLAGS" in items:
            with self.run.lock:
                self.check_flags(cmd, got)
        self.settle()
        return cmd

    def op_store(self, seqs, mode, flags, silent=False, uid=False, unchangedsince=None, stale=False):
        """STORE / UID STORE (+FLAGS, -FLAGS, FLAGS; .SILENT). The keyword writes are recorded
        in the truth before the command is sent and completed (or made unknown, on NO or loss)
        with its tagged response. RULE 3: the flags the server returns must show every other
        session's committed keyword changes (a STORE that rewrote flags from a stale snapshot
        loses them).

        RULE 12 (RFC 7162 §3.1.3), unchangedsince m: a message whose mod-sequence is above m
        is not stored and is listed in [MODIFIED] (sequence numbers; UIDs for UID STORE). So
        with stale (m below the MODSEQ the session was told for it, so certainly above m) the
        tagged OK must list it (unless another session may have expunged it); and a message
        listed keeps its flags: the write of the own keyword is dropped from the truth, and
        the own keyword showing otherwise later is "unchangedsince-stored". RULE 10 (b) also
        holds for what .SILENT lets the session assume: a change of the flags needs a higher
        MODSEQ in the STORE's FETCH."""
        m = self.model
        targets = [(s, m.slots[s - 1].uid) for s in seqs if 1 <= s <= len(m.slots) and m.slots[s - 1].uid]
        if not targets:
            return None
        item = {"+": "+FLAGS", "-": "-FLAGS", "": "FLAGS"}[mode] + (".SILENT" if silent else "")
        given = norm_flags(flags)
        key = m.key(self.user)
        writes = []  # (uid, Write)
        touched = []
        conditional = unchangedsince is not None
        verb = ("UID STORE" if uid else "STORE") + " " + item
        modseq_before = {u: m.slots[s - 1].modseq for s, u in targets}
        modified = set()  # UIDs the tagged OK listed in [MODIFIED]

        def before(cmd):
            for _, u in targets:
                t = self.truth.ensure(key, u)
                touched.append(t.touch(cmd.start))
                if mode == "":
                    present = keywords_of(given)
                    writes.append((u, t.add_write(Write(cmd.start, self.index, verb, values={k: True for k in present},
                                                        default=False))))
                elif self.index is not None and self.own.upper() in given:
                    writes.append((u, t.add_write(Write(cmd.start, self.index, verb, k=self.index, value=(mode == "+")),
                                                  prune=not conditional)))
                if "\\DELETED" in given and mode in ("+", ""):
                    if t.deleted_since is None:
                        t.deleted_since = cmd.start

        def after(cmd):
            if cmd.status == "OK" and cmd.code == "MODIFIED":
                try:
                    listed = set(parse_uid_set(cmd.code_args))
                except ValueError:
                    listed = set()
                    self.fail("protocol", "%s %s: unreadable [MODIFIED %s]" % (cmd.tag, cmd.kind, cmd.code_args))
                by_seq = dict(targets)
                named = {u for _, u in targets} if uid else set(by_seq)
                if listed - named or not conditional:
                    self.fail("protocol", "%s %s: [MODIFIED %s] names %s not STOREd conditionally" % (
                        cmd.tag, cmd.kind, cmd.code_args, seqset(listed - named) or "messages"))
                modified.update(listed if uid else {by_seq[s] for s in listed if s in by_seq})
            for iv in touched:
                iv[1] = None if cmd.status == "LOST" else cmd.end
            for u, w in writes:
                t = self.truth.ensure(key, u)
                if cmd.status == "LOST":
                    w.make_unknown()  # the server may still apply it, at any time: never ends
                    continue
                w.end = cmd.end
                if cmd.status != "OK":
                    w.make_unknown()
                elif conditional:
                    t.settle_write(w, applied=u not in modified)
                if cmd.status == "OK" and u not in modified and w.k in (None, self.index):
                    self.modified_guard.discard((key, u))
            if cmd.status == "OK" and self.index is not None and self.own.upper() in given:
                for u in modified:
                    self.modified_guard.add((key, u))

        ids = seqset(u for _, u in targets) if uid else seqset(s for s, _ in targets)
        cond = " (UNCHANGEDSINCE %d)" % unchangedsince if conditional else ""
        kind = ("UID STORE" if uid else "STORE") + (" UNCHANGEDSINCE" if conditional else "")
        cmd = self.command(kind, "%s%s %s%s %s (%s)" % (
            "UID " if uid else "", "STORE", ids, cond, item, " ".join(flags)), uid=uid, before=before, after=after)
        if cmd.status != "OK":
            self.judge_no(cmd, expunge_tolerated=True)
            self.settle()
            return cmd
        if conditional:
            self.run.checked["conditional STOREs (rule 12)"] += 1
        if stale and not m.tainted:
            with self.run.lock:
                for s, u in targets:
                    t = self.truth.get(key, u)
                    if u in modified or t is None or t.gone_at is not None or t.removable_before(cmd.end):
                        continue
                    self.fail("unchangedsince-ignored", "%s %s: UID %d of %s was told MODSEQ %s, above "
                              "UNCHANGEDSINCE %d, yet the tagged OK has no [MODIFIED] for it (RFC 7162 §3.1.3)"
                              % (cmd.tag, cmd.kind, u, m.mailbox, modseq_before.get(u), unchangedsince))
        # What the client may assume of its own change where the server said nothing
        # (.SILENT, RFC 3501 §6.4.6), applied to the messages it still holds.
        told = []
        for s, u in targets:
            cur = m.seq_of(u)
            if cur is None:
                continue
            rec = cmd.fetched_uid.get(u)
            if u in modified:
                if rec is not None and "FLAGS" in rec:
                    told.append(cur)
                continue
            if self.condstore and rec is None:
                # With CONDSTORE every message stored gets a FETCH with its MODSEQ (RFC 7162
                # §3.1.3), .SILENT or not: none, so it was not stored (another session
                # expunged it meanwhile). Its flags are not known now.
                m.slots[cur - 1].flags = None
                continue
            if silent or rec is None or "FLAGS" not in rec:
                slot = m.slots[cur - 1]
                old = slot.flags or frozenset()
                slot.flags = {"+": old | given, "-": old - given, "": given}[mode]
                reported = modseq_of(rec) if rec is not None else None
                was = modseq_before.get(u)
                if (self.condstore and slot.flags != old and reported is not None and was is not None
                        and reported <= was and not m.tainted):
                    self.fail("modseq-not-raised", "%s %s changed the flags of %s UID %d to (%s), but its FETCH "
                              "says MODSEQ (%d), not above the MODSEQ %d told before (RFC 7162 §3.1)" % (
                                  cmd.tag, cmd.kind, m.mailbox, u, " ".join(sorted(slot.flags)), reported, was))
            else:
                told.append(cur)
        with self.run.lock:
            self.check_flags(cmd, told)
        self.settle()
        return cmd

    def op_expunge(self, uids=None):
        """EXPUNGE, or UID EXPUNGE of uids (RFC 4315).

        RULE 5: the session's own EXPUNGE reports (* n EXPUNGE) every message it holds as
        \\Deleted that is gone: one another session had been told was expunged before this
        EXPUNGE started must not stay in the model afterwards."""
        m = self.model
        doomed = {s.uid for s in m.slots if s.uid is not None and s.flags and "\\DELETED" in s.flags}
        if uids is not None:
            doomed &= set(uids)
            if not uids:
                return None
            cmd = self.command("UID EXPUNGE", "UID EXPUNGE %s" % seqset(uids), uid=True)
        else:
            cmd = self.command("EXPUNGE", "EXPUNGE")
        if cmd.status != "OK":
            self.judge_no(cmd)
            return cmd
        with self.run.lock:
            key = m.key(self.user)
            for u in sorted(doomed & m.known_uids()):
                t = self.truth.get(key, u)
                if t is not None and t.gone_at is not None and t.gone_at < cmd.start and not m.tainted:
                    self.fail("expunge-not-reported", "%s %s: %s UID %d (X-Stress-Id %s) is \\Deleted in "
                              "the session's view and was expunged at tick %d, but no * EXPUNGE told "
                              "the session" % (cmd.tag, cmd.kind, m.mailbox, u, t.xid, t.gone_at))
        self.settle()
        return cmd

    def new_message(self):
        """A small message with a unique X-Stress-Id."""
        self.appended += 1
        xid = "%s.%s.%d" % (self.opts.run_id if self.opts else "t", self.index, self.appended)
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        body = "\r\n".join(" ".join(self.rng.choice(words) for _ in range(self.rng.randint(3, 12)))
                           for _ in range(self.rng.randint(1, 20)))
        head = ("From: Stress <stress@stress.test>\r\nTo: <%s>\r\nSubject: stress %s\r\n"
                "Date: %s\r\nMessage-ID: <%s@stress.test>\r\nX-Stress-Id: %s\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n") % (
            self.user, xid, email.utils.formatdate(), xid, xid)
        return xid, (head + body + "\r\n").encode()

    def op_append(self, mailbox, flags=()):
        """APPEND with a unique X-Stress-Id; UIDPLUS APPENDUID tells its UID (RFC 4315).

        RULE 2: the UID is new (Truth.register). RULE 4 (RFC 3501 §6.3.11): into the selected
        mailbox, the server announces the new message with EXISTS before the tagged OK."""
        xid, data = self.new_message()
        given = norm_flags(flags)
        m = self.model
        cmd = self.command("APPEND", "APPEND %s (%s)" % (quote(mailbox), " ".join(flags)), literal=data)
        if cmd.status != "OK":
            self.judge_no(cmd)
            return cmd
        if cmd.code != "APPENDUID":
            self.fail("protocol", "%s APPEND OK without APPENDUID: %s" % (cmd.tag, cmd.text))
            return cmd
        v, u = (int(x) for x in cmd.code_args.split()[:2])
        key = (self.user, mailbox, v)
        with self.run.lock:
            if mailbox in STRESS_FOLDERS:
                self.truth.check_uidvalidity(self, self.user, mailbox, v, "APPENDUID at tick %d" % cmd.end)
            present = keywords_of(given)
            w = Write(cmd.start, self.index, "APPEND", values={k: True for k in present}, default=False)
            t = self.truth.register(self, key, u, xid, len(data), cmd.start, cmd.end, write=w,
                                    deleted="\\DELETED" in given)
        # Another session may have learned, moved or expunged it before this tagged OK.
        removed = t is None or t.removable_before(cmd.end) or t.gone_at is not None
        if mailbox == m.mailbox and v == m.uidvalidity and not m.tainted and not removed:
            if u not in m.known_uids() and not m.unknown_seqs():
                self.fail("append-no-exists", "%s APPEND into the selected %s got UID %d, but no "
                          "* EXISTS announced it before the tagged OK (the session holds %d messages)"
                          % (cmd.tag, mailbox, u, len(m.slots)))
            else:
                self.expect({u}, "append-no-exists", "after %s APPEND into the selected %s" % (cmd.tag, mailbox))
        self.settle()
        return cmd

    def op_copy(self, seqs, dest, uid=False, move=False):
        """COPY / MOVE and the UID forms (RFC 3501 §6.4.7, RFC 6851, COPYUID of RFC 4315).

        The copies inherit the source's keyword truth as it was over the command (undetermined
        where a write raced it). RULE 5: MOVE expunges the moved messages from the session's
        own view before its tagged OK. RULE 4: copies into the selected mailbox are announced
        by EXISTS before the tagged OK. A NO saying the messages were expunged meanwhile is
        tolerated."""
        m = self.model
        targets = [(s, m.slots[s - 1].uid) for s in seqs if 1 <= s <= len(m.slots) and m.slots[s - 1].uid]
        if not targets:
            return None
        src_key = m.key(self.user)
        kind = ("UID " if uid else "") + ("MOVE" if move else "COPY")

        def before(cmd):
            if move:
                for _, u in targets:
                    t = self.truth.ensure(src_key, u)
                    if t.moved_since is None:
                        t.moved_since = cmd.start

        ids = seqset(u for _, u in targets) if uid else seqset(s for s, _ in targets)
        cmd = self.command(kind, "%s %s %s" % (kind, ids, quote(dest)), uid=uid, before=before)
        if cmd.status != "OK":
            self.judge_no(cmd, expunge_tolerated=True)
            self.settle()
            return cmd
        codes = [(cmd.code, cmd.code_args or "")] + cmd.untagged_codes
        copyuid = next((args for code, args in codes if code == "COPYUID"), None)
        pairs = []
        if copyuid:
            try:
                v, srcs, dsts = copyuid.split()
                v = int(v)
                pairs = list(zip(parse_uid_set(srcs), parse_uid_set(dsts)))
                if not pairs or len(parse_uid_set(srcs)) != len(parse_uid_set(dsts)):
                    raise ValueError
            except ValueError:
                self.fail("malformed-copyuid", "%s %s: [COPYUID %s] (RFC 4315 §3: UIDVALIDITY and two "
                          "UID sets of the same, non-zero size; nothing copied: no COPYUID)" % (
                              cmd.tag, kind, copyuid))
                copyuid = None
        with self.run.lock:
            if copyuid:
                if dest in STRESS_FOLDERS:
                    self.truth.check_uidvalidity(self, self.user, dest, v, "COPYUID at tick %d" % cmd.end)
                dst_key = (self.user, dest, v)
                for s, d in pairs:
                    src = self.truth.ensure(src_key, s)
                    values = {k: src.keyword_value(k, cmd.start, cmd.end) for k in range(self.run.clients)}
                    w = Write(cmd.start, self.index, kind + " from UID %d" % s, values=values, default=None)
                    deleted = src.deleted_since is not None and src.deleted_since < cmd.end
                    self.truth.register(self, dst_key, d, src.xid, src.size, cmd.start, cmd.end, write=w,
                                        deleted=deleted)
                    if move and src.gone_at is None:
                        src.gone_at = cmd.end
            if move and not m.tainted:
                held = m.known_uids()
                for s, _ in pairs:
                    if s in held:
                        self.fail("move-not-expunged", "%s %s moved UID %d out of %s (COPYUID), but sent "
                                  "no * EXPUNGE for it (RFC 6851 §3.3)" % (cmd.tag, kind, s, m.mailbox))
        if copyuid and dest == m.mailbox and v == m.uidvalidity and not m.tainted:
            new = {d for _, d in pairs}
            with self.run.lock:
                new = {d for d in new if not self.truth.ensure((self.user, dest, v), d).removable_before(cmd.end)}
            if new - m.known_uids() and not m.unknown_seqs():
                self.fail("append-no-exists", "%s %s into the selected %s made UIDs %s, but no * EXISTS "
                          "announced them before the tagged OK" % (cmd.tag, kind, dest,
                                                                   seqset(new - m.known_uids())))
            else:
                self.expect(new, "append-no-exists", "after %s %s into the selected %s" % (cmd.tag, kind, dest))
        self.settle()
        return cmd

    def op_noop(self):
        """NOOP: the poll (RFC 3501 §6.1.2). After it, the session must have been told every
        change committed before it began: RULE 3 (flags, check_flags), RULE 4 (every message
        created before it that nobody may have removed is in the model), RULE 5 (no message
        known expunged before it is in the model)."""
        cmd = self.command("NOOP", "NOOP")
        if cmd.status != "OK":
            self.judge_no(cmd)
            return cmd
        self.check_after_poll(cmd)
        self.settle()
        return cmd

    def check_after_poll(self, cmd, kind="unannounced-message"):
        """The checks after a poll (NOOP, the final SELECT, a QRESYNC SELECT): RULES 3, 4, 5."""
        m = self.model
        if m.mailbox is None or m.tainted:
            return
        with self.run.lock:
            self.check_flags(cmd, range(1, len(m.slots) + 1))
            self.check_gone(cmd)
            expected = self.truth.expected_present(m.key(self.user), cmd.start, cmd.end)
        self.expect(expected, kind, "%safter %s %s (started at tick %d)" % (
            "final check: " if self.final else "", cmd.tag, cmd.kind, cmd.start))

    def op_check(self):
        cmd = self.command("CHECK", "CHECK")
        self.judge_no(cmd)
        self.settle()
        return cmd

    def op_idle(self, seconds):
        """IDLE (RFC 2177) for a short while, then DONE; whatever comes is checked as usual."""
        cmd = self.command("IDLE", "IDLE", idle=seconds)
        self.judge_no(cmd)
        self.settle()
        return cmd

    def op_search(self, criteria, uid=False):
        """SEARCH / UID SEARCH. Results name messages the session holds (RULE 1: no sequence
        number above its count). RULE 3: SEARCH KEYWORD $S<k> finds a message iff $S<k> is set
        on it, as its truth has it over the command or as the session was told before the
        command (a server may search the view it last reported and sync after it, as Dovecot
        does); a result that matches neither is a lost or invented flag."""
        m = self.model
        count_before = len(m.slots)
        told = {s.uid: keywords_of(s.flags or ()) for s in m.slots if s.uid is not None}
        told_modseq = {s.uid: s.modseq for s in m.slots if s.uid is not None}
        by_modseq = re.match(r"MODSEQ (\d+)$", criteria, re.I)
        cmd = self.command(("UID SEARCH" if uid else "SEARCH") + (" MODSEQ" if by_modseq else ""),
                           "%sSEARCH %s" % ("UID " if uid else "", criteria), uid=uid)
        if cmd.status != "OK":
            self.judge_no(cmd)
            return cmd
        results = set(cmd.search or [])
        if not uid:
            beyond = sorted(n for n in results if n > len(m.slots) or n < 1)
            if beyond:
                self.fail("search-out-of-range", "%s SEARCH %s returned %s, but the session holds %d "
                          "messages" % (cmd.tag, criteria, seqset(beyond), len(m.slots)))
        if by_modseq and not m.tainted:
            self.check_search_modseq(cmd, int(by_modseq.group(1)), results, told_modseq, count_before)
        kw = re.match(r"KEYWORD \$S(\d+)$", criteria, re.I)
        if kw and not m.tainted:
            k = int(kw.group(1))
            key = m.key(self.user)
            with self.run.lock:
                for i, slot in enumerate(m.slots[:count_before]):
                    t = self.truth.get(key, slot.uid) if slot.uid is not None else None
                    if t is None or t.gone_at is not None or t.removable_before(cmd.end):
                        continue
                    v = t.keyword_value(k, cmd.start, cmd.end)
                    found = (slot.uid if uid else i + 1) in results
                    if v is not None:
                        self.run.checked["SEARCH KEYWORD results (rule 3)"] += 1
                    if v is not None and found != v and found != (k in told.get(slot.uid, ())):
                        self.fail("search-mismatch", "%s %s %s %s UID %d (X-Stress-Id %s, message %d), but "
                                  "%s is %s on it and was so in the session's view (%s)" % (
                                      cmd.tag, cmd.kind, criteria,
                                                          "found" if found else "did not find", slot.uid,
                                                          t.xid, i + 1, keyword(k), "set" if v else "clear",
                                                          t.last_write(k, cmd.start)))
        self.settle()
        return cmd

    def check_search_modseq(self, cmd, since, results, told_modseq, count_before):
        """RULE 14 (RFC 7162 §3.1.5): SEARCH MODSEQ m finds every message whose mod-sequence
        is m or more: at least each the session was told such a MODSEQ for (mod-sequences
        only grow; messages another session may have expunged are not judged); a non-empty
        result ends with (MODSEQ n), n the highest mod-sequence of the messages found, so at
        least every MODSEQ the session was told for one of them."""
        m = self.model
        found = set(results) if cmd.uid else {m.slots[n - 1].uid for n in results if 1 <= n <= count_before}
        if results and cmd.search_modseq is None:
            self.fail("search-modseq-mismatch", "%s %s: results without (MODSEQ n) (RFC 7162 §3.1.5)"
                      % (cmd.tag, cmd.kind))
        key = m.key(self.user)
        with self.run.lock:
            for u, ms in sorted(told_modseq.items()):
                t = self.truth.get(key, u)
                if ms is None or t is None or t.gone_at is not None or t.removable_before(cmd.end):
                    continue
                self.run.checked["SEARCH MODSEQ results (rule 14)"] += 1
                if ms >= since and u not in found:
                    self.fail("search-modseq-mismatch", "%s %s did not find %s UID %d (message %s), told "
                              "MODSEQ %d >= %d" % (cmd.tag, cmd.kind, m.mailbox, u, m.seq_of(u), ms, since))
                elif u in found and cmd.search_modseq is not None and ms > cmd.search_modseq:
                    self.fail("search-modseq-mismatch", "%s %s found %s UID %d, told MODSEQ %d, but says "
                              "(MODSEQ %d) is the highest of the messages found" % (
                                  cmd.tag, cmd.kind, m.mailbox, u, ms, cmd.search_modseq))

    def op_changedsince(self, vanished=False, since=None):
        """UID FETCH 1:* (FLAGS) (CHANGEDSINCE m [VANISHED]), m the session's last
        HIGHESTMODSEQ (or the point it resynchronizes from: Model.safe).

        RULE 15 (RFC 7162 §3.1.4.1, §3.2.6): the answer has every message of mod-sequence
        above m: at least each the session was told such a MODSEQ for, unless another session
        may have expunged it; none with a MODSEQ of m or less; UIDs the session does not hold
        can only be new ones (RULE 1 judges numbers beyond its count). With VANISHED (QRESYNC),
        a * VANISHED (EARLIER) comes first (RULE 9 judges what it names)."""
        m = self.model
        if since is None:
            since = m.safe if (m.safe is not None and self.rng.random() < 0.5) else m.hms
        if since is None or not m.slots:
            return None
        told_modseq = {s.uid: s.modseq for s in m.slots if s.uid is not None}
        kind = "UID FETCH VANISHED" if vanished else "UID FETCH CHANGEDSINCE"
        cmd = self.command(kind, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d%s)" % (since, " VANISHED" if vanished else ""),
                           uid=True, targets="all")
        if cmd.status != "OK":
            self.judge_no(cmd)
            self.settle()
            return cmd
        if m.tainted:
            self.settle()
            return cmd
        key = m.key(self.user)
        with self.run.lock:
            for u, first in sorted(cmd.first.items()):
                ms = modseq_of(first)
                if ms is None:
                    self.fail("changedsince-mismatch", "%s %s: * FETCH for UID %s without MODSEQ (RFC 7162 "
                              "§3.1.4.1: CHANGEDSINCE implies MODSEQ)" % (cmd.tag, cmd.kind, u))
                elif ms <= since:
                    self.fail("changedsince-mismatch", "%s %s: UID %s has MODSEQ %d, not above CHANGEDSINCE %d"
                              % (cmd.tag, cmd.kind, u, ms, since))
            for u, ms in sorted(told_modseq.items()):
                t = self.truth.get(key, u)
                if ms is None or t is None or t.gone_at is not None or t.removable_before(cmd.end):
                    continue
                if u in cmd.expunged or u in cmd.vanished_earlier:
                    continue
                self.run.checked["CHANGEDSINCE results (rule 15)"] += 1
                if ms > since and u not in cmd.first:
                    self.fail("changedsince-mismatch", "%s %s: no FETCH for %s UID %d (message %s), told MODSEQ "
                              "%d > %d" % (cmd.tag, cmd.kind, m.mailbox, u, m.seq_of(u), ms, since))
        self.settle()
        return cmd

    def op_scratch(self):
        """RULE 2 (RFC 3501 §2.3.1.1): a mailbox deleted and created again under the same name
        gets a UIDVALIDITY it never had before. CREATE Scratch-<k>, STATUS (UIDVALIDITY),
        APPEND (APPENDUID must carry the same UIDVALIDITY), DELETE."""
        name = "Scratch-%s" % self.index
        cmd = self.command("CREATE", "CREATE %s" % quote(name))
        if cmd.status == "NO":
            self.command("DELETE", "DELETE %s" % quote(name))
            cmd = self.command("CREATE", "CREATE %s" % quote(name))
        if cmd.status != "OK":
            self.judge_no(cmd)
            return
        st = self.command("STATUS", "STATUS %s (UIDVALIDITY UIDNEXT MESSAGES)" % quote(name))
        v = None
        if st.status == "OK" and st.status_data:
            v = st.status_data[1].get("UIDVALIDITY")
        else:
            self.judge_no(st)
        if isinstance(v, int):
            with self.run.lock:
                earlier = self.truth.scratch[(self.user, name)]
                if v in earlier:
                    self.fail("uidvalidity-reused", "%s was deleted and created again (%d times before) "
                              "and got UIDVALIDITY %d again (earlier: %s)" % (
                                  name, len(earlier), v, " ".join(map(str, earlier))))
                earlier.append(v)
        ap = self.op_append(name)
        if ap is not None and ap.status == "OK" and ap.code == "APPENDUID" and isinstance(v, int):
            av = int(ap.code_args.split()[0])
            if av != v:
                self.fail("protocol", "APPENDUID says UIDVALIDITY %d for %s, STATUS said %d" % (av, name, v))
        dl = self.command("DELETE", "DELETE %s" % quote(name))
        self.judge_no(dl)

    # -- the random workload --------------------------------------------------------------

    def other(self):
        return "Stress" if self.model.mailbox == "INBOX" else "INBOX"

    def pick(self, lo=1, hi=4):
        """A few random messages the session knows the UIDs of (sometimes a run of them)."""
        known = [i + 1 for i, s in enumerate(self.model.slots) if s.uid is not None]
        if not known:
            return []
        n = min(len(known), self.rng.randint(lo, hi))
        if self.rng.random() < 0.3:
            start = self.rng.randrange(len(known) - n + 1)
            return known[start:start + n]
        return sorted(self.rng.sample(known, n))

    def random_flags(self):
        """Flags for +FLAGS/-FLAGS: the session's own keyword and/or system flags."""
        flags = []
        if self.rng.random() < 0.7:
            flags.append(self.own)
        if self.rng.random() < 0.5 or not flags:
            flags.append(self.rng.choice(SYSTEM_FLAGS))
        return flags

    def step(self):
        """One random operation on the selected mailbox (SELECT first)."""
        rng = self.rng
        m = self.model
        if m.mailbox is None or m.tainted:
            self.op_select(rng.choice(STRESS_FOLDERS))
            return
        if m.unknown_seqs():
            self.op_learn()
            return
        n = len(m.slots)
        if n > MAX_MESSAGES:
            self.trim()
            return
        weights = {
            "select": 3, "fetch": 12, "uid fetch": 9, "store": 9, "uid store": 7, "expunge": 2,
            "uid expunge": 2, "append": 14 if n < 10 else 7, "copy": 3, "uid copy": 3, "move": 3,
            "uid move": 3, "idle": 2, "noop": 12, "search": 3, "uid search": 3, "check": 1,
            "scratch": 0.3,
        }
        if self.condstore:
            weights.update({"fetch modseq": 4, "changedsince": 4, "unchangedsince": 5, "search modseq": 3})
        if self.qresync:
            weights["qresync select"] = 3
        op = rng.choices(list(weights), list(weights.values()))[0]
        if op == "select":
            self.op_select(rng.choice(STRESS_FOLDERS))
        elif op in ("fetch", "uid fetch"):
            items = [i for i, p in (("FLAGS", 0.6), ("UID", 0.5), ("BODY.PEEK[]", 0.3),
                                    ("BODY.PEEK[HEADER.FIELDS (X-Stress-Id)]", 0.3),
                                    ("RFC822.SIZE", 0.3)) if rng.random() < p] or ["FLAGS"]
            self.op_fetch(self.pick(), items, uid=(op == "uid fetch"))
        elif op in ("store", "uid store"):
            r = rng.random()
            if r < 0.45:
                mode, flags = "+", self.random_flags()
            elif r < 0.85:
                mode, flags = "-", self.random_flags()
            else:
                mode = ""
                flags = [f for f in SYSTEM_FLAGS if rng.random() < 0.3] + ([self.own] if rng.random() < 0.5 else [])
            if mode == "+" and rng.random() < 0.08:
                flags.append("\\Deleted")
            self.op_store(self.pick(), mode, flags, silent=rng.random() < 0.3, uid=(op == "uid store"))
        elif op == "expunge":
            self.op_expunge()
        elif op == "uid expunge":
            deleted = [s.uid for s in m.slots if s.uid and s.flags and "\\DELETED" in s.flags]
            # Some \Deleted messages; or, when none is, one that is not (nothing to expunge).
            uids = rng.sample(deleted, rng.randint(1, len(deleted))) if deleted else \
                [s.uid for s in m.slots if s.uid][:1]
            if uids:
                self.op_expunge(uids=uids)
        elif op == "append":
            flags = []
            if rng.random() < 0.3:
                flags.append(self.own)
            if rng.random() < 0.3:
                flags.append("\\Seen")
            self.op_append(m.mailbox if rng.random() < 0.5 else self.other(), flags)
        elif op in ("copy", "uid copy"):
            dest = m.mailbox if rng.random() < 0.15 else self.other()
            self.op_copy(self.pick(1, 3), dest, uid=(op == "uid copy"))
        elif op in ("move", "uid move"):
            self.op_copy(self.pick(1, 3), self.other(), uid=(op == "uid move"), move=True)
        elif op == "idle":
            self.op_idle(rng.uniform(0.2, 1.0))
        elif op == "noop":
            self.op_noop()
        elif op in ("search", "uid search"):
            criteria = rng.choice(["ALL", "UNSEEN", "KEYWORD " + self.own,
                                   "KEYWORD " + keyword(rng.randrange(self.run.clients))])
            self.op_search(criteria, uid=(op == "uid search"))
        elif op == "check":
            self.op_check()
        elif op == "scratch":
            self.op_scratch()
        elif op == "fetch modseq":
            self.op_fetch(self.pick(), ["FLAGS", "MODSEQ"], kind="FETCH MODSEQ")
        elif op == "changedsince":
            self.op_changedsince(vanished=self.qresync and rng.random() < 0.5)
        elif op == "unchangedsince":
            known = [i + 1 for i, s in enumerate(m.slots) if s.uid is not None and s.modseq is not None]
            if known:
                seq = rng.choice(known)
                told = m.slots[seq - 1].modseq
                stale = told > 0 and rng.random() < 0.3
                self.op_store([seq], rng.choice("+-"), [self.own], silent=rng.random() < 0.3,
                              uid=rng.random() < 0.5, unchangedsince=told - 1 if stale else told, stale=stale)
        elif op == "search modseq":
            told = [s.modseq for s in m.slots if s.modseq is not None] + [m.hms or 0]
            self.op_search("MODSEQ %d" % rng.choice(told), uid=rng.random() < 0.3)
        elif op == "qresync select":
            self.op_select(m.mailbox if rng.random() < 0.7 else self.other(), qresync=True)

    def trim(self):
        """Keeps the mailbox bounded: \\Deleted on a quarter of it, then EXPUNGE or UID EXPUNGE."""
        known = [i + 1 for i, s in enumerate(self.model.slots) if s.uid is not None]
        doomed = sorted(self.rng.sample(known, max(1, len(known) // 4)))
        uid = self.rng.random() < 0.5
        self.op_store(doomed, "+", ["\\Deleted"], silent=self.rng.random() < 0.5, uid=uid)
        if self.model.mailbox is None:
            return
        if self.rng.random() < 0.5:
            self.op_expunge()
        else:
            uids = [s.uid for s in self.model.slots if s.uid and s.flags and "\\DELETED" in s.flags]
            if uids:
                self.op_expunge(uids=uids)


# ---------------------------------------------------------------------------------------------
# Driving the sessions


class Users:
    """Which user each session works as: sessions come in groups of 2-4 on one user, and
    every so often a session moves to another user (one with 1-3 sessions on it, or an unused
    one), so a long run visits many users while most mailboxes are shared."""

    def __init__(self, users, clients, rng):
        self.users = users
        self.rng = rng
        self.lock = threading.Lock()
        self.active = collections.Counter()
        self.used = set()
        order = users[:]
        rng.shuffle(order)
        self.initial = []
        i = 0
        while len(self.initial) < clients:
            self.initial += [order[i % len(order)]] * rng.choice([2, 3, 4])
            i += 1
        self.initial = self.initial[:clients]

    def take(self, user):
        with self.lock:
            self.active[user] += 1
            self.used.add(user)

    def release(self, user):
        with self.lock:
            self.active[user] -= 1

    def switch(self, current, rng):
        with self.lock:
            shared = [u for u in self.users if u != current and 1 <= self.active[u] <= 3]
            idle = [u for u in self.users if u != current and self.active[u] == 0]
            if shared and (rng.random() < 0.6 or not idle):
                return rng.choice(shared)
            if idle:
                return rng.choice(idle)
            return current


def session_thread(run, session, users, passwords, first_user, deadline):
    """Runs one session until the deadline: connect, random steps, now and then LOGOUT and
    log in again as another user; a lost connection (already an error) reconnects."""
    rng = session.rng
    user = first_user
    users.take(user)
    switch_at = None
    while time.monotonic() < deadline:
        try:
            if session.conn is None:
                session.connect(user, passwords[user])
                every = session.opts.switch_every
                switch_at = time.monotonic() + rng.uniform(0.5 * every, 1.5 * every) if every > 0 else None
            if switch_at is not None and time.monotonic() > switch_at:
                session.logout()
                new = users.switch(user, rng)
                users.release(user)
                users.take(new)
                user = new
                continue
            session.step()
        except SessionLost:
            session.drop()
            time.sleep(0.5)
        except Exception as e:  # a bug in the tester, or a surprise it did not foresee
            session.fail("internal", "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=6)))
            session.drop()
            time.sleep(0.5)
    if session.conn is not None:
        session.logout()
    users.release(user)


def final_check(run, opts, user, password):
    """With every session stopped, one fresh session per user checks each stressed folder:
    every message's keywords against the truth (RULE 3), every message that was created and
    never \\Deleted or moved is there (RULE 4), none known expunged is (RULE 5), and the
    X-Stress-Id of every UID (RULE 2)."""
    s = Session(run, None, opts=opts, rng=random.Random(0))
    s.final = True
    try:
        s.connect(user, password)
        for mailbox in STRESS_FOLDERS:
            sel = s.op_select(mailbox)
            if s.model.mailbox is None:
                continue
            if s.model.slots:
                s.command("FETCH", "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (X-Stress-Id)])")
            probe = Cmd("final", sel.tag)
            probe.start, probe.end = sel.start, run.tick()
            s.check_after_poll(probe)
            s.resolve_expectations()
        s.logout()
    except SessionLost:
        s.drop()


def load_users(o):
    if o.users:
        out = {}
        for item in o.users.split(","):
            name, _, pw = item.partition(":")
            out[name] = pw
        return out
    return {o.user_pattern.format(i=i): o.password for i in range(1, o.users_count + 1)}


def stress(o):
    """The whole run: sessions, final check, report. Returns the report (a dict)."""
    passwords = load_users(o)
    users_list = list(passwords)
    o.ssl_context = ssl.create_default_context(cafile=o.cafile) if o.cafile else ssl.create_default_context()
    o.run_id = "%d-%x" % (o.seed, int(time.time() * 1000) & 0xFFFFFFFF)
    o.prepared = set()
    o.user_locks = {}
    run = Run(o.clients, trace=open(o.trace, "w") if o.trace else None)
    rng = random.Random(o.seed)
    users = Users(users_list, o.clients, rng)
    deadline = time.monotonic() + o.duration
    sessions = [Session(run, k, opts=o, rng=random.Random(o.seed * 1000 + k)) for k in range(o.clients)]
    threads = [threading.Thread(target=session_thread, daemon=True,
                                args=(run, s, users, passwords, users.initial[k], deadline))
               for k, s in enumerate(sessions)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(o.duration + 120)
    elapsed = time.monotonic() - t0
    work = sum(run.commands.values())
    busy = dict(run.commands)
    for user in sorted(users.used):
        final_check(run, o, user, passwords[user])
    return report(run, o, elapsed, work, busy, users)


def report(run, o, elapsed, work, busy, users):
    missing = [k for k in required_kinds(o.extensions, o.clients) if busy.get(k, 0) == 0]
    errors = sum(run.errors.values())
    ok = errors == 0 and work >= o.min_commands and not missing
    return {
        "ok": ok,
        "server": "%s:%d" % (o.host, o.port),
        "clients": o.clients,
        "extensions": o.extensions,
        "users": len(users.users),
        "users_used": len(users.used),
        "duration": round(elapsed, 2),
        "seed": o.seed,
        "commands": work,
        "commands_per_second": round(work / elapsed, 1) if elapsed else 0,
        "commands_by_kind": dict(sorted(busy.items())),
        "errors": errors,
        "errors_by_kind": dict(sorted(run.errors.items())),
        "tolerated_no": sum(run.tolerated.values()),
        "tolerated_by_kind": dict(sorted(run.tolerated.items())),
        "checked": dict(sorted(run.checked.items())),
        "missing_kinds": missing,
        "error_samples": run.samples,
    }


def print_report(r, out=sys.stdout):
    p = lambda *a: print(*a, file=out)
    p("imap_stress: %s, %d clients over %d users (%d used), %.1f s, seed %d%s" % (
        r["server"], r["clients"], r["users"], r["users_used"], r["duration"], r["seed"],
        ", extensions %s" % r["extensions"] if r["extensions"] != "none" else ""))
    p("commands: %d (%.1f/s)" % (r["commands"], r["commands_per_second"]))
    p("  " + ", ".join("%s %d" % kv for kv in r["commands_by_kind"].items()))
    p("tolerated NO (messages expunged meanwhile): %d %s" % (r["tolerated_no"], r["tolerated_by_kind"] or ""))
    p("checked: " + ", ".join("%s %d" % kv for kv in r["checked"].items()))
    p("errors: %d" % r["errors"])
    for kind, n in sorted(r["errors_by_kind"].items(), key=lambda kv: -kv[1]):
        p("  %-24s %d" % (kind, n))
    if r["missing_kinds"]:
        p("command kinds never exercised: %s" % ", ".join(r["missing_kinds"]))
    for i, e in enumerate(r["error_samples"], 1):
        p("\n--- error %d: %s (session %s, %s, at %.1f s)" % (i, e["kind"], e["session"], e["user"], e["at"]))
        p(e["message"])
        for line in e["transcript"][-16:]:
            p("    " + line)
    p("\nresult: %s" % ("OK" if r["ok"] else "FAILED"))


# ---------------------------------------------------------------------------------------------
# Self-test: canned responses through the same sessions and checks, no server


class FakeConn:
    """A scripted server: each command sent must contain the next script entry's needle; its
    responses ("TAG" replaced by the command's tag) are read back in order. A callable entry
    runs when it is reached (another session's command, to interleave); "EOF" and "TIMEOUT"
    break the connection."""

    def __init__(self):
        self.script = collections.deque()
        self.queue = collections.deque()
        self.tag = None

    def on(self, needle, *responses):
        self.script.append((needle, responses))
        return self

    def send(self, data):
        text = data.decode("latin-1")
        if not text.startswith("DONE"):
            self.tag = text.split(" ", 1)[0]
        if not self.script:
            raise AssertionError("unscripted command %r" % text)
        needle, responses = self.script.popleft()
        if needle not in text:
            raise AssertionError("expected a command with %r, got %r" % (needle, text))
        for r in responses:
            self.queue.append(r if callable(r) or r in ("EOF", "TIMEOUT") else
                              r.replace("TAG", self.tag).encode("latin-1") + b"\r\n")

    def read_response(self, timeout):
        while True:
            if not self.queue:
                raise TimeoutError
            r = self.queue.popleft()
            if callable(r):
                r()
                continue
            if r == "EOF":
                raise Closed("connection closed by the (scripted) server")
            if r == "TIMEOUT":
                raise TimeoutError
            return r

    def close(self):
        pass


def lit(data):
    """A literal for a scripted response."""
    if isinstance(data, str):
        data = data.encode()
    return "{%d}\r\n%s" % (len(data), data.decode("latin-1"))


def message_with(xid):
    return "From: a@b\r\nX-Stress-Id: %s\r\n\r\nbody\r\n" % xid


class World:
    """A run with scripted sessions on user u@t (keywords $S0..$S<clients-1>)."""

    FLAGS = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $S0 $S1 $S2)"

    def __init__(self, clients=3):
        self.run = Run(clients)
        self.opts = argparse.Namespace(run_id="self", login_timeout=30, prepared=set(), user_locks={})
        self.sessions = []

    def session(self, k, ext="none"):
        """A scripted session; ext "condstore" or "qresync": as if ENABLEd after login."""
        s = Session(self.run, k, conn=FakeConn(), opts=self.opts, rng=random.Random(k))
        s.user = "u@t"
        s.caps = {"LITERAL+", "UIDPLUS", "MOVE", "IDLE", "CONDSTORE", "QRESYNC"}
        s.extension = ext
        s.condstore = ext in ("condstore", "qresync")
        s.qresync = ext == "qresync"
        self.sessions.append(s)
        return s

    def append(self, s, mailbox, uid, xid=None, flags=(), exists=None, uidvalidity=7):
        """s APPENDs a message that gets uid (X-Stress-Id xid, default m<uid>)."""
        xid = xid or "m%d" % uid
        s.new_message = lambda: (xid, message_with(xid).encode())
        s.conn.on("APPEND", *(([exists] if exists else []) + ["TAG OK [APPENDUID %d %d] done" % (uidvalidity, uid)]))
        if exists and mailbox == s.model.mailbox:
            s.conn.on("FETCH", "* %s FETCH (UID %d FLAGS (%s)%s)" % (
                exists.split()[1], uid, " ".join(flags), " MODSEQ (%d)" % (uid + 1) if s.condstore else ""), "TAG OK")
        cmd = s.op_append(mailbox, list(flags))
        del s.new_message
        return cmd

    def select(self, s, mailbox, uids, flags=None, uidvalidity=7, announce=FLAGS, modseqs=None, hms=None):
        """s SELECTs mailbox holding uids (flags: uid -> "flag list"), then learns them. A
        CONDSTORE session is told HIGHESTMODSEQ (hms, default the highest of modseqs) and the
        MODSEQs (modseqs: uid -> modseq, default uid + 1)."""
        flags = flags or {}
        modseqs = modseqs or {u: u + 1 for u in uids}
        extra = []
        if s.condstore:
            extra = ["* OK [HIGHESTMODSEQ %d] h" % (hms if hms is not None else max(modseqs.values(), default=1))]
        s.conn.on("SELECT", announce, "* %d EXISTS" % len(uids), "* OK [UIDVALIDITY %d] ok" % uidvalidity,
                  *extra, "TAG OK [READ-WRITE] done")
        if uids:
            s.conn.on("FETCH", *["* %d FETCH (UID %d FLAGS (%s)%s)" % (
                i + 1, u, flags.get(u, ""), " MODSEQ (%d)" % modseqs[u] if s.condstore else "")
                for i, u in enumerate(uids)], "TAG OK")
        s.op_select(mailbox)

    def errors(self):
        return dict(self.run.errors)


def selftest_cases():
    """(name, expected error kinds (empty: none), function(world)) for every rule."""
    cases = []

    def case(name, expect=(), tolerated=0):
        def deco(fn):
            cases.append((name, set(expect), tolerated, fn))
            return fn
        return deco

    def two(w, uids=(1, 2, 3), flags=None, ext="none"):
        """Session 0 appends uids to INBOX (with flags: uid -> "flag list"); sessions 0 and 1
        (with ext: as if ENABLE CONDSTORE or QRESYNC; then MODSEQ of UID u is u + 1, and
        HIGHESTMODSEQ 4) select it."""
        a, b = w.session(0, ext), w.session(1, ext)
        for u in uids:
            w.append(a, "INBOX", u, flags=(flags or {}).get(u, "").split())
        w.select(a, "INBOX", list(uids), flags)
        w.select(b, "INBOX", list(uids), flags)
        return a, b

    # -- quiet: a correct server ------------------------------------------------------------
    @case("correct server: stores, polls, expunges, appends, copies, moves, idle, search", tolerated=1)
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        b.op_noop()
        a.conn.on("STORE 3 +FLAGS.SILENT (\\Deleted)", "TAG OK")
        a.op_store([3], "+", ["\\Deleted"], silent=True)
        a.conn.on("EXPUNGE", "* 3 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("FETCH 3 (BODY.PEEK[])", "* 3 FETCH (BODY[] %s)" % lit(message_with("m3")), "TAG OK")
        b.op_fetch([3], ["BODY.PEEK[]"])  # expunged elsewhere, not told yet: still fetchable
        b.conn.on("NOOP", "* 3 EXPUNGE", "TAG OK")
        b.op_noop()
        w.append(b, "INBOX", 4, exists="* 3 EXISTS")
        a.conn.on("UID COPY 1 \"Stress\"", "TAG OK [COPYUID 9 1 1] done")
        a.op_copy([1], "Stress", uid=True)
        a.conn.on("MOVE 2 \"Stress\"", "* OK [COPYUID 9 2 2] moved", "* 2 EXPUNGE", "TAG OK done")
        a.op_copy([2], "Stress", move=True)
        b.conn.on("IDLE", "+ idling", "* 2 EXPUNGE")
        b.conn.on("DONE", "TAG OK idle done")
        b.op_idle(0.01)
        b.conn.on("SEARCH KEYWORD $S0", "* SEARCH 1", "TAG OK")
        b.op_search("KEYWORD $S0")
        b.conn.on("COPY 1", "TAG NO [EXPUNGEISSUED] Some of the requested messages no longer exist")
        b.op_copy([1], "Stress")
        c = w.session(2)
        w.select(c, "Stress", [1, 2], {1: "$S0"}, uidvalidity=9)
        c.conn.on("NOOP", "TAG OK")
        c.op_noop()

    @case("correct server: a keyword write racing a FETCH is not judged")
    def _(w):
        a, b = two(w)

        def race():
            a.conn.on("STORE 2 +FLAGS ($S0)", "* 2 FETCH (FLAGS ($S0))", "TAG OK")
            a.op_store([2], "+", ["$S0"])

        b.conn.on("FETCH 2 (FLAGS)", race, "* 2 FETCH (FLAGS ())", "TAG OK")
        b.op_fetch([2], ["FLAGS"])

    @case("correct server: UID FETCH data of one message before and after an EXPUNGE renumbers it")
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS (\\Deleted)", "* 1 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([1], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 1 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("UID FETCH 3 (BODY.PEEK[])", "* 3 FETCH (UID 3 BODY[] %s)" % lit(message_with("m3")),
                  "* 1 EXPUNGE", "* 2 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_fetch([3], ["BODY.PEEK[]"], uid=True)

    @case("correct server: UID FETCH may report the message expunged instead")
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS (\\Deleted)", "* 1 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([1], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 1 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("UID FETCH 1 (BODY.PEEK[])", "* 1 EXPUNGE", "TAG OK")
        b.op_fetch([1], ["BODY.PEEK[]"], uid=True)

    @case("correct server: another session moves a new message before its APPEND's tagged OK")
    def _(w):
        a, b = two(w)

        def meanwhile():
            b.conn.on("NOOP", "* 4 EXISTS", "TAG OK")
            b.conn.on("FETCH 4 (UID FLAGS)", "* 4 FETCH (UID 4 FLAGS ($S0))", "TAG OK")
            b.op_noop()
            b.conn.on("STORE 4 +FLAGS ($S1)", "* 4 FETCH (FLAGS ($S0 $S1))", "TAG OK")
            b.op_store([4], "+", ["$S1"])
            b.conn.on("UID MOVE 4 \"Stress\"", "* OK [COPYUID 9 4 1] moved", "* 4 EXPUNGE", "TAG OK")
            b.op_copy([4], "Stress", uid=True, move=True)

        a.new_message = lambda: ("m4", message_with("m4").encode())
        a.conn.on("APPEND", meanwhile, "* 4 EXISTS", "* 4 EXPUNGE", "TAG OK [APPENDUID 7 4] done")
        a.op_append("INBOX", ["$S0"])
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()
        c = w.session(2)
        w.select(c, "Stress", [1], {1: "$S0 $S1"}, uidvalidity=9)

    @case("correct server: NIL FETCH responses for a message expunged elsewhere (RFC 2180 §4.1.3)",
          tolerated=2)
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("FETCH 2 (BODY.PEEK[] RFC822.SIZE)", "* 2 FETCH (RFC822.SIZE 0 BODY[] NIL)", "TAG OK")
        b.op_fetch([2], ["BODY.PEEK[]", "RFC822.SIZE"])

    @case("rule 6: BODY[] NIL for a message nobody expunged", {"body-unavailable"})
    def _(w):
        a, b = two(w)
        b.conn.on("FETCH 2 (BODY.PEEK[])", "* 2 FETCH (BODY[] NIL)", "TAG OK")
        b.op_fetch([2], ["BODY.PEEK[]"])

    # -- rule 1 -----------------------------------------------------------------------------
    @case("rule 1: EXPUNGE beyond the count", {"expunge-out-of-range"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "* 4 EXPUNGE", "TAG OK")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_noop()

    @case("rule 1: EXPUNGE 0", {"expunge-out-of-range"})
    def _(w):
        a, b = two(w)
        b.conn.on("CHECK", "* 0 EXPUNGE", "TAG OK")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_check()

    @case("rule 1: EXISTS shrinks", {"exists-shrank"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "* 2 EXISTS", "TAG OK")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_noop()

    @case("rule 1: FETCH beyond the count", {"fetch-out-of-range"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "* 4 FETCH (FLAGS (\\Seen))", "TAG OK")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_noop()

    @case("rule 1: FETCH with another UID at that sequence number", {"fetch-uid-mismatch"})
    def _(w):
        a, b = two(w)
        b.conn.on("FETCH 2 (UID)", "* 2 FETCH (UID 3)", "TAG OK")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_fetch([2], ["UID"])

    @case("rule 1: UIDs not ascending with sequence numbers", {"uid-order"})
    def _(w):
        a = w.session(0)
        a.conn.on("SELECT", World.FLAGS, "* 2 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        a.conn.on("FETCH 1:2 (UID FLAGS)", "* 1 FETCH (UID 5 FLAGS ())", "* 2 FETCH (UID 4 FLAGS ())", "TAG OK")
        a.op_select("INBOX")

    for verb, script, call in (
            ("FETCH", ("FETCH 1 (FLAGS)", "* 3 EXPUNGE", "* 1 FETCH (FLAGS ())", "TAG OK"),
             lambda s: s.op_fetch([1], ["FLAGS"])),
            ("STORE", ("STORE 1 +FLAGS ($S1)", "* 3 EXPUNGE", "* 1 FETCH (FLAGS ($S1))", "TAG OK"),
             lambda s: s.op_store([1], "+", ["$S1"])),
            ("SEARCH", ("SEARCH ALL", "* 3 EXPUNGE", "* SEARCH 1 2", "TAG OK"), lambda s: s.op_search("ALL"))):
        def make(script=script, call=call):
            def fn(w):
                a, b = two(w)
                a.conn.on("STORE 3 +FLAGS (\\Deleted)", "* 3 FETCH (FLAGS (\\Deleted))", "TAG OK")
                a.op_store([3], "+", ["\\Deleted"])
                a.conn.on("EXPUNGE", "* 3 EXPUNGE", "TAG OK")
                a.op_expunge()
                b.conn.on(*script)
                call(b)
            return fn
        case("rule 1: EXPUNGE response during %s" % verb, {"expunge-forbidden"})(make())

    @case("rule 1: EXPUNGE response during UID FETCH is allowed")
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 3 +FLAGS (\\Deleted)", "* 3 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([3], "+", ["\\Deleted"])
        b.conn.on("EXPUNGE", "* 3 EXPUNGE", "TAG OK")
        b.op_expunge()
        a.conn.on("UID FETCH 1 (FLAGS)", "* 3 EXPUNGE", "* 1 FETCH (UID 1 FLAGS ())", "TAG OK")
        a.op_fetch([1], ["FLAGS"], uid=True)

    # -- rule 2 -----------------------------------------------------------------------------
    @case("rule 2: APPENDUID reuses a UID that named another message", {"uid-reuse"})
    def _(w):
        a = w.session(0)
        w.append(a, "Stress", 1, "first")
        w.append(a, "Stress", 1, "second")

    @case("rule 2: a new UID below an earlier one (UID reuse after expunge)", {"uid-reuse"})
    def _(w):
        a = w.session(0)
        w.append(a, "Stress", 5, "first")
        w.append(a, "Stress", 4, "second")

    @case("rule 2: FETCH shows another message under a known UID", {"wrong-message"})
    def _(w):
        a, b = two(w)
        b.conn.on("UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (X-Stress-Id)])",
                  "* 2 FETCH (UID 2 BODY[HEADER.FIELDS (X-STRESS-ID)] %s)" % lit("X-Stress-Id: m3\r\n\r\n"), "TAG OK")
        b.op_fetch([2], ["BODY.PEEK[HEADER.FIELDS (X-Stress-Id)]"], uid=True)

    @case("rule 2: UIDVALIDITY of INBOX changes", {"uidvalidity-changed"})
    def _(w):
        a, b = two(w)
        w.select(b, "INBOX", [1, 2, 3], uidvalidity=8)

    # The reused UIDVALIDITY also makes UID 1 of Scratch-0 name a second message.
    @case("rule 2: a re-created scratch folder gets an old UIDVALIDITY", {"uidvalidity-reused", "uid-reuse"})
    def _(w):
        a = w.session(0)
        for _ in range(2):
            a.conn.on("CREATE", "TAG OK")
            a.conn.on("STATUS", "* STATUS Scratch-0 (UIDVALIDITY 42 UIDNEXT 1 MESSAGES 0)", "TAG OK")
            a.conn.on("APPEND", "TAG OK [APPENDUID 42 1] done")
            a.conn.on("DELETE", "TAG OK")
            a.op_scratch()

    @case("rule 2: a re-created scratch folder with a new UIDVALIDITY is fine")
    def _(w):
        a = w.session(0)
        for v in (42, 43):
            a.conn.on("CREATE", "TAG OK")
            a.conn.on("STATUS", "* STATUS Scratch-0 (UIDVALIDITY %d UIDNEXT 1 MESSAGES 0)" % v, "TAG OK")
            a.conn.on("APPEND", "TAG OK [APPENDUID %d 1] done" % v)
            a.conn.on("DELETE", "TAG OK")
            a.op_scratch()

    # -- rule 3 -----------------------------------------------------------------------------
    @case("rule 3: NOOP after another session's STORE does not tell the keyword", {"lost-flag-update"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()

    @case("rule 3: a solicited FETCH FLAGS misses a committed keyword", {"lost-flag-update"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS.SILENT ($S0)", "TAG OK")
        a.op_store([1], "+", ["$S0"], silent=True)
        b.conn.on("FETCH 1 (FLAGS)", "* 1 FETCH (FLAGS (\\Seen))", "TAG OK")
        b.op_fetch([1], ["FLAGS"])

    @case("rule 3: a STORE from a stale snapshot drops another session's keyword", {"lost-flag-update"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("STORE 1 +FLAGS (\\Seen)", "* 1 FETCH (FLAGS (\\Seen))", "TAG OK")
        b.op_store([1], "+", ["\\Seen"])

    @case("rule 3: a removed keyword still shows after NOOP", {"lost-flag-update"})
    def _(w):
        a, b = two(w, flags={1: "$S0"})
        a.conn.on("STORE 1 -FLAGS ($S0)", "* 1 FETCH (FLAGS ())", "TAG OK")
        a.op_store([1], "-", ["$S0"])
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()

    @case("rule 3: a replace STORE clears other keywords; the copy inherits keywords", {"lost-flag-update"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        a.conn.on("COPY 1 \"Stress\"", "TAG OK [COPYUID 9 1 1] done")
        a.op_copy([1], "Stress")
        b.conn.on("STORE 1 FLAGS ($S1)", "* 1 FETCH (FLAGS ($S1))", "TAG OK")
        b.op_store([1], "", ["$S1"])  # clears $S0 on INBOX UID 1: the FETCH agrees
        c = w.session(2)
        w.select(c, "Stress", [1], {1: ""}, uidvalidity=9)  # the copy lost $S0
        c.conn.on("NOOP", "TAG OK")
        c.op_noop()

    @case("rule 3: SEARCH KEYWORD misses a message with the keyword", {"search-mismatch"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS ($S0)", "* 2 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([2], "+", ["$S0"])
        b.conn.on("NOOP", "* 2 FETCH (FLAGS ($S0))", "TAG OK")
        b.op_noop()
        b.conn.on("UID SEARCH KEYWORD $S0", "* SEARCH", "TAG OK")
        b.op_search("KEYWORD $S0", uid=True)

    @case("correct server: SEARCH of the view last told, synced after (Dovecot)")
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS ($S0)", "* 2 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([2], "+", ["$S0"])
        b.conn.on("SEARCH KEYWORD $S0", "* SEARCH", "* 2 FETCH (FLAGS ($S0))", "TAG OK")
        b.op_search("KEYWORD $S0")

    @case("rule 3: the final check finds a lost keyword", {"final-flags"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 1:3 +FLAGS.SILENT ($S0)", "TAG OK")
        a.op_store([1, 2, 3], "+", ["$S0"], silent=True)
        f = w.session(None)
        f.final = True
        f.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "TAG OK")
        f.conn.on("FETCH 1:3 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ($S0))", "* 2 FETCH (UID 2 FLAGS ())",
                  "* 3 FETCH (UID 3 FLAGS ($S0))", "TAG OK")
        sel = f.op_select("INBOX")
        probe = Cmd("final", sel.tag)
        probe.start, probe.end = sel.start, w.run.tick()
        f.check_after_poll(probe)

    # -- rule 4 -----------------------------------------------------------------------------
    @case("rule 4: NOOP after another session's APPEND sends no EXISTS", {"unannounced-message"})
    def _(w):
        a, b = two(w)
        w.append(w.session(2), "INBOX", 4)
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()

    @case("rule 4: NOOP announces the other session's APPEND (learned by FETCH)")
    def _(w):
        a, b = two(w)
        w.append(w.session(2), "INBOX", 4)
        b.conn.on("NOOP", "* 4 EXISTS", "TAG OK")
        b.conn.on("FETCH 4 (UID FLAGS)", "* 4 FETCH (UID 4 FLAGS ())", "TAG OK")
        b.op_noop()

    @case("rule 4: an EXISTS whose new message is another one", {"unannounced-message"})
    def _(w):
        a, b = two(w)
        c = w.session(2)
        w.append(c, "INBOX", 4)
        w.append(c, "INBOX", 5)
        b.conn.on("NOOP", "* 4 EXISTS", "TAG OK")
        b.conn.on("FETCH 4 (UID FLAGS)", "* 4 FETCH (UID 5 FLAGS ())", "TAG OK")
        b.op_noop()

    @case("rule 4: own APPEND into the selected mailbox without EXISTS", {"append-no-exists"})
    def _(w):
        a, b = two(w)
        w.append(a, "INBOX", 4)

    @case("rule 4: own COPY into the selected mailbox without EXISTS", {"append-no-exists"})
    def _(w):
        a, b = two(w)
        a.conn.on("UID COPY 1 \"INBOX\"", "TAG OK [COPYUID 7 1 4] done")
        a.op_copy([1], "INBOX", uid=True)

    # -- rule 5 -----------------------------------------------------------------------------
    @case("rule 5: NOOP after another session's EXPUNGE does not report it", {"unannounced-expunge"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("NOOP", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        b.op_noop()

    @case("rule 5: NOOP after another session's MOVE does not report it", {"unannounced-expunge"})
    def _(w):
        a, b = two(w)
        a.conn.on("UID MOVE 2 \"Stress\"", "* OK [COPYUID 9 2 1] moved", "* 2 EXPUNGE", "TAG OK")
        a.op_copy([2], "Stress", uid=True, move=True)
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()

    @case("rule 5: own EXPUNGE does not report a \\Deleted message another session expunged",
          {"expunge-not-reported"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])
        b.conn.on("NOOP", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        b.op_noop()
        a.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("EXPUNGE", "TAG OK")
        b.op_expunge()

    @case("rule 5: EXPUNGE of a message nobody \\Deleted or moved", {"spurious-expunge"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "* 1 EXPUNGE", "TAG OK")
        b.op_noop()

    @case("rule 2: COPYUID with empty UID sets", {"malformed-copyuid"})
    def _(w):
        a, b = two(w)
        b.conn.on("COPY 1 \"Stress\"", "TAG OK [COPYUID 9  ] COPY completed")
        b.op_copy([1], "Stress")

    @case("rule 5: MOVE without EXPUNGE of the moved message", {"move-not-expunged"})
    def _(w):
        a, b = two(w)
        a.conn.on("UID MOVE 2 \"Stress\"", "TAG OK [COPYUID 9 2 1] moved")
        a.op_copy([2], "Stress", uid=True, move=True)

    # -- rule 6 -----------------------------------------------------------------------------
    def expunged_elsewhere(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        a.op_expunge()
        return a, b

    @case("rule 6: BODY.PEEK[] of a message expunged elsewhere, not told: NO", {"body-unavailable"})
    def _(w):
        a, b = expunged_elsewhere(w)
        b.conn.on("FETCH 2 (BODY.PEEK[])", "TAG NO [EXPUNGEISSUED] message expunged")
        b.op_fetch([2], ["BODY.PEEK[]"])

    @case("rule 6: BODY.PEEK[] of a message expunged elsewhere, not told: no response", {"body-unavailable"})
    def _(w):
        a, b = expunged_elsewhere(w)
        b.conn.on("FETCH 2 (BODY.PEEK[])", "TAG OK")
        b.op_fetch([2], ["BODY.PEEK[]"])

    @case("rule 6: BODY.PEEK[] returns another message's body", {"wrong-message"})
    def _(w):
        a, b = two(w)
        b.conn.on("FETCH 2 (UID BODY.PEEK[])", "* 2 FETCH (UID 2 BODY[] %s)" % lit(message_with("m1")), "TAG OK")
        b.op_fetch([2], ["UID", "BODY.PEEK[]"])

    @case("rule 6: RFC822.SIZE differs from the APPENDed size", {"size-mismatch"})
    def _(w):
        a, b = two(w)
        b.conn.on("FETCH 2 (RFC822.SIZE)", "* 2 FETCH (RFC822.SIZE 5)", "TAG OK")
        b.op_fetch([2], ["RFC822.SIZE"])

    # -- rule 7 -----------------------------------------------------------------------------
    @case("rule 7: a keyword in FETCH that * FLAGS never announced", {"keyword-not-announced"})
    def _(w):
        a, b = two(w)
        w.select(b, "INBOX", [1, 2, 3], announce="* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        b.op_noop()

    @case("rule 7: a keyword announced by a later * FLAGS is fine")
    def _(w):
        a, b = two(w)
        w.select(b, "INBOX", [1, 2, 3], announce="* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $S0)",
                  "* 1 FETCH (FLAGS ($S0))", "TAG OK")
        b.op_noop()

    # -- rule 8 -----------------------------------------------------------------------------
    @case("rule 8: tagged BAD", {"bad"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "TAG BAD what")
        b.op_noop()

    @case("rule 8: NO [UNAVAILABLE]", {"no-unavailable"})
    def _(w):
        a, b = two(w)
        b.conn.on("STORE", "TAG NO [UNAVAILABLE] database busy")
        b.op_store([1], "+", ["$S1"])

    @case("rule 8: NO [SERVERBUG]", {"no-serverbug"})
    def _(w):
        a, b = two(w)
        b.conn.on("APPEND", "TAG NO [SERVERBUG] oops")
        b.op_append("INBOX")

    @case("rule 8: an unexplained NO to COPY", {"unexpected-no"})
    def _(w):
        a, b = two(w)
        b.conn.on("COPY", "TAG NO cannot")
        b.op_copy([1], "Stress")

    @case("rule 8: NO to STORE of messages expunged meanwhile is tolerated", tolerated=1)
    def _(w):
        a, b = two(w)
        b.conn.on("STORE", "TAG NO Some of the requested messages no longer exist")
        b.op_store([1], "+", ["$S1"])

    @case("rule 8: unexpected disconnect", {"disconnect"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "EOF")
        try:
            b.op_noop()
        except SessionLost:
            pass

    @case("rule 8: no answer within the timeout", {"timeout"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "TIMEOUT")
        try:
            b.op_noop()
        except SessionLost:
            pass

    @case("rule 8: a response the parser cannot read is reported, not a crash", {"unparsable"})
    def _(w):
        a, b = two(w)
        b.conn.on("NOOP", "* 1 FETCH (FLAGS", "TAG OK")
        b.op_noop()

    # -- rules 9-15: CONDSTORE and QRESYNC (--extensions) ----------------------------------
    # In two(w, ext=...), UID u has MODSEQ u + 1 and the SELECTs say HIGHESTMODSEQ 4.

    @case("--extensions: ENABLE QRESYNC answered with * ENABLED")
    def _(w):
        s = w.session(0)
        s.extension = "qresync"
        s.conn.on("ENABLE QRESYNC", "* ENABLED QRESYNC", "TAG OK")
        s.enable()
        if not (s.qresync and s.condstore):
            raise AssertionError("QRESYNC not on after * ENABLED QRESYNC")

    @case("--extensions: ENABLE without * ENABLED", {"protocol"})
    def _(w):
        s = w.session(0)
        s.extension = "condstore"
        s.conn.on("ENABLE CONDSTORE", "TAG OK")
        s.enable()

    @case("correct server (QRESYNC): VANISHED, MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ, "
          "QRESYNC SELECT")
    def _(w):
        a, b = two(w, ext="qresync")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS ($S0) MODSEQ (5))", "TAG OK")
        b.op_noop()
        a.conn.on("STORE 3 +FLAGS.SILENT (\\Deleted)", "* 3 FETCH (UID 3 MODSEQ (6))", "TAG OK")
        a.op_store([3], "+", ["\\Deleted"], silent=True)
        a.conn.on("EXPUNGE", "* VANISHED 3", "TAG OK")
        a.op_expunge()
        b.conn.on("NOOP", "* VANISHED 3,99", "TAG OK")  # 99: unknown, ignored
        b.op_noop()
        b.conn.on("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)", "* VANISHED (EARLIER) 3",
                  "* 1 FETCH (UID 1 FLAGS ($S0) MODSEQ (5))", "TAG OK")
        b.op_changedsince(vanished=True, since=4)
        b.conn.on("STORE 1 (UNCHANGEDSINCE 5) +FLAGS ($S1)", "* 1 FETCH (FLAGS ($S0 $S1) UID 1 MODSEQ (8))", "TAG OK")
        b.op_store([1], "+", ["$S1"], unchangedsince=5)
        b.conn.on("STORE 2 (UNCHANGEDSINCE 2) +FLAGS.SILENT ($S1)",
                  "TAG OK [MODIFIED 2] some failed")  # stale: must be listed
        b.op_store([2], "+", ["$S1"], silent=True, unchangedsince=2, stale=True)
        b.conn.on("SEARCH MODSEQ 5", "* SEARCH 1 (MODSEQ 8)", "TAG OK")
        b.op_search("MODSEQ 5")
        c = w.session(2, "qresync")
        w.append(c, "INBOX", 4)
        b.conn.on("SELECT \"INBOX\" (QRESYNC (7 4 1:2))", "* OK [CLOSED] x", World.FLAGS, "* 3 EXISTS",
                  "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 10] x", "* VANISHED (EARLIER) 3",
                  "* 1 FETCH (UID 1 FLAGS ($S0 $S1) MODSEQ (8))", "TAG OK")
        b.conn.on("FETCH 1:3 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ($S0 $S1))", "* 2 FETCH (UID 2 FLAGS ())",
                  "* 3 FETCH (UID 4 FLAGS ())", "TAG OK")
        b.op_select("INBOX", qresync=True, since=4)
        if [s.uid for s in b.model.slots] != [1, 2, 4]:
            raise AssertionError("model after QRESYNC: %r" % [s.uid for s in b.model.slots])

    def expunged_by_a(w, ext, uid=2):
        a, b = two(w, ext=ext)
        a.conn.on("STORE %d +FLAGS (\\Deleted)" % uid, "* %d FETCH (FLAGS (\\Deleted) UID %d MODSEQ (%d))"
                  % (uid, uid, 10 + uid), "TAG OK")
        a.op_store([uid], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* VANISHED %d" % uid if ext == "qresync" else "* %d EXPUNGE" % uid, "TAG OK")
        a.op_expunge()
        return a, b

    @case("rule 9: a QRESYNC session is told * n EXPUNGE", {"expunge-not-vanished"})
    def _(w):
        a, b = expunged_by_a(w, "qresync")
        b.conn.on("NOOP", "* 2 EXPUNGE", "TAG OK")
        b.op_noop()

    @case("rule 9: * VANISHED to a session that did not enable QRESYNC", {"vanished-unexpected"})
    def _(w):
        a, b = two(w)
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("NOOP", "* VANISHED 2", "TAG OK")
        b.op_noop()

    @case("rule 9: * VANISHED during FETCH", {"expunge-forbidden"})
    def _(w):
        a, b = expunged_by_a(w, "qresync")
        b.conn.on("FETCH 1 (FLAGS)", "* VANISHED 2", "* 1 FETCH (FLAGS ())", "TAG OK")
        b.op_fetch([1], ["FLAGS"])

    @case("rule 9: NOOP after another session's expunge sends no VANISHED", {"unannounced-expunge"})
    def _(w):
        a, b = expunged_by_a(w, "qresync")
        b.conn.on("NOOP", "TAG OK")
        b.op_noop()

    @case("rule 9: VANISHED (EARLIER) of UID FETCH names a UID the session still holds", {"vanished-earlier-held"})
    def _(w):
        a, b = expunged_by_a(w, "qresync")
        b.conn.on("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)", "* VANISHED (EARLIER) 2",
                  "* VANISHED 2", "TAG OK")
        b.op_changedsince(vanished=True, since=4)

    @case("correct server: a VANISHED during IDLE may name a message whose UID is not learned yet")
    def _(w):
        a, b = two(w, ext="qresync")
        c = w.session(2)
        w.append(c, "INBOX", 4)
        c.conn.on("UID STORE 4 +FLAGS (\\Deleted)", "TAG OK")
        c.model.mailbox, c.model.uidvalidity, c.model.slots = "INBOX", 7, [Slot(4, frozenset())]
        c.op_store([1], "+", ["\\Deleted"], uid=True)
        b.conn.on("IDLE", "+ idling", "* 4 EXISTS", "* VANISHED 4", "* 3 EXISTS")
        b.conn.on("DONE", "TAG OK idle done")
        b.conn.on("SELECT", World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 9] x", "TAG OK")
        b.conn.on("FETCH 1:3 (UID FLAGS MODSEQ)", "* 1 FETCH (UID 1 FLAGS () MODSEQ (2))",
                  "* 2 FETCH (UID 2 FLAGS () MODSEQ (3))", "* 3 FETCH (UID 3 FLAGS () MODSEQ (4))", "TAG OK")
        b.op_idle(0.01)

    @case("rule 10: a message's MODSEQ goes down", {"modseq-decreased"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("FETCH 1 (FLAGS MODSEQ)", "* 1 FETCH (FLAGS () MODSEQ (5))", "TAG OK")
        b.op_fetch([1], ["FLAGS", "MODSEQ"], kind="FETCH MODSEQ")
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS () MODSEQ (4))", "TAG OK")
        b.op_noop()

    @case("rule 10: new flags with the old MODSEQ", {"modseq-not-raised"})
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS ($S0) MODSEQ (2))", "TAG OK")
        b.op_noop()

    @case("rule 10: a .SILENT STORE changes flags, its FETCH keeps the old MODSEQ", {"modseq-not-raised"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("STORE 1 +FLAGS.SILENT ($S1)", "* 1 FETCH (UID 1 MODSEQ (2))", "TAG OK")
        b.op_store([1], "+", ["$S1"], silent=True)

    @case("rule 10: another session's flag change without MODSEQ", {"fetch-without-modseq"})
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS ($S0))", "TAG OK")
        b.op_noop()

    @case("rule 10: a STORE's FETCH without UID (RFC 7162 §3.2.4)", {"fetch-without-uid"})
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])

    @case("correct server: a FETCH without UID and MODSEQ items answers without them; MODSEQ unchanged "
          "with the flags is fine")
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("FETCH 1 (FLAGS)", "* 1 FETCH (FLAGS ())", "TAG OK")
        b.op_fetch([1], ["FLAGS"])
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS () MODSEQ (7))", "TAG OK")  # changed and changed back
        b.op_noop()

    @case("correct server: with CONDSTORE, a FETCH while an expunge is pending shows the flags last told")
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        a.conn.on("STORE 3 +FLAGS (\\Deleted)", "* 3 FETCH (FLAGS (\\Deleted) UID 3 MODSEQ (6))", "TAG OK")
        a.op_store([3], "+", ["\\Deleted"])
        a.conn.on("EXPUNGE", "* 3 EXPUNGE", "TAG OK")
        a.op_expunge()
        b.conn.on("FETCH 1 (FLAGS)", "* 1 FETCH (FLAGS ())", "TAG OK")  # RFC 5162 erratum 1810
        b.op_fetch([1], ["FLAGS"])
        b.conn.on("NOOP", "* 3 EXPUNGE", "* 1 FETCH (UID 1 FLAGS ($S0) MODSEQ (5))", "TAG OK")
        b.op_noop()

    @case("correct server (CONDSTORE): a STORE answers nothing for a message expunged meanwhile")
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted) UID 2 MODSEQ (5))", "TAG OK")
        b.op_store([2], "+", ["\\Deleted"])
        a.conn.on("NOOP", "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ (5))", "TAG OK")
        a.op_noop()
        b.conn.on("EXPUNGE", "* 2 EXPUNGE", "TAG OK")
        b.op_expunge()
        a.conn.on("STORE 2 +FLAGS ($S0)", "TAG OK")  # not stored: nothing to say, no MODSEQ
        a.conn.on("FETCH 2 (UID FLAGS MODSEQ)", "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ (5))", "TAG OK")
        a.op_store([2], "+", ["$S0"])
        a.conn.on("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4)", "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ (5))", "TAG OK")
        a.op_changedsince(since=4)

    @case("rule 11: a SELECT's HIGHESTMODSEQ below a MODSEQ told before", {"highestmodseq-too-low"})
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        w.select(b, "INBOX", [1, 2, 3], {1: "$S0"}, modseqs={1: 5, 2: 3, 3: 4}, hms=4)

    @case("rule 11: a MODSEQ told while the SELECT ran is not judged")
    def _(w):
        a, b = two(w, ext="condstore")

        def race():
            a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
            a.op_store([1], "+", ["$S0"])

        b.conn.on("SELECT", race, World.FLAGS, "* 3 EXISTS", "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 4] x",
                  "TAG OK")
        b.conn.on("FETCH", "* 1 FETCH (UID 1 FLAGS ($S0) MODSEQ (5))", "* 2 FETCH (UID 2 FLAGS () MODSEQ (3))",
                  "* 3 FETCH (UID 3 FLAGS () MODSEQ (4))", "TAG OK")
        b.op_select("INBOX")

    @case("rule 12: a message listed in [MODIFIED] got the keyword anyway", {"unchangedsince-stored"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("STORE 1 (UNCHANGEDSINCE 2) +FLAGS ($S1)", "TAG OK [MODIFIED 1] failed")
        b.op_store([1], "+", ["$S1"], unchangedsince=2)
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS ($S1) MODSEQ (9))", "TAG OK")
        b.op_noop()

    @case("rule 12: [MODIFIED] after another session's change; the own keyword stays clear")
    def _(w):
        a, b = two(w, ext="condstore")
        a.conn.on("STORE 1 +FLAGS (\\Seen)", "* 1 FETCH (FLAGS (\\Seen) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["\\Seen"])
        b.conn.on("UID STORE 1 (UNCHANGEDSINCE 2) +FLAGS ($S1)", "TAG OK [MODIFIED 1] failed")
        b.op_store([1], "+", ["$S1"], uid=True, unchangedsince=2)
        b.conn.on("NOOP", "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (5))", "TAG OK")
        b.op_noop()

    @case("rule 12: UNCHANGEDSINCE below the MODSEQ told, stored without [MODIFIED]", {"unchangedsince-ignored"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("STORE 1 (UNCHANGEDSINCE 1) +FLAGS ($S1)", "* 1 FETCH (FLAGS ($S1) UID 1 MODSEQ (5))", "TAG OK")
        b.op_store([1], "+", ["$S1"], unchangedsince=1, stale=True)

    @case("rule 13: a QRESYNC SELECT does not report an expunge", {"qresync-mismatch"})
    def _(w):
        a, b = expunged_by_a(w, "qresync")
        b.conn.on("SELECT \"INBOX\" (QRESYNC (7 4 1:3))", "* OK [CLOSED] x", World.FLAGS, "* 2 EXISTS",
                  "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 13] x", "TAG OK")
        b.conn.on("FETCH 1:2 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_select("INBOX", qresync=True, since=4)

    @case("rule 13: a QRESYNC SELECT does not report a flag change", {"qresync-mismatch"})
    def _(w):
        a, b = two(w, ext="qresync")
        a.conn.on("STORE 1 +FLAGS ($S0)", "* 1 FETCH (FLAGS ($S0) UID 1 MODSEQ (5))", "TAG OK")
        a.op_store([1], "+", ["$S0"])
        b.conn.on("SELECT \"INBOX\" (QRESYNC (7 4 1:3))", "* OK [CLOSED] x", World.FLAGS, "* 3 EXISTS",
                  "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 5] x", "TAG OK")
        b.conn.on("FETCH 1:3 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ($S0))", "* 2 FETCH (UID 2 FLAGS ())",
                  "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_select("INBOX", qresync=True, since=4)

    @case("rule 13: VANISHED (EARLIER) of a QRESYNC SELECT names a message it still counts",
          {"vanished-earlier-present", "qresync-mismatch"})
    def _(w):
        a, b = two(w, ext="qresync")
        a.conn.on("STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted) UID 2 MODSEQ (5))", "TAG OK")
        a.op_store([2], "+", ["\\Deleted"])  # an EXPUNGE could come; it does not
        b.conn.on("NOOP", "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ (5))", "TAG OK")
        b.op_noop()
        b.conn.on("SELECT \"INBOX\" (QRESYNC (7 4 1:3))", "* OK [CLOSED] x", World.FLAGS, "* 3 EXISTS",
                  "* OK [UIDVALIDITY 7] x", "* OK [HIGHESTMODSEQ 5] x", "* VANISHED (EARLIER) 2", "TAG OK")
        b.conn.on("FETCH 1:3 (UID FLAGS)", "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS (\\Deleted))",
                  "* 3 FETCH (UID 3 FLAGS ())", "TAG OK")
        b.op_select("INBOX", qresync=True, since=4)

    @case("rule 14: SEARCH MODSEQ misses a message told a higher MODSEQ", {"search-modseq-mismatch"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("SEARCH MODSEQ 3", "* SEARCH 3 (MODSEQ 4)", "TAG OK")
        b.op_search("MODSEQ 3")

    @case("rule 14: SEARCH MODSEQ results without (MODSEQ n)", {"search-modseq-mismatch"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("UID SEARCH MODSEQ 3", "* SEARCH 2 3", "TAG OK")
        b.op_search("MODSEQ 3", uid=True)

    @case("rule 15: CHANGEDSINCE misses a message told a higher MODSEQ", {"changedsince-mismatch"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2)", "* 3 FETCH (UID 3 FLAGS () MODSEQ (4))", "TAG OK")
        b.op_changedsince(since=2)

    @case("rule 15: CHANGEDSINCE returns a message not changed since", {"changedsince-mismatch"})
    def _(w):
        a, b = two(w, ext="condstore")
        b.conn.on("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2)", "* 1 FETCH (UID 1 FLAGS () MODSEQ (2))",
                  "* 2 FETCH (UID 2 FLAGS () MODSEQ (3))", "* 3 FETCH (UID 3 FLAGS () MODSEQ (4))", "TAG OK")
        b.op_changedsince(since=2)

    return cases


def selftest():
    """Runs every case; a case passes when exactly its expected error kinds fired."""
    failures = 0
    cases = selftest_cases()
    for name, expect, tolerated, fn in cases:
        w = World()
        problem = None
        try:
            fn(w)
        except Exception as e:  # noqa: BLE001 - a failing case is reported, not raised
            problem = "raised %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=4))
        got = set(w.errors())
        if problem is None and got != expect:
            problem = "expected errors %s, got %s" % (sorted(expect) or "none", w.errors() or "none")
        if problem is None and tolerated != sum(w.run.tolerated.values()):
            problem = "expected %d tolerated NO, got %d" % (tolerated, sum(w.run.tolerated.values()))
        if problem is None:
            for s in w.sessions:
                if s.conn.script:
                    problem = "session %s left script entries unused: %r" % (s.index, list(s.conn.script)[:2])
                    break
        print("%s %s" % ("ok  " if problem is None else "FAIL", name))
        if problem:
            failures += 1
            print("     " + problem.replace("\n", "\n     "))
            for s in w.run.samples[:3]:
                print("     > %s: %s" % (s["kind"], s["message"]))
    print("selftest: %d cases, %d failed" % (len(cases), failures))
    return failures == 0


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selftest", action="store_true", help="check the checker, without a server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--tls", action="store_true", help="implicit TLS (IMAPS)")
    ap.add_argument("--starttls", action="store_true", help="STARTTLS on the plain port")
    ap.add_argument("--cafile", help="CA certificate to verify the server with")
    ap.add_argument("--servername", default="localhost", help="TLS server name (localhost)")
    ap.add_argument("--users", help="u1@d:pw,u2@d:pw,...")
    ap.add_argument("--user-pattern", help="e.g. 'stress{i}@example.org', i = 1..--users-count")
    ap.add_argument("--users-count", type=int, default=1)
    ap.add_argument("--password", default="pw")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--switch-every", type=float, default=30,
                    help="mean seconds before a session moves to another user (0: never)")
    ap.add_argument("--login-timeout", type=float, default=60,
                    help="seconds a LOGIN may take (bcrypt under load); other responses: 15")
    ap.add_argument("--extensions", choices=EXTENSION_MODES, default="none",
                    help="what sessions ENABLE after login (RFC 7162): none, condstore, qresync, or mixed "
                         "(sessions take none, condstore, qresync by turns)")
    ap.add_argument("--min-commands", type=int, default=100)
    ap.add_argument("--json", help="write the report as JSON to this file")
    ap.add_argument("--trace", help="write every session's transcript to this file")
    o = ap.parse_args(argv)
    if o.selftest:
        return 0 if selftest() else 1
    if not o.port or not (o.users or o.user_pattern) or not (o.tls or o.starttls):
        ap.error("--port, --users or --user-pattern, and --tls or --starttls are required")
    r = stress(o)
    print_report(r)
    if o.json:
        with open(o.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
