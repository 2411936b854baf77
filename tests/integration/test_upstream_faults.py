"""Upstreams that break: transfers cut mid-blob, resumed or failed cleanly.

A fault-injecting relay (support/relay.py) sits between regcache and the real
docker-registry upstream.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_faults
"""

import http.client
import os
import time

from support import fixtures
from support import http as h
from support.fixtures import MiB
from support.relay import Relay


class BrokenTransferTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def start_behind_relay(self, **relay_options):
        relay = Relay(self.registry.port, **relay_options).start()
        self.addCleanup(relay.stop)
        return relay, self.start_regcache(upstream_url=relay.url)

    def test_a_transfer_cut_mid_blob_is_resumed_and_every_client_verifies(self):
        img = self.images["multi"]
        big = img.largest_blob()
        relay, rc = self.start_behind_relay(cut_after=8 * MiB, cut_connections=1)
        results = fixtures.get_concurrently([(rc.blob_url(img.repo, big.digest), {})] * 4)
        for status, _, n, sha, error in results:
            self.assertIsNone(error)
            self.assertEqual(status, 200)
            self.assertEqual(n, big.size)
            self.assertEqual("sha256:" + sha, big.digest)
        self.assertEqual(relay.cut, 1, "the relay must really have cut the transfer")
        self.assertIn("resumed upstream transfer", rc.log_text())
        self.assertEqual(len(self.registry.blob_gets(big.digest)), 2, "one GET, then one ranged GET")
        status, _, body = h.request(rc.blob_url(img.repo, big.digest), timeout=120)
        self.assertBody(body, big.digest)
        self.assertTrue(os.path.exists(rc.blob_file(big.digest)), "the resumed blob is cached")

    def test_a_transfer_cut_every_time_fails_cleanly_and_caches_nothing(self):
        img = self.images["multi"]
        big = img.largest_blob()
        relay, rc = self.start_behind_relay(cut_after=8 * MiB)
        resp = h.stream(rc.blob_url(img.repo, big.digest), timeout=60)
        self.assertEqual(resp.status, 200)
        with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
            resp.read()
        resp.close()
        self.assertGreaterEqual(relay.cut, 2, "the first transfer and every resume were cut")
        self.assertFalse(os.path.exists(rc.blob_file(big.digest)), "nothing partial is cached")
        self.assertEqual(os.listdir(rc.tmp_dir), [])
        self.assertIn("fill failed", rc.log_text())


class StalledUpstreamTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt",)

    def test_an_upstream_slower_than_read_timeout_gets_a_clear_error_in_time(self):
        img = self.images["alt"]
        relay = Relay(self.registry.port, delay=5.0).start()
        self.addCleanup(relay.stop)
        upstream = {"name": self.registry.host, "url": relay.url, "insecure_http": True, "read_timeout": "1s"}
        rc = self.start_regcache(config={"upstreams": [upstream], "default_upstream": self.registry.host})
        started = time.monotonic()
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag), timeout=30)
        took = time.monotonic() - started
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertLess(took, 4.0, "a stalled upstream must not hold the client past its read_timeout")
        self.assertIn("did not answer in time", rc.log_text())


class SlowUpstreamTests(fixtures.RegcacheTestCase):
    """Fills are bounded: a download below upstreams[].min_transfer_rate is
    aborted, and a client reading a download that stopped making progress is
    cut after server.write_timeout."""

    IMAGES = ("multi",)
    FAST_BYTES = 1 * MiB  # what the relay passes at full speed before it slows down

    def start_behind_trickle(self, server=None, **upstream_options):
        relay = Relay(self.registry.port, trickle_after=self.FAST_BYTES, **upstream_options.pop("relay")).start()
        self.addCleanup(relay.stop)
        upstream = {"name": self.registry.host, "url": relay.url, "insecure_http": True, **upstream_options}
        config = {"upstreams": [upstream], "default_upstream": self.registry.host}
        if server:
            config["server"] = server
        return self.start_regcache(config=config)

    def read_until_cut(self, url):
        """GETs url to the end of what it gets; returns (status, body bytes
        received, Content-Length, seconds it took)."""
        started = time.monotonic()
        with h.stream(url, timeout=60) as resp:
            received = 0
            try:
                while chunk := resp.read(1 << 16):  # b"" at a cut, where read() would raise
                    received += len(chunk)
            except (http.client.IncompleteRead, ConnectionError):
                pass
            return resp.status, received, int(resp.headers["content-length"]), time.monotonic() - started

    def test_a_fill_below_min_transfer_rate_is_aborted_and_every_client_cut(self):
        img = self.images["multi"]
        big = img.largest_blob()
        # About 1 KB/s, far below 64 KiB/s, yet a piece every 0.1 s: no read timeout ever trips.
        rc = self.start_behind_trickle(relay={"trickle_bytes": 100, "trickle_interval": 0.1},
                                       min_transfer_rate="64KiB", min_transfer_window="2s")
        url = rc.blob_url(img.repo, big.digest)
        results = fixtures.get_concurrently([(url, {})] * 2, timeout=60)
        for status, _, size, _, error in results:
            self.assertIsNone(error)
            self.assertEqual(status, 200)
            self.assertLess(size, big.size, "a client of an aborted fill must be cut")
        status, received, length, took = self.read_until_cut(url)
        self.assertEqual((status, length), (200, big.size))
        self.assertLess(received, big.size)
        self.assertLess(took, 15, "aborted about one window after the trickle began")
        self.assertIn("slower than its min_transfer_rate", rc.log_text())
        self.assertFalse(os.path.exists(rc.blob_file(big.digest)), "nothing is cached")
        self.assertEqual(os.listdir(rc.tmp_dir), [])
        self.assertTrue(rc.running())

    def test_a_client_reading_a_stalled_fill_is_cut_after_write_timeout(self):
        img = self.images["multi"]
        big = img.largest_blob()
        rc = self.start_behind_trickle(relay={"trickle_bytes": 0}, server={"write_timeout": "2s"},
                                       min_transfer_rate=0, read_timeout="60s")
        status, received, length, took = self.read_until_cut(rc.blob_url(img.repo, big.digest))
        self.assertEqual((status, length), (200, big.size))
        self.assertGreater(received, 0, "what was servable before the stall was sent")
        self.assertLess(received, self.FAST_BYTES)
        self.assertGreaterEqual(took, 2)
        self.assertLess(took, 10, "cut about server.write_timeout after the last new byte")
        self.assertIn("giving up on this reader", rc.log_text())
        self.assertTrue(rc.running())
