"""A raw HTTP/2 client: frames written and read by hand, for what no
well-behaved client does (resetting thousands of streams, flooding) and for
downloads whose every byte the test checks.

    conn = H2Connection.connect(host, port)                # h2c, prior knowledge
    conn = H2Connection.connect(host, port, tls_context)   # h2 by ALPN
    sid = conn.request("GET", "/v2/x/blobs/sha256:...", authority)
    conn.rst(sid)                                          # RST_STREAM CANCEL
    conn.pump()         # reads one batch: bodies hashed, windows refilled, SETTINGS acked
    conn.streams[sid].sha256.hexdigest(), .ended, .reset, .length
    conn.goaway         # the GOAWAY's error code, once one came
    conn.closed         # the server closed the connection

Request headers are HPACK literals without indexing (no Huffman), names from
the static table where it has them: nothing to track. Response headers are
not decoded (DATA is what these tests check; statuses come from curl).
"""

import hashlib
import socket
import ssl
import struct
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR = 0x0, 0x1, 0x2
REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0x7, 0x8, 0xB

SETTINGS_INITIAL_WINDOW_SIZE = 0x4

# HPACK static table indices of the names (RFC 7541 appendix A).
_STATIC_NAMES = {":authority": 1, ":method": 2, ":path": 4, ":scheme": 6, "range": 50, "if-none-match": 41}


def _hpack_length(n, prefix_bits, first_byte_flags=0):
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([first_byte_flags | n])
    out = bytearray([first_byte_flags | limit])
    n -= limit
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_headers(fields):
    """[(name, value)] as an HPACK block of literals without indexing."""
    out = bytearray()
    for name, value in fields:
        name_b, value_b = name.encode(), value.encode()
        index = _STATIC_NAMES.get(name)
        if index is not None:
            out += _hpack_length(index, 4)
        else:
            out += b"\x00" + _hpack_length(len(name_b), 7) + name_b
        out += _hpack_length(len(value_b), 7) + value_b
    return bytes(out)


def frame(frame_type, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([frame_type, flags]) + struct.pack(">I", stream_id) + payload


class Stream:
    def __init__(self):
        self.sha256 = hashlib.sha256()
        self.length = 0
        self.ended = False
        self.reset = None  # RST_STREAM's error code
        self.headers_seen = False


class H2Connection:
    def __init__(self, sock, window=4 << 20):
        self.sock = sock
        self.buffer = bytearray()
        self.streams = {}
        self.next_id = 1
        self.goaway = None
        self.closed = False
        self.unacked = {}  # stream id (0: the connection) -> bytes received, not yet given back
        self.window = window
        self._send_lock = threading.Lock()  # a reader thread acks while the test writes

    @classmethod
    def connect(cls, host, port, tls_context=None, server_hostname="localhost", window=4 << 20, timeout=60):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_context is not None:
            tls_context.set_alpn_protocols(["h2"])
            raw = tls_context.wrap_socket(raw, server_hostname=server_hostname)
            if raw.selected_alpn_protocol() != "h2":
                raise AssertionError(f"ALPN chose {raw.selected_alpn_protocol()!r}, not h2")
        conn = cls(raw, window)
        settings = struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, window)
        # As Go's client: a 1 GiB connection window, the stream windows as set.
        conn.send(PREFACE + frame(SETTINGS, 0, 0, settings) +
                  frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", (1 << 30) - 65535)))
        return conn

    def send(self, data):
        with self._send_lock:
            self.sock.sendall(data)

    def request_frame(self, method, path, authority, extra=()):
        sid = self.next_id
        self.next_id += 2
        self.streams[sid] = Stream()
        block = encode_headers([(":method", method), (":scheme", "http"), (":path", path),
                                (":authority", authority), *extra])
        return sid, frame(HEADERS, END_STREAM | END_HEADERS, sid, block)

    def request(self, method, path, authority, extra=()):
        sid, data = self.request_frame(method, path, authority, extra)
        self.send(data)
        return sid

    def rst(self, sid, code=CANCEL):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def ping(self, opaque=b"regcache"):
        self.send(frame(PING, 0, 0, opaque))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- reading ---------------------------------------------------------------
    def pump(self):
        """Reads what arrives next and handles every whole frame in it.
        Returns False once the server closed the connection."""
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        data = bytes(self.buffer) + chunk
        replies = bytearray()
        view = memoryview(data)
        at = 0
        while len(data) - at >= 9:
            length = int.from_bytes(view[at:at + 3], "big")
            if len(data) - at < 9 + length:
                break
            ftype, flags = view[at + 3], view[at + 4]
            sid = int.from_bytes(view[at + 5:at + 9], "big") & 0x7FFFFFFF
            replies += self._handle(ftype, flags, sid, view[at + 9:at + 9 + length])
            at += 9 + length
        self.buffer = bytearray(view[at:])
        if replies:
            try:
                self.send(bytes(replies))
            except OSError:
                pass
        return True

    def _handle(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            return frame(SETTINGS, ACK, 0)
        if ftype == PING and not flags & ACK:
            return frame(PING, ACK, 0, bytes(payload))
        if ftype == GOAWAY:
            self.goaway = int.from_bytes(payload[4:8], "big")
            return b""
        stream = self.streams.get(sid)
        if stream is None:
            return b""
        if ftype == HEADERS:
            stream.headers_seen = True
            stream.ended = stream.ended or bool(flags & END_STREAM)
        elif ftype == RST_STREAM:
            stream.reset = int.from_bytes(payload[:4], "big")
        elif ftype == DATA:
            stream.sha256.update(payload)
            stream.length += len(payload)
            stream.ended = stream.ended or bool(flags & END_STREAM)
            return self._give_back(sid, len(payload))
        return b""

    def _give_back(self, sid, n):
        """WINDOW_UPDATEs once a quarter of a window was read (as Go does)."""
        out = b""
        for key, window in ((0, 1 << 30), (sid, self.window)):
            self.unacked[key] = self.unacked.get(key, 0) + n
            if self.unacked[key] >= window // 4:
                out += frame(WINDOW_UPDATE, 0, key, struct.pack(">I", self.unacked[key]))
                self.unacked[key] = 0
        return out

    def run_until(self, done, limit=10_000_000):
        for _ in range(limit):
            if done() or not self.pump():
                return
