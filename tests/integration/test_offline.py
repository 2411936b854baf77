"""Serving while the upstream is down: cached images by tag (stale) and by
digest, a bound on staleness, a clear fast error for what is not cached, the
policy for tags the upstream says are gone, and tag lists and referrers
answered from the index after a crash and a restart.

The upstream is reached through a relay (support/relay.py); stopping the relay
takes the upstream away without touching the registry the class shares.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_offline
"""

import json
import os
import time
import urllib.parse
import urllib.request

from support import fixtures, images, skopeo
from support import http as h
from support.fixtures import KiB
from support.front import Front
from support.relay import Relay

COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


class OfflineTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi", "docker", "alt")

    def start_behind_relay(self, **upstream_options):
        relay = Relay(self.registry.port).start()
        self.addCleanup(relay.stop)
        upstream = {"name": self.registry.host, "url": relay.url, "insecure_http": True, "tag_ttl": "1s"}
        upstream.update(upstream_options)
        config = {"upstreams": [upstream], "default_upstream": self.registry.host}
        return relay, self.start_regcache(config=config)

    def test_cached_images_pull_by_tag_and_digest_with_the_upstream_down(self):
        img = self.images["multi"]
        relay, rc = self.start_behind_relay()
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), os.path.join(self.tmpdir(), "warm"))
        relay.stop()
        rc.advance_clock(1.5)  # the tag is now past its tag_ttl: revalidation fails, the cached tag is served
        for ref in (img.tag, img.index_digest):
            dest = os.path.join(self.tmpdir(), "offline")
            skopeo.copy_to_dir(rc.docker_ref(img.repo, ref), dest)
            self.assertEqual(skopeo.verify_dir_copy(dest, img), [], ref)
        self.assertGreater(rc.metric("regcache_cache_requests_total", outcome="stale"), 0)
        self.assertIn("serving stale tag", rc.log_text())

        other = self.images["docker"]
        started = time.monotonic()
        status, headers, body = h.request(rc.manifest_url(other.repo, other.tag))
        self.assertLess(time.monotonic() - started, 5.0, "an uncached image must fail fast")
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertIn(self.registry.host, body.decode(), "the error names the upstream")
        self.assertIn("cannot be reached", body.decode())

    def test_max_stale_bounds_how_old_a_served_tag_may_be(self):
        img = self.images["alt"]
        relay, rc = self.start_behind_relay(max_stale="1s")
        self.assertEqual(h.request(rc.manifest_url(img.repo, img.tag))[0], 200)
        relay.stop()
        rc.advance_clock(1.5)  # past tag_ttl, within max_stale
        self.assertEqual(h.request(rc.manifest_url(img.repo, img.tag))[0], 200)
        rc.advance_clock(1.0)  # past tag_ttl + max_stale
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag))
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertIn("stale beyond max_stale", rc.log_text())
        by_digest = h.request(rc.manifest_url(img.repo, img.manifests[0].digest),
                              headers={"Accept": img.manifests[0].media_type})
        self.assertEqual(by_digest[0], 200, "content by digest never goes stale")

    def deleted_upstream_tag(self, seed):
        """A fresh image under its own tag, pulled once, then deleted upstream."""
        layout = os.path.join(self.tmpdir(), "gone")
        img = images.build_image(layout, seed=seed, multi_arch=False, shared_layers=(), layers=(16 * KiB,))
        img = images.http_push(img, self.registry.url, "library/gone", seed)
        return img

    def delete_upstream(self, img):
        req = urllib.request.Request(f"{self.registry.url}/v2/{img.repo}/manifests/{img.manifests[0].digest}",
                                     method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as resp:
            self.assertEqual(resp.status, 202)

    def test_a_tag_gone_upstream_is_followed_by_default(self):
        img = self.deleted_upstream_tag("follow")
        _, rc = self.start_behind_relay()
        self.assertEqual(h.request(rc.manifest_url(img.repo, img.tag))[0], 200)
        self.delete_upstream(img)
        rc.advance_clock(1.5)
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag))
        self.assertOciError(status, body, 404, "MANIFEST_UNKNOWN")

    def test_a_tag_gone_upstream_can_keep_being_served(self):
        img = self.deleted_upstream_tag("serve-cached")
        _, rc = self.start_behind_relay(on_tag_not_found="serve_cached")
        self.assertEqual(h.request(rc.manifest_url(img.repo, img.tag))[0], 200)
        self.delete_upstream(img)
        rc.advance_clock(1.5)
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag),
                                    headers={"Accept": img.manifests[0].media_type})
        self.assertEqual(status, 200)
        self.assertBody(body, img.manifests[0].digest)

    def test_tag_lists_and_referrers_are_answered_after_a_crash_with_the_upstream_down(self):
        """Each answer is stored in the index: after kill -9 and a restart with
        the upstream gone, both lists still answer (stale). docker-registry
        has no referrers API, so a Front before it serves one."""
        img = self.images["docker"]
        referrers = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + c * 64,
                      "size": 400, "artifactType": kind}
                     for c, kind in (("5", COSIGN_SIGNATURE), ("6", "application/spdx+json"))]
        front = Front(self.registry.url,
                      referrers={f"/v2/{img.repo}/referrers/{img.top_digest}": referrers}).start()
        self.addCleanup(front.stop)
        upstream = {"name": self.registry.host, "url": front.url, "insecure_http": True}
        rc = self.start_regcache(config={"upstreams": [upstream], "default_upstream": self.registry.host})
        listing = f"{rc.url}/v2/{img.repo}/tags/list"
        all_referrers = f"{rc.url}/v2/{img.repo}/referrers/{img.top_digest}"
        signatures = all_referrers + "?artifactType=" + urllib.parse.quote(COSIGN_SIGNATURE, safe="")
        fresh = {}
        for url in (listing, all_referrers, signatures):
            status, headers, body = h.request(url)
            self.assertEqual(status, 200, url)
            fresh[url] = (headers.get("oci-filters-applied"), body)
        self.assertIn(img.tag, json.loads(fresh[listing][1])["tags"])
        self.assertEqual(len(json.loads(fresh[all_referrers][1])["manifests"]), 2)
        self.assertEqual(json.loads(fresh[signatures][1])["manifests"], referrers[:1])

        front.stop()
        rc.kill9()
        rc.restart()
        for url in (listing, all_referrers, signatures):
            status, headers, body = h.request(url)
            self.assertEqual(status, 200, url)
            self.assertEqual((headers.get("oci-filters-applied"), body), fresh[url], url)
        self.assertIn(f"unavailable for tags of {img.repo}: serving its list", rc.log_text())
        self.assertIn(f"unavailable for referrers of {img.repo}@{img.top_digest}", rc.log_text())
        self.assertEqual(rc.metric("regcache_cache_requests_total", outcome="stale"), 3)
