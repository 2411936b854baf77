"""The cache lifecycle on a real upstream, driven through the operator's CLI
(`regcache <command> --admin ...` against the running server's admin API):
quota eviction in LRU order with watermarks, min_age and pins; a download
that survives the eviction of its blob; prefetch; purge; fsck; offline-only
mode; kill -9 during a prefetch.

Images here are small single-platform OCI images (one ~2 MiB layer each) so a
quota of a few MiB holds only some of them.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_lifecycle
"""

import os
import subprocess

from support import fixtures, http as h
from support.fixtures import MiB
from support.relay import Relay

SMALL = [f"small{i}" for i in range(4)]


def small_layout(name):
    return fixtures.layout(name, seed=name, fmt="oci", multi_arch=False, shared_layers=[],
                           layers=[2 * MiB])



class LifecycleTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.small = {name: cls.upstream.push(small_layout(name), f"library/{name}", "v1") for name in SMALL}
        cls.registry.reset_log_marker()

    # -- helpers ---------------------------------------------------------------
    def start(self, storage=None, url=None, **upstream_extra):
        up = {"name": self.registry.host, "url": url or self.registry.url, "insecure_http": True}
        up.update(upstream_extra)
        config = {"upstreams": [up], "default_upstream": self.registry.host,
                  "storage": dict({"min_age": "0s", "eviction_interval": "1s"}, **(storage or {}))}
        return self.start_regcache(config=config)

    def ref(self, img, reference=None):
        return f"{self.registry.host}/{img.repo}:{img.tag}" if reference is None else \
            f"{self.registry.host}/{img.repo}@{reference}"

    def pull(self, rc, img, reference=None):
        self.assertPulls(rc.docker_ref(img.repo, reference or img.tag), img)

    def cached(self, rc, img):
        return [os.path.exists(rc.blob_file(b.digest)) for b in img.blobs]

    def fully_cached(self, rc, img):
        return all(self.cached(rc, img))

    def layers_evicted(self, rc, img):
        """Eviction goes blob by blob and stops at the low watermark, so an
        image's small config may stay; its layers are what must be gone."""
        return not any(os.path.exists(rc.blob_file(b.digest)) for b in img.layers)

    def usage(self, rc):
        return rc.cli_json("stats")["cached_bytes"]

    # -- quota -----------------------------------------------------------------
    def test_quota_evicts_least_recently_used_first_and_stops_at_the_low_watermark(self):
        imgs = [self.small[n] for n in SMALL[:3]]
        per_image = sum(b.size for b in imgs[0].blobs)
        quota = int(per_image * 3.2)
        # high 90%: three images exceed it; low 70%: evicting one is enough.
        rc = self.start(storage={"quota": quota, "high_watermark": "90%", "low_watermark": "70%"})
        self.pull(rc, imgs[0])
        rc.advance_clock(1.1)
        self.pull(rc, imgs[1])
        rc.advance_clock(1.1)
        self.pull(rc, imgs[0])  # used again: now imgs[1] is the least recently used
        rc.advance_clock(1.1)
        self.pull(rc, imgs[2])
        self.assertTrue(fixtures.wait_until(lambda: self.layers_evicted(rc, imgs[1]), timeout=10),
                        "the least recently used image goes first")
        self.assertTrue(self.fully_cached(rc, imgs[0]))
        self.assertTrue(self.fully_cached(rc, imgs[2]))
        usage = self.usage(rc)
        self.assertLessEqual(usage, quota * 0.70)
        self.assertGreater(usage, quota * 0.70 - per_image, "eviction stops once under the low watermark")
        self.assertGreaterEqual(rc.metric("regcache_evictions_total", kind="blob"), len(imgs[1].layers))
        self.assertEqual(rc.metric("regcache_quota_bytes"), quota)

        # An evicted image is simply fetched again.
        self.registry.reset_log_marker()
        self.pull(rc, imgs[1])
        refetched = {r.path.rsplit("/", 1)[1] for r in self.registry.requests(method="GET") if "/blobs/" in r.path}
        self.assertEqual(refetched & {b.digest for b in imgs[1].layers}, {b.digest for b in imgs[1].layers})

    def test_pinned_and_young_content_survive_gc_with_a_tiny_quota(self):
        pinned, other = self.small["small0"], self.small["small1"]
        rc = self.start(storage={"quota": "1KiB"})
        out = rc.cli("pin", self.ref(pinned)).stdout
        self.assertIn(pinned.repo, out)
        self.pull(rc, other)
        report = rc.cli_json("gc")
        self.assertTrue(self.fully_cached(rc, pinned), "a pinned image is never evicted")
        self.assertTrue(self.layers_evicted(rc, other))
        self.assertGreater(report["pinned_bytes_kept"], 0)
        self.assertEqual(rc.metric("regcache_pins"), 1)
        listing = rc.cli_json("ls")["images"]
        self.assertEqual([i["pinned"] for i in listing if i["repository"] == pinned.repo], [True])

        self.registry.reset_log_marker()
        self.pull(rc, pinned)
        self.assertEqual(self.registry.requests(method="GET"), [], "the pinned image is served from cache")

        rc.cli("unpin", self.ref(pinned))
        rc.cli_json("gc")
        self.assertTrue(self.layers_evicted(rc, pinned), "unpinned, it goes like the rest")

        young = self.start(storage={"quota": "1KiB", "min_age": "1h"})
        self.pull(young, other)
        report = young.cli_json("gc")
        self.assertTrue(self.fully_cached(young, other), "content used within min_age stays")
        self.assertGreater(report["young_bytes_kept"], 0)

    def test_a_download_in_progress_survives_the_eviction_of_its_blob(self):
        img = self.images["multi"]
        big = img.largest_blob()
        # The blob alone stays under the high watermark (no background pass);
        # a forced gc goes down to the low one, which it does not fit under.
        rc = self.start(storage={"quota": int(big.size * 1.5), "high_watermark": "90%", "low_watermark": "10%"})
        self.assertEqual(h.request(rc.blob_url(img.repo, big.digest), timeout=120)[0], 200)
        self.assertTrue(fixtures.wait_until(lambda: os.path.exists(rc.blob_file(big.digest)), timeout=10))
        with h.stream(rc.blob_url(img.repo, big.digest)) as resp:
            self.assertEqual(resp.status, 200)
            first = resp.read(1 * MiB)
            rc.cli_json("gc")
            self.assertFalse(os.path.exists(rc.blob_file(big.digest)), "gc removed the blob under the reader")
            rest = resp.read()
        self.assertBody(first + rest, big.digest)

    # -- prefetch --------------------------------------------------------------
    def test_prefetch_fills_the_cache_so_the_next_pull_fetches_nothing(self):
        img = self.images["multi"]
        rc = self.start()
        res = rc.cli("prefetch", self.ref(img), self.ref(self.small["small3"]))
        self.assertIn("done", res.stdout + res.stderr)
        for blob in img.blobs:
            self.assertTrue(os.path.exists(rc.blob_file(blob.digest)), blob.digest)
        self.assertEqual(rc.metric("regcache_prefetches_total", outcome="ok"), 2)
        self.assertGreaterEqual(rc.metric("regcache_prefetched_bytes_total"), sum(b.size for b in img.blobs))
        self.registry.reset_log_marker()
        upstream_bytes = rc.metric("regcache_upstream_bytes_total")
        self.pull(rc, img)
        self.pull(rc, self.small["small3"])
        self.assertEqual(rc.metric("regcache_upstream_bytes_total"), upstream_bytes,
                         "no blob byte is fetched after a prefetch")
        self.assertEqual([r for r in self.registry.requests(method="GET") if "/blobs/" in r.path], [])

    def test_prefetch_of_one_platform_fetches_only_its_blobs(self):
        img = self.images["multi"]
        rc = self.start()
        rc.cli("prefetch", "--platform", "linux/arm64", self.ref(img))
        arm = img.only_platform("arm64")
        amd_only = {b.digest for b in img.blobs} - {b.digest for b in arm.blobs}
        for blob in arm.blobs:
            self.assertTrue(os.path.exists(rc.blob_file(blob.digest)), blob.digest)
        for digest in amd_only:
            self.assertFalse(os.path.exists(rc.blob_file(digest)), digest)

    def test_kill9_during_prefetch_leaves_a_consistent_cache_and_prefetch_can_be_rerun(self):
        img = self.images["multi"]
        # A slowed upstream, so the kill lands while blobs are being written.
        slow = Relay(self.registry.port, delay=0.005).start()
        self.addCleanup(slow.stop)
        rc = self.start(url=slow.url)
        argv = [rc.binary or fixtures.regcache_bin(), "prefetch", self.ref(img),
                *[self.ref(self.small[n]) for n in SMALL], "--admin", rc.admin_url]
        cli = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(cli.kill)
        self.assertTrue(fixtures.wait_until(lambda: os.listdir(rc.tmp_dir), timeout=30, interval=0.02),
                        "a download is in progress")
        rc.kill9()
        cli.wait(timeout=30)
        rc.restart()
        # Every blob file is whole and verified; nothing partial is served.
        report = rc.cli_json("fsck")
        self.assertTrue(report.get("clean"), report)
        self.assertEqual(os.listdir(rc.tmp_dir), [])
        rc.cli("prefetch", self.ref(img), *[self.ref(self.small[n]) for n in SMALL])
        self.pull(rc, img)
        for name in SMALL:
            self.assertTrue(self.fully_cached(rc, self.small[name]), name)

    # -- purge and fsck --------------------------------------------------------
    def test_purge_removes_an_image_but_not_what_others_use(self):
        img = self.images["multi"]
        rc = self.start()
        self.pull(rc, img)
        self.pull(rc, self.small["small2"])
        rc.cli("purge", self.ref(img))
        self.assertFalse(any(self.cached(rc, img)), "purge removes every blob of the image")
        self.assertTrue(self.fully_cached(rc, self.small["small2"]))
        self.registry.reset_log_marker()
        self.pull(rc, img)
        self.assertTrue(self.registry.requests(path_contains="/manifests/"),
                        "a purged tag is not served from memory: the next pull asks the upstream")
        self.assertTrue(self.fully_cached(rc, img))

    def test_fsck_removes_a_corrupt_blob_and_the_next_pull_refetches_it(self):
        img = self.small["small1"]
        layer = img.layers[0]
        rc = self.start()
        self.pull(rc, img)
        path = rc.blob_file(layer.digest)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0xFF]))
        rc.stop()
        res = subprocess.run([rc.binary or fixtures.regcache_bin(), "fsck", "--data", rc.data_dir, "--json"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn(layer.digest, res.stdout)
        self.assertFalse(os.path.exists(path), "fsck removed the corrupt file")
        rc.start()
        self.registry.reset_log_marker()
        self.pull(rc, img)
        self.assertEqual(len(self.registry.blob_gets(layer.digest)), 1, "the next pull refetches it")

    # -- offline ---------------------------------------------------------------
    def test_offline_only_mode_serves_the_cache_and_never_connects(self):
        img = self.small["small0"]
        warm = self.start()
        self.pull(warm, img)
        warm.stop()
        offline = fixtures.Regcache(config=None, workdir=warm.workdir, upstream_url=self.registry.url,
                                    extra_args=["--offline"])
        self.addCleanup(offline.close)
        self.registry.reset_log_marker()
        offline.start()
        self.pull(offline, img)
        self.pull(offline, img, img.top_digest)
        other = self.small["small3"]
        status, _, body = h.request(offline.manifest_url(other.repo, other.tag))
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertIn("offline", body.decode())
        self.assertEqual(self.registry.requests(), [], "offline mode makes no upstream request at all")
