"""A minimal raw RESP client for differential tests: it returns each reply
as the exact bytes the server sent, so two servers can be compared byte for
byte, and it can send malformed input that real clients refuse to produce."""

import socket
import time


def split_args(line: str) -> list:
    """Splits a command line the way redis-cli and Redis's inline protocol do:
    whitespace separates arguments, "double quotes" allow \\n, \\r, \\t,
    \\xHH and \\" escapes, 'single quotes' allow \\'."""
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced quotes: " + line)
                c = line[i]
                if c == "\\" and i + 3 < n and line[i + 1] == "x":
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 4
                    continue
                if c == "\\" and i + 1 < n:
                    nxt = line[i + 1]
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(nxt, nxt.encode())
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                cur += c.encode()
                i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced quotes: " + line)
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if c == "'":
                    i += 1
                    break
                cur += c.encode()
                i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
        args.append(bytes(cur))


def encode(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawConn:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _line(self, pos):
        while True:
            idx = self.buf.find(b"\r\n", pos)
            if idx >= 0:
                return idx
            self._fill()

    def _reply_end(self, pos):
        """Index just past the complete reply starting at pos."""
        end = self._line(pos)
        kind = self.buf[pos : pos + 1]
        head = self.buf[pos + 1 : end]
        after = end + 2
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return after
        if kind in (b"$", b"=", b"!"):
            length = int(head)
            if length < 0:
                return after
            while len(self.buf) < after + length + 2:
                self._fill()
            return after + length + 2
        if kind in (b"*", b"~", b">", b"%", b"|"):
            count = int(head)
            if count < 0:
                return after
            if kind in (b"%", b"|"):
                count *= 2
            p = after
            for _ in range(count):
                p = self._reply_end(p)
            if kind == b"|":  # an attribute precedes the real reply
                p = self._reply_end(p)
            return p
        raise ValueError("bad reply type %r in %r" % (kind, self.buf[pos : pos + 40]))

    def read_reply(self) -> bytes:
        end = self._reply_end(0)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def call(self, *args) -> bytes:
        self.send(encode(args))
        return self.read_reply()

    def read_available(self, wait=0.3) -> bytes:
        """Everything the server sends within `wait` seconds (or until close)."""
        deadline = time.time() + wait
        self.sock.settimeout(0.05)
        try:
            while time.time() < deadline:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                self.buf += chunk
        finally:
            self.sock.settimeout(10.0)
        out, self.buf = self.buf, b""
        return out


def parse_reply(data: bytes):
    """Decodes one RESP reply into Python values (for sorting and masking)."""
    val, _ = _parse(data, 0)
    return val


def _parse(data, pos):
    end = data.index(b"\r\n", pos)
    kind, head, after = data[pos : pos + 1], data[pos + 1 : end], end + 2
    if kind in (b"+", b"-", b":", b",", b"#", b"(", b"_"):
        return (kind, head), after
    if kind in (b"$", b"=", b"!"):
        n = int(head)
        if n < 0:
            return (kind, None), after
        return (kind, data[after : after + n]), after + n + 2
    n = int(head)
    if n < 0:
        return (kind, None), after
    if kind in (b"%", b"|"):
        n *= 2
    items, p = [], after
    for _ in range(n):
        item, p = _parse(data, p)
        items.append(item)
    return (kind, items), p
