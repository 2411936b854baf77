"""Small HTTP helpers around http.client (no redirects, no magic).

`request()` returns everything at once; `stream()` hands back the response so
a test can read a body incrementally; `raw_request()` speaks HTTP/1.1 over a
bare socket and returns exactly what the server sent (to prove a HEAD or 304
carries no body).
"""

import hashlib
import http.client
import http.server
import json
import re
import socket
import threading
import urllib.parse


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sha256_digest(data):
    return "sha256:" + sha256_hex(data)


def _split(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ValueError(f"only http:// and https:// URLs are supported here: {url}")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return u.hostname, u.port or (443 if u.scheme == "https" else 80), path


def _connection(url, timeout, tls_context):
    """An http.client connection for `url`: https:// needs `tls_context` (an ssl.SSLContext)."""
    host, port, path = _split(url)
    if url.startswith("https://"):
        if tls_context is None:
            raise ValueError(f"{url}: pass tls_context for https")
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=tls_context), path
    return http.client.HTTPConnection(host, port, timeout=timeout), path


def headers_dict(message):
    """http.client.HTTPMessage -> {lowercased name: value}, repeats joined by ', '."""
    out = {}
    for name, value in message.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def request(url, method="GET", headers=None, timeout=30, body=None, tls_context=None):
    """One request on a fresh connection (https:// with `tls_context`).

    Returns (status, headers dict with lowercased keys, body bytes).
    The body of a HEAD is b"" (http.client does not read one)."""
    conn, path = _connection(url, timeout, tls_context)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, headers_dict(resp.headers), data
    finally:
        conn.close()


class Stream:
    """An open response; read it incrementally. Use as a context manager."""

    def __init__(self, conn, resp):
        self.conn = conn
        self.response = resp
        self.status = resp.status
        self.headers = headers_dict(resp.headers)

    def read(self, n=-1):
        return self.response.read(n) if n >= 0 else self.response.read()

    def read_exactly(self, n):
        """Read n bytes or fewer if the body ends (short result = truncated)."""
        chunks = []
        while n > 0:
            chunk = self.response.read(min(n, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def drain_hash(self, chunk=1 << 20):
        """Read the rest of the body; return (bytes read, sha256 hasher).

        A connection closed before Content-Length is reached raises
        http.client.IncompleteRead."""
        h = hashlib.sha256()
        total = 0
        while True:
            data = self.response.read(chunk)
            if not data:
                break
            h.update(data)
            total += len(data)
        return total, h

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stream(url, method="GET", headers=None, timeout=30, tls_context=None):
    conn, path = _connection(url, timeout, tls_context)
    try:
        conn.request(method, path, headers=dict(headers or {}))
        resp = conn.getresponse()
    except BaseException:
        conn.close()
        raise
    return Stream(conn, resp)


def raw_request(url, method="GET", headers=None, timeout=10, read_after_headers=1.0):
    """Send one request with `Connection: close` over a plain socket.

    Returns (status, headers dict, bytes after the header block) — every byte
    the server sent after the headers until it closed the connection or went
    quiet for `read_after_headers` seconds.  Used to prove that HEAD / 304
    responses carry no body at all."""
    host, port, path = _split(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed inside headers: {buf!r}")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        s.settimeout(read_after_headers)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        except socket.timeout:
            pass
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    hdrs = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        hdrs[key] = f"{hdrs[key]}, {value}" if key in hdrs else value
    return status, hdrs, rest


def oci_error_codes(body):
    """Codes of an OCI error body {"errors":[{"code":...}]}; raises on non-JSON."""
    doc = json.loads(body)
    return [e["code"] for e in doc["errors"]]


def oci_errors(body):
    return json.loads(body)["errors"]


_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def parse_content_range(value):
    """'bytes a-b/size' -> (a, b, size or None)."""
    m = _CONTENT_RANGE.match(value.strip())
    if not m:
        raise ValueError(f"bad Content-Range: {value!r}")
    size = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), size


def parse_byteranges(content_type, body):
    """Parse a multipart/byteranges body (RFC 9110 §14.6).

    Returns a list of (first, last, size, part_headers, data).  Raises
    ValueError on anything malformed."""
    mtype, _, params = content_type.partition(";")
    if mtype.strip().lower() != "multipart/byteranges":
        raise ValueError(f"not multipart/byteranges: {content_type!r}")
    boundary = None
    for param in params.split(";"):
        k, _, v = param.strip().partition("=")
        if k.strip().lower() == "boundary":
            boundary = v.strip().strip('"')
    if not boundary:
        raise ValueError(f"no boundary in {content_type!r}")
    delim = b"--" + boundary.encode()
    parts = []
    pos = body.find(delim)
    if pos < 0:
        raise ValueError("first boundary not found")
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            break  # close delimiter
        if body[pos:pos + 2] != b"\r\n":
            raise ValueError(f"boundary not followed by CRLF at {pos}")
        pos += 2
        head_end = body.find(b"\r\n\r\n", pos)
        if head_end < 0:
            raise ValueError("part headers not terminated")
        part_headers = {}
        for line in body[pos:head_end].decode("latin-1").split("\r\n"):
            if line:
                k, _, v = line.partition(":")
                part_headers[k.strip().lower()] = v.strip()
        if "content-range" not in part_headers:
            raise ValueError(f"part without Content-Range: {part_headers}")
        first, last, size = parse_content_range(part_headers["content-range"])
        data_start = head_end + 4
        data_end = data_start + (last - first + 1)
        data = body[data_start:data_end]
        if body[data_end:data_end + 2] != b"\r\n":
            raise ValueError(f"part data not followed by CRLF (part {first}-{last})")
        parts.append((first, last, size, part_headers, data))
        pos = body.find(delim, data_end)
        if pos != data_end + 2:
            raise ValueError("next boundary not right after part data")
    return parts


def readiness_probe(url, ready_statuses):
    """A probe for ManagedProcess.wait_ready: None once GET url answers with
    one of ready_statuses, else what it got."""
    def probe():
        try:
            status, _, _ = request(url, timeout=2)
        except OSError as e:
            return repr(e)
        return None if status in ready_statuses else f"GET {url} -> {status}"
    return probe


def serve_in_thread(handler_class, port=0):
    """A ThreadingHTTPServer on 127.0.0.1:port (0 = free) answering with
    `handler_class` from daemon threads; stop it with stop_server()."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server):
    if server is not None:
        server.shutdown()
        server.server_close()
