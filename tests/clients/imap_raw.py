"""A raw IMAP client for tests that must see every response in the order the server sent
it (imaplib keeps untagged responses in a dict and loses that order).

    c = Raw(port, cafile); c.login("alice@example.org", "pw")
    lines = c.cmd("SELECT INBOX")   # every response line up to and including the tagged one

A response line with a literal is returned as one string with the literal inlined
(`* 1 FETCH (BODY[] {12}\r\n...bytes...)`), decoded as UTF-8 with replacement.
"""

import socket
import ssl


class Raw:
    def __init__(self, port, cafile, host="localhost", timeout=30, starttls=False):
        """Implicit TLS, or with `starttls` a plain connection upgraded by STARTTLS."""
        ctx = ssl.create_default_context(cafile=cafile)
        sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.n = 0
        if starttls:
            self.sock = sock
            self._send, self._recv = sock.sendall, sock.recv
            self.greeting = self.line()
            assert tagged(self.cmd("STARTTLS"))[0] == "OK"
            sock = ctx.wrap_socket(sock, server_hostname=host)
            self.sock = sock
            self._send, self._recv = sock.sendall, sock.recv
            return
        self.sock = ctx.wrap_socket(sock, server_hostname=host)
        # What bytes go through; COMPRESS replaces both.
        self._send, self._recv = self.sock.sendall, self.sock.recv
        self.greeting = self.line()

    def _fill(self):
        chunk = self._recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def line(self):
        """One response line; a literal announced at its end is read and inlined."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            part, self.buf = self.buf.split(b"\r\n", 1)
            out += part
            if part.endswith(b"}") and b"{" in part:
                size = int(part[part.rindex(b"{") + 1 : -1].rstrip(b"+"))
                while len(self.buf) < size:
                    self._fill()
                out += b"\r\n" + self.buf[:size]
                self.buf = self.buf[size:]
                continue
            return out.decode("utf-8", "replace")

    def send(self, text):
        self._send(text.encode() if isinstance(text, str) else text)

    def _next_tag(self):
        self.n += 1
        return f"t{self.n}"

    def _until_tagged(self, tag):
        """Every line up to and including the completion tagged `tag`."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, command):
        """Sends `tag command` and returns every line up to the tagged completion."""
        tag = self._next_tag()
        self.send(f"{tag} {command}\r\n")
        return self._until_tagged(tag)

    def append(self, mailbox, message, flags=""):
        """APPEND with a non-synchronising literal (LITERAL+)."""
        tag = self._next_tag()
        data = message.encode() if isinstance(message, str) else message
        flags = f" ({flags})" if flags else ""
        self.send(f"{tag} APPEND {mailbox}{flags} {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
        return self._until_tagged(tag)

    def compress(self):
        """COMPRESS DEFLATE (RFC 4978): after the OK, raw DEFLATE both ways; each chunk the
        server sends must decompress at once (its sync flush), or reading times out."""
        import zlib
        lines = self.cmd("COMPRESS DEFLATE")
        if tagged(lines)[0] != "OK":
            return lines
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        inflate = zlib.decompressobj(-15)
        plain_send, plain_recv = self._send, self._recv
        self.compressed_in = 0
        def send(data):
            plain_send(deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH))
        def recv(n):
            while True:
                raw = plain_recv(n)
                if not raw:
                    return b""
                self.compressed_in += len(raw)
                out = inflate.decompress(raw)
                if out:
                    return out
        self._send, self._recv = send, recv
        self.buf = inflate.decompress(self.buf) if self.buf else b""
        return lines

    def login(self, user, password):
        done = self.cmd(f'LOGIN "{user}" "{password}"')[-1]
        assert " OK " in done, done
        return self

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, ConnectionError):
            pass
        self.sock.close()


def tagged(lines):
    """The tagged completion's status and text: `("OK", "[READ-WRITE] SELECT completed")`."""
    _, status, text = (lines[-1].split(" ", 2) + [""])[:3]
    return status, text


def untagged(lines, kind):
    """The untagged lines of one kind (`EXISTS`, `EXPUNGE`, `FETCH`, `FLAGS`...)."""
    out = []
    for line in lines[:-1]:
        words = line.split(" ")
        if len(words) >= 2 and words[0] == "*" and (words[1] == kind or (len(words) > 2 and words[2] == kind)):
            out.append(line)
    return out
