"""storage.min_free on a disk other files fill too (kubelet's
imagefs.available threshold): a quota given as a share of the filesystem
counts the whole disk, so on a disk already half full of other files only
min_free keeps the cache from taking its last room. Pulling more than fits
makes eviction keep the free space above min_free, which it must never drop
below, while every pull still verifies.

The disk is a small tmpfs the test mounts (it runs as root in CI); where
mounting is not allowed the test is skipped with the reason (and fails when
CI=true, support/skips.py).

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_min_free
"""

import os
import threading

from support import fixtures, skips, tmpfs
from support.fixtures import MiB

TMPFS_MIB = 64
OTHER_FILES_MIB = 30          # what the disk holds besides the cache
MIN_FREE_SHARE = 0.25         # storage.min_free: 16 MiB of the 64
IMAGES = [f"filler{i}" for i in range(12)]  # 2 MiB layer each: 24 MiB, more than the room above min_free


def filler_layout(name):
    return fixtures.layout(name, seed=name, fmt="oci", multi_arch=False, shared_layers=[], layers=[2 * MiB])


class FreeSpaceSampler(threading.Thread):
    """Reads the filesystem's free space every few milliseconds and keeps the lowest."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lowest = tmpfs.available(path)
        self.samples = 0
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.wait(0.005):
            self.lowest = min(self.lowest, tmpfs.available(self.path))
            self.samples += 1

    def stop(self):
        self._stopping.set()
        self.join()


class MinFreeTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fillers = [cls.upstream.push(filler_layout(name), f"library/{name}", "v1") for name in IMAGES]
        cls.registry.reset_log_marker()

    def setUp(self):
        self.disk = tmpfs.mount(TMPFS_MIB)
        if self.disk is None:
            skips.cannot_run(self, "a tmpfs mount", "needs root or CAP_SYS_ADMIN")
        self.addCleanup(tmpfs.unmount, self.disk)
        with open(os.path.join(self.disk, "other-files"), "wb") as f:
            f.write(os.urandom(OTHER_FILES_MIB * MiB))

    def test_eviction_keeps_free_space_above_min_free_and_pulls_still_verify(self):
        config = {"upstreams": [{"name": self.registry.host, "url": self.registry.url, "insecure_http": True}],
                  "default_upstream": self.registry.host,
                  # The default quota, 80% of the disk: on its own it would let
                  # the cache take all the room the other files left.
                  "storage": {"quota": "80%", "min_free": f"{int(MIN_FREE_SHARE * 100)}%",
                              "min_age": "0s", "eviction_interval": "1s"}}
        rc = self.start_regcache(config=config, workdir=self.disk)
        min_free = int(os.statvfs(self.disk).f_blocks * os.statvfs(self.disk).f_frsize * MIN_FREE_SHARE)
        room = tmpfs.available(self.disk) - min_free
        self.assertLess(room, sum(b.size for img in self.fillers for b in img.blobs),
                        "the images must not fit above min_free, or nothing is tested")
        self.assertGreater(room, 4 * MiB, "an image must fit")

        sampler = FreeSpaceSampler(self.disk)
        sampler.start()
        try:
            for img in self.fillers:
                self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
                self.assertGreaterEqual(tmpfs.available(self.disk), min_free, f"after pulling {img.repo}")
        finally:
            sampler.stop()

        self.assertGreater(sampler.samples, 100)
        self.assertGreaterEqual(sampler.lowest, min_free,
                                f"free space dropped to {sampler.lowest} bytes, below min_free {min_free}")
        self.assertGreater(rc.metric("regcache_evictions_total", kind="blob"), 0, "eviction made the room")
        self.assertFalse(any(os.path.exists(rc.blob_file(b.digest)) for b in self.fillers[0].layers),
                         "the least recently used image went first")
        # Once eviction made room, a pull caches again (a download refused
        # for lack of room is served uncached, and wakes the evictor).
        last = self.fillers[-1]
        self.assertTrue(fixtures.wait_until(lambda: tmpfs.available(self.disk) - min_free > 2 * last.layers[0].size,
                                            timeout=10),
                        "eviction made room above min_free")
        self.assertPulls(rc.docker_ref(last.repo, last.tag), last)
        self.assertTrue(fixtures.wait_until(lambda: all(os.path.exists(rc.blob_file(b.digest)) for b in last.layers),
                                            timeout=10),
                        "the most recent image is cached once eviction made room")
        self.assertEqual(os.listdir(rc.tmp_dir), [], "no partial file is left behind")
        self.assertTrue(rc.running())
