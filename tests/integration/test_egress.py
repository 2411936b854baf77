"""Per-upstream egress lists (upstreams[].allow_repositories /
deny_repositories): a repository outside them is answered 403 DENIED for
manifests, blobs, tag lists and referrers, and neither a pull, a prefetch
nor a pin makes the upstream see a single request (its access log is read);
content cached before the lists excluded a repository is not served either.
Repositories inside the lists still pull with skopeo.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_egress
"""

import json
import unittest

from support import fixtures, images
from support import http as h

ACCEPT = ", ".join(images.INDEX_TYPES + images.MANIFEST_TYPES)


class EgressListTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt", "docker")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The same small image outside library/, where allow_repositories does not reach.
        cls.team_alt = cls.upstream.push(fixtures.standard_layout("alt"), "team/alt", "v1")
        cls.registry.reset_log_marker()

    def config(self, **lists):
        entry = {"name": self.registry.host, "url": self.registry.url, "insecure_http": True}
        entry.update(lists)
        return {"upstreams": [entry], "default_upstream": self.registry.host}

    def start_with_lists(self):
        return self.start_regcache(config=self.config(allow_repositories=["library/*"],
                                                      deny_repositories=["library/docker-*"]))

    def assertDenied(self, rc, path, method="GET"):
        status, _, body = h.request(f"{rc.url}{path}", method=method, headers={"Accept": ACCEPT})
        if method == "HEAD":
            self.assertEqual(status, 403, path)
            return
        self.assertOciError(status, body, 403, "DENIED", f"{method} {path}: {body[:300]!r}")
        message = h.oci_errors(body)[0]["message"]
        self.assertIn(self.registry.host, message)
        self.assertIn("allow_repositories", message)

    def assertEveryRouteDenied(self, rc, img):
        blob = img.blobs[0].digest
        for path in (f"/v2/{img.repo}/manifests/{img.tag}", f"/v2/{img.repo}/manifests/{img.top_digest}",
                     f"/v2/{img.repo}/blobs/{blob}", f"/v2/{img.repo}/tags/list",
                     f"/v2/{img.repo}/referrers/{img.top_digest}"):
            self.assertDenied(rc, path)
        for path in (f"/v2/{img.repo}/manifests/{img.tag}", f"/v2/{img.repo}/blobs/{blob}"):
            self.assertDenied(rc, path, method="HEAD")

    def test_outside_the_lists_nothing_reaches_the_upstream_and_inside_pulls_work(self):
        rc = self.start_with_lists()
        denied = self.images["docker"]   # library/docker-single: inside allow, but deny_repositories matches
        outside = self.team_alt          # team/alt: allow_repositories does not match
        for img in (denied, outside):
            with self.subTest(repository=img.repo):
                self.assertEveryRouteDenied(rc, img)
                # Operator paths go through the same client.
                res = rc.cli("prefetch", f"{self.registry.host}/{img.repo}:{img.tag}", check=False)
                self.assertNotEqual(res.returncode, 0, res.stdout + res.stderr)
                self.assertIn("allow_repositories", res.stdout + res.stderr)
                status, _, body = h.request(f"{rc.admin_url}/api/v1/pins", method="POST",
                                            body=json.dumps({"image": f"{self.registry.host}/{img.repo}:{img.tag}"}).encode())
                self.assertEqual(status, 403, body[:300])
        self.assertEqual(self.registry.requests(), [],
                         "a repository outside the egress lists must not cost one upstream request")
        self.assertPulls(rc.docker_ref(self.images["alt"].repo, "v1"), self.images["alt"])
        self.assertTrue(self.registry.requests("GET", "/v2/library/alt/manifests/"))

    def test_content_cached_before_the_lists_changed_is_not_served(self):
        img = self.images["docker"]
        rc = self.start_regcache(config=self.config())
        self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
        rc.stop()
        rc.config = self.config(deny_repositories=["library/docker-single"])
        self.registry.reset_log_marker()
        rc.start()
        self.assertEveryRouteDenied(rc, img)
        self.assertEqual(self.registry.requests(), [])
        self.assertPulls(rc.docker_ref(self.images["alt"].repo, "v1"), self.images["alt"])


if __name__ == "__main__":
    unittest.main()
