"""A cache directory on a disk that fills up: downloads that do not fit are
served straight from the upstream without being cached (their digest still
verified), the event is logged and counted, eviction is asked for, and the
server keeps serving.

The cache lives on a small tmpfs the test mounts (it runs as root in CI);
where mounting is not allowed the test is skipped with the reason (and fails
when CI=true, support/skips.py).

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_disk_full
"""

import os
import subprocess

from support import fixtures, skips, skopeo, tmpfs
from support import http as h
from support.fixtures import MiB

# Room for the index and the small layers, not for the large one.
TMPFS_MIB = 40


class DiskFullTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def setUp(self):
        self.assertGreater(fixtures.LARGE_LAYER, TMPFS_MIB * MiB, "the large layer must not fit")
        self.disk = tmpfs.mount(TMPFS_MIB)
        if self.disk is None:
            skips.cannot_run(self, "a tmpfs mount", "needs root or CAP_SYS_ADMIN")
        self.addCleanup(tmpfs.unmount, self.disk)

    def test_a_blob_that_does_not_fit_is_served_verified_and_not_cached(self):
        img = self.images["multi"]
        big = img.largest_blob()
        rc = self.start_regcache(workdir=self.disk)
        for attempt in ("first", "second"):
            dest = os.path.join(self.tmpdir(), attempt)
            skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), dest)
            self.assertEqual(skopeo.verify_dir_copy(dest, img), [], attempt)
        self.assertFalse(os.path.exists(rc.blob_file(big.digest)), "the large layer cannot be cached")
        # A range of a blob that cannot be cached is relayed from the upstream too.
        first, last = big.size - 5000, big.size - 1000
        status, headers, body = h.request(rc.blob_url(img.repo, big.digest), headers={"Range": f"bytes={first}-{last}"})
        self.assertEqual(status, 206)
        self.assertEqual(headers.get("content-range"), f"bytes {first}-{last}/{big.size}")
        self.assertEqual(body, big.read_range(first, last))
        small = [b for b in img.blobs if b.digest != big.digest]
        for blob in small:
            self.assertTrue(os.path.exists(rc.blob_file(blob.digest)), f"{blob.digest} fits and is cached")
        self.assertGreaterEqual(rc.metric("regcache_disk_full_total"), 2)
        self.assertIn("disk full", rc.log_text())
        self.assertEqual(os.listdir(rc.tmp_dir), [], "no partial file is left behind")
        self.assertTrue(rc.running())


def fault_injection_available():
    res = subprocess.run([fixtures.regcache_bin(), "version"], capture_output=True, text=True, timeout=10)
    return "fault injection" in res.stdout


class DiskFillsMidDownloadTests(fixtures.RegcacheTestCase):
    """The disk fills while a blob is being written (a real disk reserves a
    blob's size up front, so this takes the test build's fault injection):
    the clients already streaming it get the rest from the upstream, the
    whole body still verified against its digest."""

    IMAGES = ("multi",)
    NO_SPACE_PAST = 8 * MiB  # bigger than every blob but the large layer

    def setUp(self):
        if not fault_injection_available():
            skips.cannot_run(self, "a fault-injection build", "REGCACHE_BIN is not a test build")

    def start_filling_regcache(self):
        env = dict(os.environ, REGCACHE_FAULT_NO_SPACE_PAST=str(self.NO_SPACE_PAST))
        return self.start_regcache(env=env)

    def test_clients_streaming_a_blob_when_the_disk_fills_get_it_whole_and_verified(self):
        img = self.images["multi"]
        big = img.largest_blob()
        rc = self.start_filling_regcache()
        url = rc.blob_url(img.repo, big.digest)
        results = fixtures.get_concurrently([(url, {})] * 4)
        for status, _, size, sha, error in results:
            self.assertIsNone(error)
            self.assertEqual((status, size, "sha256:" + sha), (200, big.size, big.digest))
        self.assertFalse(os.path.exists(rc.blob_file(big.digest)))
        self.assertGreaterEqual(rc.metric("regcache_disk_full_total"), 1)
        self.assertIn("come straight from upstream", rc.log_text())

        # A whole image pull, and a range past the point where the disk filled.
        dest = os.path.join(self.tmpdir(), "pull")
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), dest)
        self.assertEqual(skopeo.verify_dir_copy(dest, img), [])
        first, last = self.NO_SPACE_PAST + 1000, self.NO_SPACE_PAST + 5000
        status, _, body = h.request(url, headers={"Range": f"bytes={first}-{last}"})
        self.assertEqual(status, 206)
        self.assertEqual(body, big.read_range(first, last))
        self.assertEqual(os.listdir(rc.tmp_dir), [])
        self.assertTrue(rc.running())
