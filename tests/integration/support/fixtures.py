"""Shared setup for integration test classes.

    class MyTests(fixtures.RegcacheTestCase):
        def test_x(self):
            rc = self.start_regcache()            # fresh, cold, cleaned up after
            img = self.images["multi"]            # pushed upstream in setUpClass
            ...

UpstreamTestCase.setUpClass starts one Registry and pushes the standard image
set (STANDARD_IMAGES); layouts are built once per Python process and shared
by every class (the large layer is expensive), deleted at exit.

Standard images (name: repo:tag upstream):
    multi        library/multi:v1          OCI index, linux/amd64 + linux/arm64,
                                           one shared layer; amd64 has the large
                                           layer (LARGE_LAYER bytes, default 64 MiB)
    docker       library/docker-single:v1  Docker schema2 manifest, one platform
    docker-list  library/docker-list:v1    Docker manifest list, two platforms
    alt          library/alt:v1            small OCI single-arch image (for tag moves)
Set REGCACHE_IT_LARGE_MIB to change the large layer size.
"""

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
import unittest

from . import http as h
from . import images
from . import process
from . import skopeo
from .images import KiB, MiB
from .regcache import Regcache, regcache_bin
from .registry import Registry

LARGE_LAYER = int(os.environ.get("REGCACHE_IT_LARGE_MIB", "64")) * MiB

# name -> (repo, tag, build kwargs)
STANDARD_IMAGES = {
    "multi": ("library/multi", "v1", dict(
        seed="multi", fmt="oci", multi_arch=True, shared_layers=[256 * KiB],
        platform_layers={"amd64": [1 * MiB, LARGE_LAYER], "arm64": [512 * KiB, 2 * MiB]})),
    "docker": ("library/docker-single", "v1", dict(
        seed="docker", fmt="docker", multi_arch=False, shared_layers=[],
        layers=[128 * KiB, 768 * KiB])),
    "docker-list": ("library/docker-list", "v1", dict(
        seed="docker-list", fmt="docker", multi_arch=True, shared_layers=[64 * KiB],
        layers=[96 * KiB])),
    "alt": ("library/alt", "v1", dict(
        seed="alt", fmt="oci", multi_arch=False, shared_layers=[], layers=[48 * KiB])),
}

_layout_lock = threading.Lock()
_layout_root = None
_layouts = {}


def _cleanup_layouts():
    if _layout_root:
        shutil.rmtree(_layout_root, ignore_errors=True)


atexit.register(_cleanup_layouts)


def layout(name, **build_kwargs):
    """Build (once per process) and return the Image of layout `name`."""
    global _layout_root
    key = (name, repr(sorted(build_kwargs.items())))
    with _layout_lock:
        if key not in _layouts:
            if _layout_root is None:
                _layout_root = tempfile.mkdtemp(prefix="regcache-it-layouts-")
            path = os.path.join(_layout_root, f"{name}-{len(_layouts)}")
            _layouts[key] = images.build_image(path, **build_kwargs)
        return _layouts[key]


def small_image(seed, layer_bytes=24 * KiB):
    """A one-platform OCI image with one layer of `layer_bytes`, its content
    drawn from `seed` (which also names the layout)."""
    return layout(seed, seed=seed, fmt="oci", multi_arch=False, shared_layers=[], layers=[layer_bytes])


def standard_layout(name):
    _, _, kwargs = STANDARD_IMAGES[name]
    return layout(name, **kwargs)


class SeededUpstream:
    """A running Registry holding the standard images (or a subset)."""

    def __init__(self, names=None, htpasswd_users=None, use_skopeo=True):
        self.names = list(names or STANDARD_IMAGES)
        self.registry = Registry(htpasswd_users=htpasswd_users)
        self.use_skopeo = use_skopeo
        self.images = {}

    def start(self):
        self.registry.start()
        try:
            for name in self.names:
                repo, tag, _ = STANDARD_IMAGES[name]
                self.images[name] = self.push(standard_layout(name), repo, tag)
            self.registry.reset_log_marker()
        except BaseException:
            self.registry.stop()
            raise
        return self

    def push(self, img, repo, tag):
        """Push an Image to repo:tag of this upstream; returns it with repo/tag."""
        if self.use_skopeo:
            return images.push(img, self.registry.host, repo, tag, creds=self.registry.creds)
        return images.http_push(img, self.registry.url, repo, tag, creds=self.registry.creds)

    def stop(self):
        self.registry.stop()


class UpstreamTestCase(unittest.TestCase):
    """One seeded upstream Registry per test class: cls.registry, cls.images."""

    IMAGES = None            # names from STANDARD_IMAGES; None = all
    REGISTRY_USERS = None    # {user: password} → basic-auth upstream

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.upstream = SeededUpstream(cls.IMAGES, htpasswd_users=cls.REGISTRY_USERS)
        cls.addClassCleanup(cls.upstream.stop)
        cls.upstream.start()
        cls.registry = cls.upstream.registry
        cls.images = cls.upstream.images

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="regcache-it-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    # -- assertions ----------------------------------------------------------
    def assertOciError(self, status, body, want_status, want_code, msg=None):
        self.assertEqual(status, want_status, msg or body[:500])
        try:
            codes = h.oci_error_codes(body)
        except (ValueError, KeyError, TypeError) as e:
            self.fail(f"not an OCI error body ({e}): {body[:500]!r}")
        self.assertIn(want_code, codes, msg)

    def assertPulls(self, ref, img):
        """skopeo copies `ref` (docker://...) to a fresh directory, which must
        then hold exactly `img`, every blob hashing to its digest."""
        dest = os.path.join(self.tmpdir(), "pull")
        skopeo.copy_to_dir(ref, dest)
        self.assertEqual(skopeo.verify_dir_copy(dest, img), [], ref)

    def assertBody(self, body, digest, msg=None):
        self.assertEqual(h.sha256_digest(body), digest,
                         msg or f"body ({len(body)} bytes) does not hash to {digest}")


class RegcacheTestCase(UpstreamTestCase):
    """UpstreamTestCase plus start_regcache(): a fresh (cold) regcache per call."""

    @classmethod
    def setUpClass(cls):
        regcache_bin()  # fail fast (before building/pushing images) if REGCACHE_BIN is unset
        super().setUpClass()

    def start_regcache(self, upstream_url=None, reset_log_marker=True, **kwargs):
        """Start a fresh regcache (cleaned up after the test).  By default the
        upstream access-log marker is reset first, so self.registry.requests()
        shows exactly what this regcache asked upstream."""
        if reset_log_marker:
            self.registry.reset_log_marker()
        if upstream_url is None and kwargs.get("config") is None:
            upstream_url = self.registry.url
        rc = Regcache(upstream_url=upstream_url, **kwargs)
        self.addCleanup(self._close_regcache, rc)
        rc.start()
        return rc

    def _has_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return False
        for test, _ in list(result.failures) + list(result.errors):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def _close_regcache(self, rc):
        # Attach the log to failures: printed only when the test did not pass.
        if self._has_failed() and rc.workdir:
            print(f"\n---- regcache log ({rc.log_path}) ----\n{rc.log_tail()}\n----")
        rc.close()


def get_concurrently(urls_and_headers, timeout=120):
    """GET each (url, headers) in its own thread, all released together.

    Returns a list of (status, headers, body_len, sha256 hex, error) in order."""
    barrier = threading.Barrier(len(urls_and_headers))
    results = [None] * len(urls_and_headers)

    def worker(i, url, headers):
        try:
            barrier.wait(timeout=30)
            with h.stream(url, headers=headers, timeout=timeout) as s:
                n, sha = s.drain_hash()
                results[i] = (s.status, s.headers, n, sha.hexdigest(), None)
        except Exception as e:  # noqa: BLE001 - reported to the test
            results[i] = (None, {}, 0, None, e)

    threads = [threading.Thread(target=worker, args=(i, u, hd), daemon=True)
               for i, (u, hd) in enumerate(urls_and_headers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 60)
    return results


def file_sha256(path):
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


__all__ = ["UpstreamTestCase", "RegcacheTestCase", "SeededUpstream", "STANDARD_IMAGES",
           "LARGE_LAYER", "layout", "standard_layout", "get_concurrently", "file_sha256",
           "process", "KiB", "MiB"]


def wait_until(predicate, timeout, interval=0.2):
    """Poll `predicate` until it is true or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
