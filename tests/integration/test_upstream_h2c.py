"""regcache's upstream client over HTTP/2 cleartext (upstreams[].h2c): a
node regcache pulling through a tier regcache's plain listener, as in a
node -> cluster deployment.

    docker-registry <- tier regcache (plain listener, h2c server) <- node regcache (h2c: true) <- skopeo

The pull verifies, the tier's access log shows HTTP/2 for every request of
the node, and one TCP connection carried them all. A tier killed (SIGKILL)
in the middle of a blob and restarted leaves the node's client with a
truncated body or the whole verified blob, never complete wrong bytes, and
the node pulls the image once the tier is back.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_h2c
"""

import os
import subprocess
import threading

from support import fixtures
from support import http as h
from support.images import MiB
from support.regcache import upstream_config
from support.relay import Relay


def established_connections(pid, port):
    """The TCP connections process `pid` holds open to loopback port `port` (ss lines)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"pid={pid}," in line]


def temp_bytes(rc):
    """Bytes of the downloads in progress in `rc`'s tmp/."""
    try:
        names = os.listdir(rc.tmp_dir)
    except FileNotFoundError:
        return 0
    total = 0
    for name in names:
        try:
            total += os.path.getsize(os.path.join(rc.tmp_dir, name))
        except FileNotFoundError:
            pass
    return total


class UpstreamH2cTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi", "docker")

    def start_tier(self, upstream_url):
        return self.start_regcache(config=upstream_config(self.registry, url=upstream_url))

    def start_node(self, tier):
        return self.start_regcache(reset_log_marker=False, config=upstream_config(
            self.registry, url=tier.url, send_ns=True, h2c=True))

    def node_requests_at(self, tier):
        """The tier's access-log lines of requests the node sent (they carry its ?ns=)."""
        return [line for line in tier.log_text().splitlines()
                if "request id=" in line and f"ns={self.registry.host}" in line.replace("%3A", ":")]

    def test_a_pull_through_the_tier_goes_over_one_http2_connection(self):
        tier = self.start_tier(self.registry.url)
        node = self.start_node(tier)
        img = self.images["docker"]
        self.assertPulls(node.docker_ref(img.repo, img.tag), img)

        lines = self.node_requests_at(tier)
        self.assertGreaterEqual(len(lines), 1 + len(img.blobs), "the manifest and every blob came from the tier")
        for line in lines:
            self.assertIn("proto=HTTP/2", line)
        self.assertEqual(len(established_connections(node.pid, tier.port)), 1,
                         "one connection carried every request of the pull")
        self.assertIn("HTTP/2 cleartext (h2c)", node.log_text())

    def test_a_tier_killed_mid_blob_never_makes_the_node_serve_wrong_bytes(self):
        # The relay slows the tier's own download, so the kill lands mid-blob.
        relay = Relay(self.registry.port, delay=0.01).start()
        self.addCleanup(relay.stop)
        tier = self.start_tier(relay.url)
        node = self.start_node(tier)
        img = self.images["multi"]
        big = img.largest_blob()

        got = {}

        def fetch():
            try:
                with h.stream(node.blob_url(img.repo, big.digest), timeout=120) as s:
                    got["status"] = s.status
                    got["bytes"], sha = s.drain_hash()
                    got["digest"] = "sha256:" + sha.hexdigest()
            except Exception as e:  # noqa: BLE001 - a cut body is one of the allowed outcomes
                got["error"] = e

        reader = threading.Thread(target=fetch, daemon=True)
        reader.start()
        self.assertTrue(fixtures.wait_until(lambda: temp_bytes(node) > 8 * MiB, timeout=60),
                        "the node never started receiving the blob")
        tier.kill9()
        relay.delay = 0
        tier.restart()
        reader.join(150)
        self.assertFalse(reader.is_alive(), "the node's client was left hanging")

        if got.get("bytes") == big.size:
            self.assertEqual(got["digest"], big.digest, "a complete body must be the right one")
        else:
            self.assertLess(got.get("bytes", 0), big.size, f"neither complete nor cut: {got}")
        # The tier is back: the whole image pulls through the node and verifies.
        self.assertPulls(node.docker_ref(img.repo, img.tag), img)
