#!/usr/bin/env python3
"""Idle sessions for the shutdown test: one of each kind a server stop meets.

  held_sessions.py HOST SMTP_PORT IMAPS_PORT POP3S_PORT CA USER PASSWORD
      Opens an SMTP session after EHLO, an IMAPS session with INBOX selected, an IMAPS
      session in IDLE, a POP3S session that has marked message 1 deleted, and an IMAPS
      session halfway through an APPEND literal; prints "ready"; then reads each until the
      server closes it (the APPEND session first sends the rest of its message) and prints
      one JSON line {name: {"last": last line, "closed": true if the server closed it,
      "lines": every line received after "ready"}}.
"""
import json
import socket
import ssl
import sys

host, smtp_port, imaps_port, pop3s_port, ca, user, password = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=ca)


class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def until(self, needle):
        while needle not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise SystemExit("closed while waiting for %r: %r" % (needle, self.buf))
            self.buf += data

    def send(self, line):
        self.sock.sendall(line)

    def drain(self):
        """Reads until the server closes the connection."""
        self.sock.settimeout(60)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                    return
                self.buf += data
        except (socket.timeout, ConnectionError, ssl.SSLError):
            return

    def last(self):
        lines = [l for l in self.buf.split(b"\r\n") if l]
        return lines[-1].decode("utf-8", "replace") if lines else ""


def tls(port):
    return Peer(ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=30),
                                server_hostname="localhost"))


def imap_selected():
    p = tls(imaps_port)
    p.until(b"* OK")
    p.send(b"a LOGIN %s %s\r\n" % (user.encode(), password.encode()))
    p.until(b"a OK")
    p.send(b"b SELECT INBOX\r\n")
    p.until(b"b OK")
    p.buf = b""
    return p


smtp = Peer(socket.create_connection((host, int(smtp_port)), timeout=30))
smtp.until(b"220 ")
smtp.send(b"EHLO client.test\r\n")
smtp.until(b"250 ")
smtp.buf = b""

imap = imap_selected()
idle = imap_selected()
idle.send(b"c IDLE\r\n")
idle.until(b"+ idling")
idle.buf = b""

pop3 = tls(pop3s_port)
pop3.until(b"+OK")
pop3.send(b"USER %s\r\n" % user.encode())
pop3.until(b"+OK")
pop3.buf = b""
for command in (b"PASS %s\r\n" % password.encode(), b"DELE 1\r\n"):
    pop3.send(command)
    pop3.until(b"\r\n")
    if not pop3.buf.startswith(b"+OK"):
        raise SystemExit("POP3 refused %r: %r" % (command.split()[0], pop3.buf))
    pop3.buf = b""

message = b"Subject: appended during the stop\r\n\r\n" + b"x" * 1000 + b"\r\n"
append = imap_selected()
append.send(b"d APPEND INBOX {%d}\r\n" % len(message))
append.until(b"+ ")
append.send(message[:500])
append.buf = b""

print("ready", flush=True)
sessions = {"smtp": smtp, "imap": imap, "imap_idle": idle, "pop3": pop3}
for peer in sessions.values():
    peer.drain()
# The server is stopping now (the others were closed): the APPEND may still finish.
append.send(message[500:] + b"\r\n")
append.drain()
sessions["imap_append"] = append
print(json.dumps({name: {"last": p.last(), "closed": p.closed,
                         "lines": [l.decode("utf-8", "replace") for l in p.buf.split(b"\r\n") if l]}
                  for name, p in sessions.items()}),
      flush=True)
