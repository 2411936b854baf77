"""One regcache in front of several registries: routing by containerd's ?ns=,
by a registry host as the first path component, and by the default upstream
(Docker Hub short names get library/); content shared by digest across
registries while tags stay per registry; a clear error and no connection for
an unconfigured registry; tiered caches (node -> cluster); an upstream that
rate-limits (429); and the per-upstream connection limit.

Two real registries: `self.registry` (A, from the fixture) and B, started per
class. B holds library/docker-single:v1 byte for byte as A does (every blob
shared) and, under library/alt:v1, different content from A's library/alt:v1.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_multi_upstream
"""

import os
import socket

from support import fixtures, images
from support import http as h
from support.front import Front

ACCEPT = ", ".join(images.INDEX_TYPES + images.MANIFEST_TYPES)


def alias(registry):
    """A port-less name for `registry`: image references cannot carry a
    host:port as a path component, so skopeo names it by this alias."""
    return f"registry-{registry.port}.test"


def upstream(registry, url=None, **extra):
    """A config entry for `registry` (name = its host:port), reached at `url`."""
    entry = {"name": registry.host, "aliases": [alias(registry)], "url": url or registry.url,
             "insecure_http": True}
    entry.update(extra)
    return entry


class MultiUpstreamTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt", "docker")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = fixtures.SeededUpstream(["docker"])
        cls.addClassCleanup(cls.other.stop)
        cls.other.start()
        cls.registry_b = cls.other.registry
        # Same repository and tag as A's library/alt:v1, other content.
        cls.alt_on_b = cls.other.push(fixtures.standard_layout("docker"), "library/alt", "v1")
        cls.registry_b.reset_log_marker()

    def start_two_upstream_regcache(self, **extra):
        self.registry_b.reset_log_marker()
        config = {"upstreams": [upstream(self.registry), upstream(self.registry_b)],
                  "default_upstream": self.registry.host}
        config.update(extra)
        return self.start_regcache(config=config)

    def manifest_digest(self, url):
        status, headers, body = h.request(url, headers={"Accept": ACCEPT})
        self.assertEqual(status, 200, f"{url}: {body[:300]!r}")
        return headers["docker-content-digest"]

    def test_ns_and_path_prefix_pick_the_registry_and_tags_stay_per_registry(self):
        rc = self.start_two_upstream_regcache()
        alt_a, alt_b = self.images["alt"], self.alt_on_b
        self.assertNotEqual(alt_a.top_digest, alt_b.top_digest)
        path = "/v2/library/alt/manifests/v1"
        self.assertEqual(self.manifest_digest(f"{rc.url}{path}?ns={self.registry.host}"), alt_a.top_digest)
        self.assertEqual(self.manifest_digest(f"{rc.url}{path}?ns={self.registry_b.host}"), alt_b.top_digest)
        self.assertEqual(self.manifest_digest(rc.manifest_url(f"{self.registry_b.host}/library/alt", "v1")),
                         alt_b.top_digest)
        self.assertEqual(self.manifest_digest(rc.manifest_url("library/alt", "v1")), alt_a.top_digest,
                         "without ns or prefix the default upstream answers")
        self.assertPulls(rc.docker_ref(f"{alias(self.registry_b)}/library/alt", "v1"), alt_b)
        self.assertPulls(rc.docker_ref("library/alt", "v1"), alt_a)

    def test_a_layer_in_both_registries_is_fetched_and_stored_once(self):
        rc = self.start_two_upstream_regcache()
        img = self.images["docker"]
        self.assertPulls(rc.docker_ref("library/docker-single", "v1"), img)
        self.registry_b.reset_log_marker()
        self.assertPulls(rc.docker_ref(f"{alias(self.registry_b)}/library/docker-single", "v1"), img)
        blob_gets = [r for r in self.registry_b.requests(method="GET") if "/blobs/" in r.path]
        self.assertEqual(blob_gets, [], "B's copies of blobs cached from A are not fetched again")
        manifest_gets = self.registry_b.requests(path_contains="/manifests/")
        self.assertGreater(len(manifest_gets), 0, "the tag is resolved at B, the registry asked for")
        for blob in img.blobs:
            self.assertTrue(os.path.exists(rc.blob_file(blob.digest)), blob.digest)
        self.assertEqual(rc.metric("regcache_cached_bytes"), sum(b.size for b in img.blobs),
                         "each blob is stored once")

    def test_an_unconfigured_registry_gets_a_clear_error_and_no_connection(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        self.addCleanup(listener.close)
        stranger = f"127.0.0.1:{listener.getsockname()[1]}"
        rc = self.start_two_upstream_regcache()
        for url in (f"{rc.url}/v2/library/alt/manifests/v1?ns={stranger}",
                    rc.manifest_url(f"{stranger}/library/alt", "v1"),
                    rc.manifest_url("ghcr.io/owner/app", "v1")):
            status, _, body = h.request(url)
            self.assertOciError(status, body, 404, "NAME_UNKNOWN", url)
            self.assertIn("upstreams", body.decode(), "the error names the config key to add")
            self.assertTrue(stranger in body.decode() or "ghcr.io" in body.decode(), body)
        with self.assertRaises(BlockingIOError, msg="regcache must not connect to an unconfigured registry"):
            listener.accept()

    def test_docker_hub_short_names_map_to_library(self):
        hub = upstream(self.registry, name="docker.io", aliases=["index.docker.io", "registry-1.docker.io"])
        rc = self.start_regcache(config={"upstreams": [hub], "default_upstream": "docker.io"})
        img = self.images["alt"]
        self.assertPulls(rc.docker_ref("alt", "v1"), img)
        for url in (rc.manifest_url("docker.io/alt", "v1"),
                    rc.manifest_url("index.docker.io/library/alt", "v1"),
                    f"{rc.url}/v2/alt/manifests/v1?ns=docker.io"):
            self.assertEqual(self.manifest_digest(url), img.top_digest, url)
        asked = self.registry.requests(path_contains="/manifests/")
        self.assertTrue(asked)
        for r in asked:
            self.assertTrue(r.path.startswith("/v2/library/alt/manifests/"), r.path)

    def test_tiered_node_cache_reaches_every_registry_through_the_cluster_cache(self):
        cluster = self.start_two_upstream_regcache()
        node = self.start_regcache(reset_log_marker=False, config={
            "upstreams": [upstream(self.registry, cluster.url, send_ns=True),
                          upstream(self.registry_b, cluster.url, send_ns=True)],
            "default_upstream": self.registry.host})
        self.assertPulls(node.docker_ref(f"{alias(self.registry_b)}/library/alt", "v1"), self.alt_on_b)
        self.assertPulls(node.docker_ref("library/alt", "v1"), self.images["alt"])
        log = cluster.log_text()
        self.assertIn(f"ns={self.registry_b.host}", log.replace("%3A", ":"))
        self.assertIn(f"ns={self.registry.host}", log.replace("%3A", ":"))

        # A second node: everything from the cluster cache, nothing from the registries.
        self.registry.reset_log_marker()
        self.registry_b.reset_log_marker()
        second = self.start_regcache(reset_log_marker=False, config={
            "upstreams": [upstream(self.registry_b, cluster.url, send_ns=True)],
            "default_upstream": self.registry_b.host})
        self.assertPulls(second.docker_ref("library/alt", "v1"), self.alt_on_b)
        self.assertEqual(self.registry_b.requests(method="GET"), [])
        self.assertEqual(self.registry.requests(method="GET"), [])

    def test_rate_limited_upstream_cached_content_served_uncached_gets_503_with_retry_after(self):
        front = Front(self.registry.url, quota=(100, 42)).start()
        self.addCleanup(front.stop)
        rc = self.start_regcache(config={"upstreams": [upstream(self.registry, front.url, tag_ttl="1s")],
                                         "default_upstream": self.registry.host})
        img = self.images["alt"]
        self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
        labels = {"upstream": self.registry.host}
        self.assertEqual(rc.metric("regcache_upstream_ratelimit_limit", **labels), 100)
        self.assertEqual(rc.metric("regcache_upstream_ratelimit_remaining", **labels), 42)
        self.assertEqual(rc.metric("regcache_upstream_ratelimit_window_seconds", **labels), Front.QUOTA_WINDOW)

        front.rate_limited = True
        rc.advance_clock(1.5)  # past tag_ttl: revalidation meets the 429
        self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
        self.assertPulls(rc.docker_ref(img.repo, img.top_digest), img)
        self.assertGreater(rc.metric("regcache_cache_requests_total", outcome="stale"), 0)

        other = self.images["docker"]
        status, headers, body = h.request(rc.manifest_url(other.repo, other.tag))
        self.assertOciError(status, body, 503, "TOOMANYREQUESTS")
        self.assertIn("retry-after", headers)
        self.assertIn("rate limiting", body.decode())
        self.assertEqual(rc.metric("regcache_upstream_ratelimit_remaining", **labels), 0)
        self.assertIn("rate-limits regcache (429)", rc.log_text())

    def test_max_connections_bounds_concurrent_upstream_requests(self):
        front = Front(self.registry.url).start()
        self.addCleanup(front.stop)
        rc = self.start_regcache(config={
            "upstreams": [upstream(self.registry, front.url, max_connections=1)],
            "default_upstream": self.registry.host})
        blobs = [b for name in ("alt", "docker") for b in self.images[name].blobs]
        results = fixtures.get_concurrently(
            [(rc.blob_url(self.images["docker"].repo if b in self.images["docker"].blobs
                          else self.images["alt"].repo, b.digest), {}) for b in blobs])
        for blob, (status, _, size, sha, error) in zip(blobs, results):
            self.assertIsNone(error)
            self.assertEqual(status, 200)
            self.assertEqual("sha256:" + sha, blob.digest)
        self.assertEqual(front.peak_in_flight, 1, "max_connections: 1 allows one upstream request at a time")
