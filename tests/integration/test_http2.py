"""HTTP/2: h2 by ALPN on the TLS listener and h2c with prior knowledge on the
plain one, against the same routes HTTP/1.1 serves.

curl (--http2, --http2-prior-knowledge), nghttp and h2load from
nghttp2-client talk to one regcache per class (plain + TLS listeners); the
raw client of support/h2raw.py does what well-behaved clients never do: a
rapid-reset flood of 10,000 streams, a CONTINUATION flood, and six streams
of the 64 MiB layer on one connection, every byte checked. containerd pulls
over TLS and its requests must show proto=HTTP/2 in the access log.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_http2
"""

import hashlib
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from support import containerd as ctd
from support import fixtures
from support import h2raw
from support import http as h
from support import ports
from support import skips
from support.regcache import Regcache, upstream_config
from support.tls import TestPki


def nghttp2_client_missing():
    missing = [tool for tool in ("nghttp", "h2load") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not installed (Debian package nghttp2-client)" if missing else None


def method_is_head(route_name):
    return route_name.endswith("HEAD")


class Http2Tests(fixtures.UpstreamTestCase):
    IMAGES = ("multi", "alt")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="regcache-it-http2-")
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.pki = TestPki(os.path.join(d, "pki"))
        cls.tls_port = ports.free_port()
        config = upstream_config(cls.registry)
        config["server"] = {"tls": {"listen": f"{ports.LOOPBACK}:{cls.tls_port}", "cert_file": cls.pki.server_cert,
                                    "key_file": cls.pki.server_key}}
        cls.rc = Regcache(config=config)
        cls.addClassCleanup(cls.rc.close)
        cls.rc.start()
        cls.tls_url = f"https://localhost:{cls.tls_port}"
        cls.multi = cls.images["multi"]
        cls.alt = cls.images["alt"]
        cls.large = cls.multi.largest_blob()

    def curl(self, url, *args, method=None, body=None):
        """(http_version, status, headers dict, body bytes) as curl got them."""
        with tempfile.NamedTemporaryFile() as head, tempfile.NamedTemporaryFile() as out:
            argv = ["curl", "-sS", "--max-time", "60", "--cacert", self.pki.ca_cert, "-D", head.name, "-o", out.name,
                    "-w", "%{http_version}", *args]
            if method == "HEAD":
                argv += ["-I"]
            elif method:
                argv += ["-X", method]
            if body is not None:
                argv += ["--data-binary", body, "-H", "Content-Type: application/json"]
            res = subprocess.run(argv + [url], capture_output=True, text=True, timeout=90)
            self.assertEqual(res.returncode, 0, f"curl {url}: {res.stderr}")
            with open(head.name, "rb") as f:
                lines = f.read().decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            with open(out.name, "rb") as f:
                return res.stdout.strip(), status, headers, f.read()

    def routes(self):
        img, multi = self.alt, self.multi
        small = img.layers[0].digest
        manifest = f"/v2/{img.repo}/manifests/{img.tag}"
        return [
            ("base", "GET", "/v2/", ()),
            ("manifest by tag", "GET", manifest, ()),
            ("manifest HEAD", "HEAD", manifest, ()),
            ("manifest by digest", "GET", f"/v2/{img.repo}/manifests/{img.top_digest}", ()),
            ("index", "GET", f"/v2/{multi.repo}/manifests/{multi.tag}", ()),
            ("not modified", "GET", manifest, ("-H", f'If-None-Match: "{img.top_digest}"')),
            ("unknown manifest", "GET", f"/v2/{img.repo}/manifests/nope", ()),
            ("blob", "GET", f"/v2/{img.repo}/blobs/{small}", ()),
            ("blob HEAD", "HEAD", f"/v2/{img.repo}/blobs/{small}", ()),
            ("range", "GET", f"/v2/{img.repo}/blobs/{small}", ("-H", "Range: bytes=100-4099")),
            ("multi-range", "GET", f"/v2/{img.repo}/blobs/{small}", ("-H", "Range: bytes=0-9,200-299")),
            ("unsatisfiable range", "GET", f"/v2/{img.repo}/blobs/{small}", ("-H", "Range: bytes=99999999-")),
            ("unknown blob", "GET", f"/v2/{img.repo}/blobs/sha256:{'0' * 64}", ()),
            ("tags", "GET", f"/v2/{img.repo}/tags/list", ()),
            ("referrers", "GET", f"/v2/{img.repo}/referrers/{img.top_digest}", ()),
            ("catalog", "GET", "/v2/_catalog", ()),
            ("write", "DELETE", manifest, ()),
            ("invalid", "GET", "/v2/../x", ("--path-as-is",)),
            ("health", "GET", "/healthz", ()),
            ("metrics", "GET", "/metrics", ()),
        ]

    COMPARED_FIELDS = ("content-type", "content-length", "docker-content-digest", "etag", "content-range",
                       "www-authenticate", "docker-distribution-api-version")

    def assertSameAnswer(self, name, http1, http2):
        self.assertEqual(http2[0], "2", f"{name}: not HTTP/2")
        self.assertEqual(http1[1], http2[1], f"{name}: status")
        if method_is_head(name):
            # curl -I writes the head where the body would go.
            for field in self.COMPARED_FIELDS:
                self.assertEqual(http1[2].get(field), http2[2].get(field), f"{name}: {field}")
            return
        if name in ("multi-range", "metrics"):
            # A fresh multipart boundary per response; counters that moved.
            self.assertEqual(http1[2]["content-type"].split(";")[0], http2[2]["content-type"].split(";")[0], name)
            if name == "multi-range":
                self.assertEqual(len(http1[3]), len(http2[3]), name)
            return
        self.assertEqual(http1[3], http2[3], f"{name}: body")
        for field in self.COMPARED_FIELDS:
            self.assertEqual(http1[2].get(field), http2[2].get(field), f"{name}: {field}")

    def test_every_route_answers_the_same_over_h2c_and_h2_as_over_http1(self):
        for name, method, path, args in self.routes():
            with self.subTest(route=name):
                http1 = self.curl(self.rc.url + path, "--http1.1", *args, method=method)
                self.assertEqual(http1[0], "1.1")
                self.assertSameAnswer(name, http1, self.curl(self.rc.url + path, "--http2-prior-knowledge", *args,
                                                             method=method))
                self.assertSameAnswer(name, http1, self.curl(self.tls_url + path, "--http2", *args, method=method))
        log = self.rc.log_text()
        self.assertIn("proto=HTTP/2", log)
        self.assertIn("proto=HTTP/1.1", log)

    def test_admin_api_over_h2c_with_a_request_body(self):
        admin = f"http://{ports.LOOPBACK}:{self.rc.admin_port}"
        version, status, _, _ = self.curl(admin + "/api/v1/stats", "--http2-prior-knowledge")
        self.assertEqual((version, status), ("2", 200))
        pin = json.dumps({"image": f"{self.registry.host}/{self.alt.repo}:{self.alt.tag}"})
        version, status, _, body = self.curl(admin + "/api/v1/pins", "--http2-prior-knowledge", method="POST",
                                             body=pin)
        self.assertEqual(version, "2")
        self.assertLess(status, 300, body)
        _, status, _, body = self.curl(admin + "/api/v1/pins", "--http2-prior-knowledge")
        self.assertEqual(status, 200)
        self.assertIn(self.alt.repo, body.decode())

    @skips.requires("nghttp2-client", nghttp2_client_missing)
    def test_nghttp_and_h2load_over_h2c_and_h2(self):
        manifest = f"/v2/{self.alt.repo}/manifests/{self.alt.tag}"
        blob = f"/v2/{self.alt.repo}/blobs/{self.alt.layers[0].digest}"
        for base in (self.rc.url, self.tls_url):
            with self.subTest(base=base):
                res = subprocess.run(["nghttp", "-n", "--stat", base + manifest, base + blob, base + "/v2/"],
                                     capture_output=True, text=True, timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr)
                res = subprocess.run(["h2load", "-n", "2000", "-c", "2", "-m", "16", base + manifest],
                                     capture_output=True, text=True, timeout=120)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertIn("2000 succeeded", res.stdout, res.stdout)
                self.assertIn("status codes: 2000 2xx", res.stdout, res.stdout)
                head = subprocess.run(["h2load", "-n", "500", "-c", "1", "-m", "8", "-H", ":method: HEAD",
                                       base + manifest], capture_output=True, text=True, timeout=120)
                self.assertIn("status codes: 500 2xx", head.stdout, head.stdout)

    def test_six_streams_of_the_64mib_layer_on_one_connection_arrive_byte_for_byte(self):
        path = f"/v2/{self.multi.repo}/blobs/{self.large.digest}"
        for tls in (False, True):
            with self.subTest(tls=tls):
                context = ssl.create_default_context(cafile=self.pki.ca_cert) if tls else None
                conn = h2raw.H2Connection.connect(ports.LOOPBACK, self.tls_port if tls else self.rc.port, context)
                try:
                    ids = [conn.request("GET", path, self.rc.host) for _ in range(6)]
                    conn.run_until(lambda: all(conn.streams[i].ended or conn.streams[i].reset is not None
                                               for i in ids))
                    for sid in ids:
                        stream = conn.streams[sid]
                        self.assertIsNone(stream.reset, f"stream {sid} reset")
                        self.assertTrue(stream.ended, f"stream {sid} never ended")
                        self.assertEqual(stream.length, self.large.size)
                        self.assertEqual("sha256:" + stream.sha256.hexdigest(), self.large.digest)
                    self.assertFalse(conn.closed)
                finally:
                    conn.close()

    def test_rapid_reset_flood_closes_that_connection_and_others_are_answered(self):
        path = f"/v2/{self.alt.repo}/manifests/{self.alt.tag}"
        log_before = len(self.rc.log_text())
        attacker = h2raw.H2Connection.connect(ports.LOOPBACK, self.rc.port)
        self.addCleanup(attacker.close)
        reader = threading.Thread(target=attacker.run_until, args=(lambda: False,), daemon=True)
        reader.start()
        answers = []  # (status, seconds) of another client's requests meanwhile
        stop = threading.Event()

        def bystander():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status, _, _ = h.request(self.rc.url + path, timeout=10)
                except OSError as e:
                    status = repr(e)
                answers.append((status, time.monotonic() - started))

        watcher = threading.Thread(target=bystander, daemon=True)
        watcher.start()
        sent = 0
        try:
            while sent < 10_000:
                batch = bytearray()
                for _ in range(100):
                    sid, headers = attacker.request_frame("GET", path, self.rc.host)
                    batch += headers + h2raw.frame(h2raw.RST_STREAM, 0, sid, (h2raw.CANCEL).to_bytes(4, "big"))
                attacker.send(bytes(batch))
                sent += 100
        except OSError:
            pass  # the server closed the connection under the flood
        reader.join(timeout=30)
        stop.set()
        watcher.join(timeout=30)
        self.assertTrue(attacker.closed, f"the attacker's connection is still open after {sent} streams")
        self.assertIsNotNone(attacker.goaway, "no GOAWAY before the close")
        self.assertTrue(answers, "the other client got no answer during the flood")
        self.assertEqual({status for status, _ in answers}, {200})
        self.assertLess(max(seconds for _, seconds in answers), 5.0, "the other client waited too long")
        # Streams reset before their handler ran cost no handler at all.
        handled = self.rc.log_text()[log_before:].count(f"path={path} proto=HTTP/2")
        self.assertLess(handled, sent // 2, f"{handled} of {sent} reset streams ran their handler")

    def test_continuation_flood_gets_goaway_and_the_server_stays_up(self):
        conn = h2raw.H2Connection.connect(ports.LOOPBACK, self.rc.port)
        self.addCleanup(conn.close)
        block = h2raw.encode_headers([(":method", "GET"), (":scheme", "http"), (":path", "/v2/"),
                                      (":authority", self.rc.host)])
        pad = h2raw.encode_headers([("x-pad", "p" * 4000)])
        flood = h2raw.frame(h2raw.HEADERS, 0, 1, block)
        flood += b"".join(h2raw.frame(h2raw.CONTINUATION, 0, 1, pad) for _ in range(1000))
        try:
            conn.send(flood)
        except OSError:
            pass  # closed before the flood was all sent
        conn.run_until(lambda: False)
        self.assertTrue(conn.closed)
        self.assertEqual(conn.goaway, h2raw.ENHANCE_YOUR_CALM)
        self.assertEqual(self.curl(self.rc.url + "/v2/", "--http2-prior-knowledge")[1], 200)

    def test_header_list_over_the_limit_is_a_431(self):
        _, status, _, _ = self.curl(self.rc.url + "/v2/", "--http2-prior-knowledge", "-H", "X-Big: " + "b" * 40000)
        self.assertEqual(status, 431)

    def test_ping_flood_gets_goaway_enhance_your_calm(self):
        conn = h2raw.H2Connection.connect(ports.LOOPBACK, self.rc.port)
        self.addCleanup(conn.close)
        try:
            conn.send(b"".join(h2raw.frame(h2raw.PING, 0, 0, b"12345678") for _ in range(5000)))
        except OSError:
            pass
        conn.run_until(lambda: False)
        self.assertEqual(conn.goaway, h2raw.ENHANCE_YOUR_CALM)

    @skips.requires("containerd", ctd.missing_binaries)
    def test_containerd_pulls_over_tls_with_h2_offered(self):
        # containerd 1.6 (Debian 12) and skopeo build their own Go transports,
        # which offer only http/1.1 by ALPN: the pull must go on in HTTP/1.1
        # beside the h2 regcache offers first. (curl --http2 and the raw
        # client above are the h2 clients over TLS.)
        img = self.alt
        nowhere = f"http://{ports.LOOPBACK}:{ports.free_port()}"
        tmp = tempfile.mkdtemp(prefix="regcache-it-http2-ctd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        hosts_dir = ctd.write_hosts_toml(tmp, self.registry.host, self.tls_url, server=nowhere, ca=self.pki.ca_cert)
        containerd = ctd.Containerd()
        self.addCleanup(containerd.close)
        containerd.start()
        ref = f"{self.registry.host}/{img.repo}:{img.tag}"
        containerd.pull(ref, hosts_dir)
        self.assertIn(ref, containerd.images())
        self.assertLessEqual({b.digest for b in img.layers}, containerd.content_digests())
        log = self.rc.log_text()
        for digest in [b.digest for b in img.layers]:
            lines = [line for line in log.splitlines() if f"path=/v2/{img.repo}/blobs/{digest}" in line]
            self.assertTrue(lines, f"no request for {digest}")
            self.assertTrue(all(" proto=HTTP/" in line for line in lines), lines)


class Http2DrainTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def test_sigterm_sends_goaway_and_the_open_stream_finishes(self):
        rc = self.start_regcache()
        large = self.images["multi"].largest_blob()
        path = f"/v2/{self.images['multi'].repo}/blobs/{large.digest}"
        # A stream window of 64 KiB: the body needs the client's WINDOW_UPDATEs,
        # so the download is still open when SIGTERM comes.
        conn = h2raw.H2Connection.connect(ports.LOOPBACK, rc.port, window=65535)
        self.addCleanup(conn.close)
        sid = conn.request("GET", path, rc.host)
        conn.run_until(lambda: conn.streams[sid].length > 0)
        os.kill(rc.pid, signal.SIGTERM)
        conn.run_until(lambda: conn.streams[sid].ended or conn.streams[sid].reset is not None)
        stream = conn.streams[sid]
        self.assertEqual(conn.goaway, h2raw.NO_ERROR)
        self.assertIsNone(stream.reset)
        self.assertEqual(stream.length, large.size)
        self.assertEqual("sha256:" + stream.sha256.hexdigest(), large.digest)
        conn.run_until(lambda: False)
        self.assertTrue(conn.closed)

    def test_idle_connection_gets_goaway(self):
        rc = self.start_regcache(config={**upstream_config(self.registry), "server": {"idle_timeout": "1s"}})
        conn = h2raw.H2Connection.connect(ports.LOOPBACK, rc.port)
        self.addCleanup(conn.close)
        started = time.monotonic()
        conn.run_until(lambda: False)
        self.assertTrue(conn.closed)
        self.assertEqual(conn.goaway, h2raw.NO_ERROR)
        self.assertLess(time.monotonic() - started, 10)


class Http2DigestMismatchTests(unittest.TestCase):
    """An upstream whose blob bytes do not hash to the digest asked for."""

    def setUp(self):
        self.bytes = bytes(range(256)) * 4096  # 1 MiB
        self.digest = "sha256:" + hashlib.sha256(b"what the client asked for").hexdigest()
        body = self.bytes

        class Liar(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                if "/blobs/" in self.path:
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    # The last bytes come later: by then the response has
                    # begun, so the mismatch can only reset the stream (a
                    # blob decided before its head leaves is a plain 502).
                    self.wfile.write(body[:-65536])
                    self.wfile.flush()
                    time.sleep(0.3)
                    self.wfile.write(body[-65536:])
                else:
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((ports.LOOPBACK, 0), Liar)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        host = f"{ports.LOOPBACK}:{self.server.server_address[1]}"
        # A hashing pool whatever the machine's cores (auto has none on two):
        # the pipelined fill must hold back and reset just the same.
        self.rc = Regcache(config={"upstreams": [{"name": host, "url": f"http://{host}", "insecure_http": True}],
                                   "default_upstream": host, "server": {"hashing_threads": 2}})
        self.addCleanup(self.rc.close)
        self.rc.start()

    def test_the_stream_is_reset_with_internal_error_never_ended(self):
        conn = h2raw.H2Connection.connect(ports.LOOPBACK, self.rc.port)
        self.addCleanup(conn.close)
        sid = conn.request("GET", f"/v2/liar/blob/blobs/{self.digest}", self.rc.host)
        conn.run_until(lambda: conn.streams[sid].ended or conn.streams[sid].reset is not None)
        stream = conn.streams[sid]
        self.assertEqual(stream.reset, h2raw.INTERNAL_ERROR)
        self.assertFalse(stream.ended)
        self.assertLess(stream.length, len(self.bytes), "the last piece is held back")
        # The connection goes on: another request on it is answered.
        other = conn.request("GET", "/v2/", self.rc.host)
        conn.run_until(lambda: conn.streams[other].ended)
        self.assertTrue(conn.streams[other].ended)
        self.assertFalse(conn.closed)
        self.assertIn("aborted=true", self.rc.log_text())
