"""The server's edges: wrong upstream bytes, an unreachable upstream, limits,
malformed input on the wire, and graceful shutdown with a download in flight.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_server_edges
"""

import http.client
import os
import shutil
import signal
import socket
import time

from support import fixtures, ports
from support import http as h
from support.fixtures import KiB, MiB


class UpstreamFaultTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def test_wrong_upstream_bytes_are_cut_off_counted_and_never_cached(self):
        img = self.images["multi"]
        # A fill holds the last piece of the upstream's body back until the
        # digest matched. When the whole body came before the response began
        # (a small blob), the client gets a clear 502; once bytes have left,
        # the body is cut off. Never a complete wrong body.
        small = next(b for b in img.layers if b.size <= 512 * KiB)
        large = next(b for b in img.layers if 2 * MiB <= b.size <= 4 * MiB)
        for blob in (small, large):
            self.registry.corrupt_blob(blob.digest, offset=blob.size // 2)
        try:
            rc = self.start_regcache()
            for attempt in (1, 2):
                for blob in (small, large):
                    resp = h.stream(rc.blob_url(img.repo, blob.digest))
                    if resp.status == 502 and blob is small:
                        body = resp.read()
                        self.assertOciError(resp.status, body, 502, "DIGEST_INVALID")
                        self.assertIn("does not match the digest; nothing was cached", body.decode())
                    else:
                        self.assertEqual(resp.status, 200, f"attempt {attempt}, {blob.size} bytes")
                        self.assertEqual(int(resp.headers["content-length"]), blob.size)
                        with self.assertRaises((http.client.IncompleteRead, ConnectionError),
                                               msg=f"attempt {attempt}: a wrong body must be cut off, never completed"):
                            resp.read()
                    resp.close()
            self.assertEqual(rc.metric("regcache_digest_mismatches_total"), 4)
            for blob in (small, large):
                self.assertFalse(os.path.exists(rc.blob_file(blob.digest)), "a wrong blob must not be cached")
            self.assertEqual(os.listdir(rc.tmp_dir), [], "the temp file of a failed fill must be removed")
            self.assertIn("do not match digest", rc.log_text())
        finally:
            for blob in (small, large):
                self.registry.corrupt_blob(blob.digest, offset=blob.size // 2)  # flip it back

    def test_unreachable_upstream_fails_fast_with_a_clear_error(self):
        dead = f"http://127.0.0.1:{ports.free_port()}"
        rc = self.start_regcache(upstream_url=dead)
        started = time.monotonic()
        status, headers, body = h.request(rc.manifest_url("library/nothing", "v1"))
        took = time.monotonic() - started
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertIn("cannot be reached", body.decode())
        self.assertIn("127.0.0.1", body.decode(), "the message names the upstream")
        self.assertIn("retry-after", headers)
        self.assertLess(took, 3.0, "a refused connection must not hang the client")


class ManifestFlightTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def test_concurrent_cold_manifest_requests_share_one_upstream_exchange(self):
        img = self.images["multi"]
        rc = self.start_regcache()
        headers = {"Accept": "application/vnd.oci.image.index.v1+json"}
        by_tag = fixtures.get_concurrently([(rc.manifest_url(img.repo, img.tag), headers)] * 16)
        for status, _, _, sha, error in by_tag:
            self.assertIsNone(error)
            self.assertEqual(status, 200)
            self.assertEqual("sha256:" + sha, img.index_digest)
        child = img.manifest_for("arm64")
        by_digest = fixtures.get_concurrently(
            [(rc.manifest_url(img.repo, child.digest), {"Accept": child.media_type})] * 16)
        for status, _, _, sha, error in by_digest:
            self.assertIsNone(error)
            self.assertEqual(status, 200)
            self.assertEqual("sha256:" + sha, child.digest)
        upstream = self.registry.requests(path_contains="/manifests/")
        # One GET for the tag (a cold tag needs no HEAD first), one for the child.
        self.assertEqual(sorted(f"{r.method} {r.path.rsplit('/', 1)[1]}" for r in upstream),
                         sorted([f"GET {img.tag}", f"GET {child.digest}"]))


def seconds_until_closed(sock):
    """Reads until the peer closes; returns how long that took."""
    started = time.monotonic()
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


class WireTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def test_oversized_request_head_gets_431(self):
        rc = self.start_regcache()
        status, _, _ = h.raw_request(rc.url + "/v2/", headers={"X-Big": "a" * 64 * 1024})
        self.assertEqual(status, 431)
        # The server is still fine afterwards.
        self.assertEqual(h.request(rc.url + "/v2/")[0], 200)

    def test_tls_client_hello_on_the_plain_port_is_refused_quickly(self):
        rc = self.start_regcache()
        with socket.create_connection(("127.0.0.1", rc.port), timeout=5) as s:
            s.sendall(bytes.fromhex("160301020001") + os.urandom(64))
            started = time.monotonic()
            data = s.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:80])
            self.assertLess(time.monotonic() - started, 2.0)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        conn = http.client.HTTPConnection("127.0.0.1", rc.port, timeout=30)
        try:
            for _ in range(3):
                conn.request("GET", f"/v2/{img.repo}/manifests/{img.tag}",
                             headers={"Accept": "application/vnd.oci.image.index.v1+json"})
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 200)
                self.assertBody(body, img.index_digest)
            sock_before = conn.sock
            conn.request("HEAD", "/v2/")
            conn.getresponse().read()
            self.assertIs(conn.sock, sock_before, "the connection must have been kept alive")
        finally:
            conn.close()

    def test_clients_hanging_up_mid_body_do_not_hurt_the_server(self):
        img = self.images["multi"]
        big = img.largest_blob()
        rc = self.start_regcache()
        status, _, body = h.request(rc.blob_url(img.repo, big.digest), timeout=120)
        self.assertBody(body, big.digest)
        for _ in range(5):  # cached: sendfile into a socket the client closes
            resp = h.stream(rc.blob_url(img.repo, big.digest))
            resp.read(256 * 1024)
            resp.close()
        time.sleep(0.3)
        self.assertTrue(rc.running(), rc.log_tail())
        status, _, body = h.request(rc.blob_url(img.repo, big.digest), timeout=120)
        self.assertBody(body, big.digest)

    def test_idle_and_header_timeouts_close_slow_clients(self):
        config = {"server": {"idle_timeout": "1s", "header_timeout": "2s"}}
        rc = self.start_regcache(config=config, upstream_url=self.registry.url)

        with socket.create_connection(("127.0.0.1", rc.port), timeout=5) as idle:
            took = seconds_until_closed(idle)
            self.assertGreater(took, 0.7)
            self.assertLess(took, 2.5, "an idle connection ends after server.idle_timeout")
        with socket.create_connection(("127.0.0.1", rc.port), timeout=5) as slow:
            slow.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")  # the head never ends
            took = seconds_until_closed(slow)
            self.assertGreater(took, 1.5, "a started head gets server.header_timeout, not the idle timeout")
            self.assertLess(took, 3.5)

    def test_header_timeout_is_a_total_for_the_head_not_per_byte(self):
        rc = self.start_regcache(config={"server": {"header_timeout": "2s"}}, upstream_url=self.registry.url)
        head = b"GET /v2/ HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"s" * 200 + b"\r\n\r\n"
        with socket.create_connection(("127.0.0.1", rc.port), timeout=5) as trickle:
            started = time.monotonic()
            sent = 0
            try:
                # A byte every 0.2 s: each far inside any per-read timeout, the
                # whole head (~240 bytes) would take 48 s.
                while sent < len(head):
                    trickle.sendall(head[sent:sent + 1])
                    sent += 1
                    time.sleep(0.2)
                    if time.monotonic() - started > 10:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            seconds_until_closed(trickle)
            cut_after = time.monotonic() - started
            self.assertLess(sent, len(head), "the trickled head must not be served")
            self.assertGreater(cut_after, 1.5)
            self.assertLess(cut_after, 4.0, f"cut {cut_after:.1f} s after the first byte; header_timeout is 2 s")
        status, _, _ = h.request(rc.v2())
        self.assertEqual(status, 200, "the server still answers others")

    def test_max_connections_is_enforced(self):
        config = {"server": {"max_connections": 2}}
        rc = self.start_regcache(config=config, upstream_url=self.registry.url)
        time.sleep(0.3)  # the readiness probe's connection must have ended first
        held = [socket.create_connection(("127.0.0.1", rc.port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", rc.port), timeout=5) as third:
                try:
                    third.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = third.recv(100)
                except ConnectionResetError:
                    answer = b""
                self.assertEqual(answer, b"", "the connection above the cap must be closed")
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assertEqual(h.request(rc.url + "/v2/")[0], 200, "capacity returns once connections close")
        self.assertIn("server.max_connections", rc.log_text())


class ShutdownTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def test_readiness_follows_whether_the_cache_directory_takes_files(self):
        rc = self.start_regcache()
        self.assertEqual(h.request(rc.url + "/readyz")[0], 200)
        shutil.rmtree(rc.tmp_dir)
        self.assertTrue(fixtures.wait_until(lambda: h.request(rc.url + "/readyz")[0] == 503, timeout=6),
                        "a cache directory that cannot take downloads makes regcache unready")
        self.assertEqual(h.request(rc.url + "/healthz")[0], 200, "liveness does not depend on the disk")
        self.assertIn("not writable", rc.log_text())
        os.makedirs(rc.tmp_dir)
        self.assertTrue(fixtures.wait_until(lambda: h.request(rc.url + "/readyz")[0] == 200, timeout=6))

    def test_sigterm_turns_readiness_off_and_lets_an_in_flight_download_finish(self):
        img = self.images["multi"]
        big = img.largest_blob()
        rc = self.start_regcache()
        self.assertEqual(h.request(rc.url + "/readyz")[0], 200)
        resp = h.stream(rc.blob_url(img.repo, big.digest))
        self.assertEqual(resp.status, 200)
        first = resp.read(1 * MiB)
        os.kill(rc.pid, signal.SIGTERM)
        time.sleep(0.3)
        status, _, body = h.request(rc.url + "/readyz", timeout=2)
        self.assertEqual((status, body), (503, b"not ready\n"), "readiness turns false at once")
        self.assertEqual(h.request(rc.url + "/healthz", timeout=2)[0], 200, "alive while draining")
        status, headers, _ = h.request(rc.url + "/v2/", timeout=2)
        self.assertEqual(status, 200, "requests arriving before the pod leaves the Service are still answered")
        self.assertEqual(headers.get("connection"), "close", "but their connections are not kept")
        rest = resp.read()
        self.assertBody(first + rest, big.digest)
        code = rc.proc.popen.wait(timeout=20)
        self.assertEqual(code, 0, rc.log_tail())
        self.assertIn("draining", rc.log_text())
