"""regcache as a pull-through cache in front of a real docker-registry.

Every test starts a fresh, cold regcache (its own port and data dir) in front
of the class's seeded upstream Registry, so upstream request counts are
exact.  Images (support/fixtures.py STANDARD_IMAGES):
    multi        OCI index, amd64 + arm64, shared layer, amd64 has a >= 64 MiB layer
    docker       Docker schema2 single-arch
    docker-list  Docker manifest list
    alt          small OCI single-arch

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_pull_through
"""

import json
import os
import threading
import urllib.parse

from support import fixtures, images, skopeo
from support import http as h
from support.fixtures import KiB, MiB
from support.images import CONTAINERD_ACCEPT
from support.regcache import metric_sum, upstream_config

API_VERSION = "registry/2.0"


def _expect_range(blob, first, last):
    return blob.read_range(first, last), f"bytes {first}-{last}/{blob.size}"


class ColdPathTests(fixtures.RegcacheTestCase):
    """Fills from upstream: skopeo pulls, single flight, ranges during a fill,
    crash recovery, metrics."""

    def test_skopeo_pulls_every_image_then_second_pull_makes_no_upstream_request(self):
        rc = self.start_regcache()
        names = ("multi", "docker", "docker-list")
        self.assertGreaterEqual(self.images["multi"].largest_blob().size, 64 * MiB)
        self.assertEqual(len(self.images["multi"].manifests), 2)
        for name in names:
            img = self.images[name]
            with self.subTest(image=name, copy="cold"):
                out = os.path.join(self.tmpdir(), name)
                skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), out)
                self.assertEqual(skopeo.verify_dir_copy(out, img), [])
                self.registry.settle()
                for blob in img.blobs:
                    self.assertEqual(len(self.registry.blob_gets(blob.digest, settle=False)), 1,
                                     f"upstream GETs of {blob.digest} ({blob.size} bytes)")
        self.registry.reset_log_marker()
        for name in names:
            img = self.images[name]
            with self.subTest(image=name, copy="warm"):
                out = os.path.join(self.tmpdir(), name)
                skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), out)
                self.assertEqual(skopeo.verify_dir_copy(out, img), [])
        self.assertEqual(self.registry.requests(), [],
                         "a warm pull must be served entirely from the cache")

    def test_sixteen_concurrent_cold_gets_make_one_upstream_fetch(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        big = img.largest_blob()
        self.registry.reset_log_marker()
        results = fixtures.get_concurrently([(rc.blob_url(img.repo, big.digest), {})] * 16)
        for i, (status, hdrs, n, sha, err) in enumerate(results):
            with self.subTest(client=i):
                self.assertIsNone(err, f"client {i} failed: {err!r}")
                self.assertEqual(status, 200)
                self.assertEqual(int(hdrs.get("content-length", -1)), big.size)
                self.assertEqual(hdrs.get("docker-content-digest"), big.digest)
                self.assertEqual(n, big.size)
                self.assertEqual("sha256:" + sha, big.digest)
        gets = self.registry.blob_gets(big.digest)
        self.assertEqual(len(gets), 1, f"expected one upstream GET, got {gets}")

    def test_range_requests_during_a_fill(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        big = img.largest_blob()
        url = rc.blob_url(img.repo, big.digest)
        ranges = {"tail": (big.size - 1000, big.size - 1), "middle": (1000, 1999)}
        results = {}

        def ranged(name, first, last):
            header = f"bytes={first}-" if last == big.size - 1 else f"bytes={first}-{last}"
            try:
                results[name] = h.request(url, headers={"Range": header}, timeout=120)
            except Exception as e:  # noqa: BLE001 - reported below
                results[name] = e

        with h.stream(url, timeout=120) as full:
            self.assertEqual(full.status, 200)
            head = full.read_exactly(64 * KiB)
            threads = [threading.Thread(target=ranged, args=(n, *r), daemon=True)
                       for n, r in ranges.items()]
            for t in threads:
                t.start()
            n, sha = full.drain_hash()
        for t in threads:
            t.join(180)
        self.assertEqual(head, big.read_range(0, len(head) - 1))
        self.assertEqual(len(head) + n, big.size)
        for name, (first, last) in ranges.items():
            with self.subTest(range=name):
                res = results.get(name)
                self.assertNotIsInstance(res, Exception, repr(res))
                status, hdrs, body = res
                want, content_range = _expect_range(big, first, last)
                self.assertEqual(status, 206)
                self.assertEqual(hdrs.get("content-range"), content_range)
                self.assertEqual(int(hdrs.get("content-length", -1)), len(want))
                self.assertTrue(body == want, f"{len(body)} bytes, not the exact range")
        status, _, body = h.request(url)
        self.assertEqual(status, 200)
        self.assertBody(body, big.digest)

    def test_kill9_during_cold_download_then_restart_recovers(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        big = img.largest_blob()
        url = rc.blob_url(img.repo, big.digest)
        with h.stream(url, timeout=60) as s:
            self.assertEqual(s.status, 200)
            prefix = s.read_exactly(4 * MiB)
            self.assertEqual(prefix, big.read_range(0, 4 * MiB - 1))
            rc.kill9()
        rc.restart()
        if os.path.isdir(rc.tmp_dir):
            self.assertEqual(os.listdir(rc.tmp_dir), [], "data/tmp must be emptied at startup")
        committed = rc.blob_file(big.digest)
        if os.path.exists(committed):
            self.assertEqual(fixtures.file_sha256(committed), big.digest,
                             "a committed blob file must be whole and verified")
        status, hdrs, rest = h.raw_request(url, "HEAD", read_after_headers=0.5)
        self.assertEqual(status, 200)
        self.assertEqual(int(hdrs.get("content-length", -1)), big.size)
        self.assertEqual(rest, b"")
        with h.stream(url, timeout=120) as s:
            self.assertEqual(s.status, 200)
            self.assertEqual(int(s.headers.get("content-length", -1)), big.size)
            try:
                n, sha = s.drain_hash()
            except Exception as e:  # noqa: BLE001
                self.fail(f"blob body cut short after restart: {e!r}")
        self.assertEqual(n, big.size, "never a partial body")
        self.assertEqual("sha256:" + sha.hexdigest(), big.digest)
        out = os.path.join(self.tmpdir(), "after-crash")
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), out)
        self.assertEqual(skopeo.verify_dir_copy(out, img), [])

    def test_metrics_show_misses_hits_and_one_upstream_get_per_blob(self):
        rc = self.start_regcache()   # resets the upstream log marker first
        img = self.images["docker"]
        blob_bytes = sum(b.size for b in img.blobs)

        status, hdrs, body = h.request(rc.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs.get("content-type", "").startswith("text/plain"), hdrs)
        before = rc.metrics()
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), os.path.join(self.tmpdir(), "cold"))
        cold = rc.metrics()
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), os.path.join(self.tmpdir(), "warm"))
        warm = rc.metrics()

        def delta(a, b, name, **labels):
            return metric_sum(b, name, **labels) - metric_sum(a, name, **labels)

        self.assertGreaterEqual(delta(before, cold, "regcache_cache_requests_total", outcome="miss"),
                                len(img.blobs), "every blob is a miss on the cold pull")
        self.assertGreaterEqual(delta(cold, warm, "regcache_cache_requests_total", outcome="hit"),
                                len(img.blobs), "every blob is a hit on the warm pull")
        self.assertEqual(delta(cold, warm, "regcache_cache_requests_total", outcome="miss"), 0)
        self.assertGreaterEqual(delta(cold, warm, "regcache_served_bytes_total", source="cache"),
                                blob_bytes)
        self.assertGreaterEqual(delta(before, warm, "regcache_requests_total"), 2 * len(img.blobs))
        self.assertEqual(metric_sum(warm, "regcache_fills_in_flight"), 0)
        self.assertGreaterEqual(metric_sum(warm, "regcache_cached_bytes"), blob_bytes)
        self.registry.settle()
        for blob in img.blobs:
            self.assertEqual(len(self.registry.blob_gets(blob.digest, settle=False)), 1, blob.digest)
        # regcache_upstream_requests_total counts exactly what upstream saw.
        logged = len(self.registry.requests())
        after = rc.metric("regcache_upstream_requests_total")
        self.assertLessEqual(metric_sum(warm, "regcache_upstream_requests_total"), logged)
        self.assertGreaterEqual(after, logged)
        self.assertGreaterEqual(metric_sum(warm, "regcache_upstream_requests_total", status="200"),
                                len(img.blobs))


class ProtocolTests(fixtures.RegcacheTestCase):
    """What a client sees on the wire: HEAD, Range, negotiation, errors."""

    def small_blob(self):
        blob = self.images["multi"].manifest_for("amd64").layers[1]
        self.assertGreaterEqual(blob.size, 1 * MiB)
        return blob

    def test_head_manifest_and_blob(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        for state in ("cold", "warm"):
            for ref in (img.tag, img.top_digest):
                with self.subTest(state=state, manifest=ref):
                    status, hdrs, rest = h.raw_request(
                        rc.manifest_url(img.repo, ref), "HEAD",
                        headers={"Accept": CONTAINERD_ACCEPT}, read_after_headers=0.5)
                    self.assertEqual(status, 200)
                    self.assertEqual(int(hdrs.get("content-length", -1)), len(img.top_raw))
                    self.assertEqual(hdrs.get("docker-content-digest"), img.top_digest)
                    self.assertEqual(hdrs.get("content-type"), images.OCI_INDEX)
                    self.assertEqual(rest, b"", "HEAD must not send a body")
            blob = self.small_blob()
            with self.subTest(state=state, blob=blob.digest):
                status, hdrs, rest = h.raw_request(rc.blob_url(img.repo, blob.digest), "HEAD",
                                                   read_after_headers=0.5)
                self.assertEqual(status, 200)
                self.assertEqual(int(hdrs.get("content-length", -1)), blob.size)
                self.assertEqual(hdrs.get("docker-content-digest"), blob.digest)
                self.assertEqual(hdrs.get("accept-ranges"), "bytes")
                self.assertEqual(rest, b"", "HEAD must not send a body")
            if state == "cold":
                status, _, body = h.request(rc.manifest_url(img.repo, img.tag),
                                            headers={"Accept": CONTAINERD_ACCEPT})
                self.assertEqual(status, 200)
                status, _, body = h.request(rc.blob_url(img.repo, blob.digest))
                self.assertEqual(status, 200)

    def test_blob_get_has_accept_ranges_and_no_content_encoding(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        blob = self.small_blob()
        for state in ("cold", "warm"):
            with self.subTest(state=state):
                status, hdrs, body = h.request(rc.blob_url(img.repo, blob.digest),
                                               headers={"Accept-Encoding": "gzip, deflate, br"})
                self.assertEqual(status, 200)
                self.assertNotIn("content-encoding", hdrs)
                self.assertEqual(hdrs.get("accept-ranges"), "bytes")
                self.assertEqual(hdrs.get("docker-content-digest"), blob.digest)
                self.assertEqual(int(hdrs.get("content-length", -1)), blob.size)
                self.assertBody(body, blob.digest)

    def test_range_requests_on_a_cached_blob(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        blob = self.small_blob()
        data = blob.read()
        size = blob.size
        url = rc.blob_url(img.repo, blob.digest)
        status, _, body = h.request(url)
        self.assertEqual(status, 200)
        self.assertBody(body, blob.digest)
        self.registry.reset_log_marker()

        single = {
            "bytes=0-99": (0, 99),
            "bytes=100-": (100, size - 1),
            "bytes=-50": (size - 50, size - 1),
        }
        for header, (first, last) in single.items():
            with self.subTest(range=header):
                status, hdrs, body = h.request(url, headers={"Range": header})
                self.assertEqual(status, 206)
                self.assertEqual(hdrs.get("content-range"), f"bytes {first}-{last}/{size}")
                self.assertEqual(int(hdrs.get("content-length", -1)), last - first + 1)
                self.assertTrue(body == data[first:last + 1], "exact bytes of the range")

        with self.subTest(range="multi"):
            status, hdrs, body = h.request(url, headers={"Range": "bytes=0-9,1000-1099,-20"})
            self.assertEqual(status, 206)
            self.assertTrue(hdrs.get("content-type", "").startswith("multipart/byteranges"), hdrs)
            parts = h.parse_byteranges(hdrs["content-type"], body)
            self.assertEqual([(p[0], p[1], p[2]) for p in parts],
                             [(0, 9, size), (1000, 1099, size), (size - 20, size - 1, size)])
            self.assertEqual([p[4] for p in parts], [data[0:10], data[1000:1100], data[-20:]])

        for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}"):
            with self.subTest(range=header):
                status, hdrs, rest = h.raw_request(url, headers={"Range": header},
                                                   read_after_headers=0.5)
                self.assertEqual(status, 416)
                self.assertEqual(hdrs.get("content-range"), f"bytes */{size}")
                if "content-length" in hdrs:
                    self.assertEqual(int(hdrs["content-length"]), len(rest),
                                     "Content-Length must match the 416 body")
        self.assertEqual(self.registry.requests("GET"), [],
                         "ranges of a cached blob are served from the cache")

    def test_accept_negotiation(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        oci_only = {"Accept": images.OCI_MANIFEST}

        status, _, body = h.request(rc.manifest_url(img.repo, img.tag), headers=oci_only)
        self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN",
                            "cold: an index must not be served to a client that only accepts manifests")

        for ref in (img.tag, img.index_digest):
            with self.subTest(ref=ref):
                status, hdrs, body = h.request(rc.manifest_url(img.repo, ref),
                                               headers={"Accept": CONTAINERD_ACCEPT})
                self.assertEqual(status, 200)
                self.assertEqual(hdrs.get("content-type"), images.OCI_INDEX)
                self.assertEqual(hdrs.get("docker-content-digest"), img.index_digest)
                self.assertEqual(h.sha256_digest(body), hdrs.get("docker-content-digest"))
                self.assertTrue(body == img.top_raw, "exact upstream bytes")

        for m in img.manifests:
            with self.subTest(platform=m.arch):
                status, hdrs, body = h.request(rc.manifest_url(img.repo, m.digest),
                                               headers={"Accept": f"{m.media_type}, */*"})
                self.assertEqual(status, 200)
                self.assertEqual(hdrs.get("content-type"), images.OCI_MANIFEST)
                self.assertEqual(hdrs.get("docker-content-digest"), m.digest)
                self.assertTrue(body == m.raw)

        status, _, body = h.request(rc.manifest_url(img.repo, img.tag), headers=oci_only)
        self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN",
                            "warm: an index must not be served to a client that only accepts manifests")

        for name, want_type in (("docker", images.DOCKER_MANIFEST),
                                ("docker-list", images.DOCKER_LIST)):
            dimg = self.images[name]
            with self.subTest(image=name):
                status, hdrs, body = h.request(rc.manifest_url(dimg.repo, dimg.tag),
                                               headers={"Accept": CONTAINERD_ACCEPT})
                self.assertEqual(status, 200)
                self.assertEqual(hdrs.get("content-type"), want_type)
                self.assertEqual(hdrs.get("docker-content-digest"), dimg.top_digest)
                self.assertTrue(body == dimg.top_raw)

    def test_if_none_match_gives_304(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        blob = self.small_blob()
        murl = rc.manifest_url(img.repo, img.tag)
        burl = rc.blob_url(img.repo, blob.digest)
        accept = {"Accept": CONTAINERD_ACCEPT}
        self.assertEqual(h.request(murl, headers=accept)[0], 200)
        self.assertEqual(h.request(burl)[0], 200)
        cases = [
            ("manifest by tag", murl, img.top_digest, accept),
            ("manifest by digest", rc.manifest_url(img.repo, img.top_digest), img.top_digest, accept),
            ("blob", burl, blob.digest, {}),
        ]
        for name, url, digest, extra in cases:
            with self.subTest(case=name):
                status, hdrs, rest = h.raw_request(
                    url, headers=dict(extra, **{"If-None-Match": f'"{digest}"'}),
                    read_after_headers=0.5)
                self.assertEqual(status, 304)
                self.assertEqual(rest, b"", "304 carries no body")
                other = '"sha256:' + "0" * 64 + '"'
                status, _, body = h.request(url, headers=dict(extra, **{"If-None-Match": other}))
                self.assertEqual(status, 200)
                self.assertBody(body, digest)

    def test_not_found_and_base_endpoint(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        status, hdrs, _ = h.request(rc.v2())
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("docker-distribution-api-version"), API_VERSION)

        status, hdrs, body = h.request(rc.manifest_url(img.repo, "no-such-tag"),
                                       headers={"Accept": CONTAINERD_ACCEPT})
        self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN")
        self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
        self.assertEqual(hdrs.get("docker-distribution-api-version"), API_VERSION)

        missing = h.sha256_digest(b"this blob does not exist anywhere")
        status, hdrs, body = h.request(rc.blob_url(img.repo, missing))
        self.assertOciError(status, body, 404, "BLOB_UNKNOWN")
        self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
        status, _, rest = h.raw_request(rc.blob_url(img.repo, missing), "HEAD",
                                        read_after_headers=0.5)
        self.assertEqual(status, 404)
        self.assertEqual(rest, b"")

        status, _, body = h.request(rc.manifest_url("no/such-repo", "v1"),
                                    headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(status, 404)
        self.assertTrue(set(h.oci_error_codes(body)) & {"NAME_UNKNOWN", "MANIFEST_UNKNOWN"}, body)

    def test_bad_names_are_rejected_without_upstream_traffic(self):
        rc = self.start_regcache()
        self.registry.reset_log_marker()
        paths = [
            "/v2/UPPER/manifests/x",
            "/v2/a/../b/manifests/x",
            "/v2/" + "a" * 300 + "/manifests/x",
            "/v2/" + "/".join(["abcdefghij"] * 30) + "/blobs/" + h.sha256_digest(b"x"),
            "/v2/-leading/manifests/x",
        ]
        for path in paths:
            with self.subTest(path=path[:60]):
                status, hdrs, body = h.request(rc.url + path)
                self.assertOciError(status, body, 400, "NAME_INVALID")
        self.assertEqual(self.registry.requests(), [])

    def test_bad_digests_are_rejected_without_upstream_traffic(self):
        rc = self.start_regcache()
        repo = self.images["multi"].repo
        self.registry.reset_log_marker()
        good_hex = h.sha256_hex(b"abc")
        bad = ["sha256:xyz", "sha256:" + good_hex[:63], "sha256:" + good_hex.upper()]
        for digest in bad:
            for kind in ("blobs", "manifests"):
                with self.subTest(kind=kind, digest=digest):
                    status, _, body = h.request(f"{rc.url}/v2/{repo}/{kind}/{digest}")
                    self.assertOciError(status, body, 400, "DIGEST_INVALID")
        self.assertEqual(self.registry.requests(), [])

    def test_references_that_are_no_tag_or_digest_are_unknown_manifests_without_upstream_traffic(self):
        rc = self.start_regcache()
        repo = self.images["multi"].repo
        self.registry.reset_log_marker()
        # The OCI conformance suite's invalid manifest name, tags starting with . or -, a 129-character tag.
        for ref in (".INVALID_MANIFEST_NAME", ".x", "-x", "t" * 129):
            with self.subTest(ref=ref[:30]):
                status, hdrs, body = h.request(rc.manifest_url(repo, ref), headers={"Accept": CONTAINERD_ACCEPT})
                self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN")
                self.assertEqual(hdrs.get("docker-distribution-api-version"), API_VERSION)
                status, _, rest = h.raw_request(rc.manifest_url(repo, ref), "HEAD", read_after_headers=0.5)
                self.assertEqual(status, 404)
                self.assertEqual(rest, b"", "a HEAD answer has no body")
        status, _, body = h.request(rc.manifest_url(repo, "sha256:" + "G" * 64))
        self.assertOciError(status, body, 400, "DIGEST_INVALID", "a malformed digest stays a bad request")
        self.assertEqual(self.registry.requests(), [])

    def test_names_over_255_characters_with_the_registry_host_are_invalid_without_upstream_traffic(self):
        rc = self.start_regcache()
        host = self.registry.host   # the upstream's name: host:port
        self.registry.reset_log_marker()
        too_long = "a" * (255 - len(host))          # + host + "/" = 256
        for name in (too_long, "a" * 255, f"{host}/{too_long}"):
            with self.subTest(length=len(name)):
                status, _, body = h.request(rc.manifest_url(name, "v1"), headers={"Accept": CONTAINERD_ACCEPT})
                self.assertOciError(status, body, 400, "NAME_INVALID")
                status, _, _ = h.raw_request(rc.manifest_url(name, "v1"), "HEAD", read_after_headers=0.5)
                self.assertEqual(status, 400)
        self.assertEqual(self.registry.requests(), [], "such a name never goes upstream")

        at_limit = "a" * (254 - len(host))          # + host + "/" = 255: a name the upstream may hold
        status, _, body = h.request(rc.manifest_url(at_limit, "v1"), headers={"Accept": CONTAINERD_ACCEPT})
        self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN")
        self.assertTrue(self.registry.requests(path_contains=at_limit), "a 255-character name is asked upstream")

    def test_push_methods_are_unsupported(self):
        rc = self.start_regcache()
        img = self.images["multi"]
        blob = self.small_blob()
        self.registry.reset_log_marker()
        cases = [
            ("POST", f"/v2/{img.repo}/blobs/uploads/", None, {"Content-Length": "0"}),
            ("PUT", f"/v2/{img.repo}/manifests/pushed", img.top_raw,
             {"Content-Type": img.top_media_type}),
            ("DELETE", f"/v2/{img.repo}/blobs/{blob.digest}", None, {}),
            ("DELETE", f"/v2/{img.repo}/manifests/{img.top_digest}", None, {}),
        ]
        for method, path, body, headers in cases:
            with self.subTest(method=method, path=path):
                status, hdrs, resp = h.request(rc.url + path, method, headers=headers, body=body)
                self.assertOciError(status, resp, 405, "UNSUPPORTED")
                message = " ".join(e.get("message", "") for e in h.oci_errors(resp)).lower()
                self.assertIn("read-only", message)
                self.assertIn("pull-through", message)
        self.assertEqual(self.registry.requests(), [], "writes never reach upstream")
        status, _, _ = h.request(f"{self.registry.url}/v2/{img.repo}/manifests/pushed",
                                 headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(status, 404)

    def test_tags_list_pagination(self):
        repo = "paging/app"
        base = images.http_push(self.images["alt"], self.registry.url, repo, "v2.0")
        tags = ["v2.0", "latest", "c3", "a1", "v1.1", "b2", "v1.0"]
        for tag in tags[1:]:
            images.retag(base, self.registry.url, repo, tag)
        want = sorted(tags)
        rc = self.start_regcache()

        status, _, body = h.request(f"{rc.url}/v2/{repo}/tags/list")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"name": repo, "tags": want})

        pages, url = [], f"{rc.url}/v2/{repo}/tags/list?n=3"
        while url and len(pages) < 10:
            status, hdrs, body = h.request(url)
            self.assertEqual(status, 200, body)
            page = json.loads(body)["tags"]
            link = hdrs.get("link")
            pages.append((page, link))
            if not link:
                break
            self.assertIn('rel="next"', link)
            target = link.split(";")[0].strip().strip("<>")
            parsed = urllib.parse.urlsplit(target)
            if parsed.netloc:
                self.assertEqual(parsed.netloc, rc.host, "Link must point at regcache, not upstream")
            url = rc.url + parsed.path + ("?" + parsed.query if parsed.query else "")
        self.assertEqual([p for p, _ in pages], [want[0:3], want[3:6], want[6:7]])
        self.assertTrue(all(link for _, link in pages[:-1]), "truncated pages carry Link")
        self.assertIsNone(pages[-1][1], "the last page has no Link")

        status, _, body = h.request(f"{rc.url}/v2/{repo}/tags/list?n=2&last=b2")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["tags"], ["c3", "latest"])

    def test_tag_moved_upstream_is_seen_after_tag_ttl_and_not_before(self):
        """Time moves by the test build's clock offset (advance_clock), not by
        sleeping: the answer does not depend on how fast this machine is."""
        repo = "ttl/app"
        img_a = images.http_push(self.images["alt"], self.registry.url, repo, "current")
        other = fixtures.layout("ttl-b", seed="ttl-b", fmt="oci", multi_arch=False,
                                shared_layers=[], layers=[40 * KiB])
        img_b = images.http_push(other, self.registry.url, repo, "b-staging")
        self.assertNotEqual(img_a.top_digest, img_b.top_digest)
        rc = self.start_regcache(config=upstream_config(self.registry, tag_ttl="1h"))
        url = rc.manifest_url(repo, "current")
        accept = {"Accept": CONTAINERD_ACCEPT}

        status, hdrs, body = h.request(url, headers=accept)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("docker-content-digest"), img_a.top_digest)
        self.assertTrue(body == img_a.top_raw)

        images.retag(img_b, self.registry.url, repo, "current")
        status, hdrs, _ = h.request(url, headers=accept)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("docker-content-digest"), img_a.top_digest,
                         "within tag_ttl the cached digest is served")
        rc.advance_clock(59 * 60)
        status, hdrs, _ = h.request(url, headers=accept)
        self.assertEqual(hdrs.get("docker-content-digest"), img_a.top_digest,
                         "still within tag_ttl after 59 minutes")

        rc.advance_clock(2 * 60)
        status, hdrs, body = h.request(url, headers=accept)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("docker-content-digest"), img_b.top_digest,
                         "after tag_ttl the tag is revalidated upstream")
        self.assertTrue(body == img_b.top_raw)

if __name__ == "__main__":
    import unittest
    unittest.main()
