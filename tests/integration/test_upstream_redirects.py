"""Upstreams that redirect blob downloads to another host and that fail
transiently: blobs arrive, credentials never reach the other host, signed
URLs are not remembered, a 503 is retried.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_redirects
"""

import os

from support import fixtures, skopeo
from support import http as h
from support.front import Front
from support.relay import Relay

CREDS = ("puller", "s3cret-redirect")


class RedirectTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi",)

    def start_behind_front(self, **front_options):
        storage = Relay(self.registry.port).start()  # "blob storage": another host:port, records headers
        self.addCleanup(storage.stop)
        front = Front(self.registry.url, storage.url, **front_options).start()
        self.addCleanup(front.stop)
        secret = os.path.join(self.tmpdir(), "password")
        with open(secret, "w") as f:
            f.write(CREDS[1] + "\n")
        upstream = {"name": self.registry.host, "url": front.url, "insecure_http": True,
                    "username": CREDS[0], "password_file": secret}
        rc = self.start_regcache(config={"upstreams": [upstream], "default_upstream": self.registry.host})
        return front, storage, rc

    def test_blobs_follow_a_redirect_without_taking_credentials_along(self):
        img = self.images["multi"]
        front, storage, rc = self.start_behind_front(creds=CREDS)
        dest = os.path.join(self.tmpdir(), "pull")
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), dest)
        self.assertEqual(skopeo.verify_dir_copy(dest, img), [])
        self.assertGreaterEqual(front.redirects, len(img.blobs))
        sent_to_storage = bytes(storage.client_bytes).lower()
        self.assertIn(b"signature=abc", sent_to_storage, "the redirect target was really used")
        self.assertNotIn(b"authorization:", sent_to_storage, "credentials must not follow a redirect to another host")
        # Cached blobs never go back to the (signed, expiring) redirect target.
        redirects_before = front.redirects
        skopeo.copy_to_dir(rc.docker_ref(img.repo, img.tag), os.path.join(self.tmpdir(), "again"))
        self.assertEqual(front.redirects, redirects_before)

    def test_a_transient_503_is_retried(self):
        img = self.images["multi"]
        front, _, rc = self.start_behind_front(fail_first=1)
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag),
                                    headers={"Accept": "application/vnd.oci.image.index.v1+json"})
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(front.failed, 1)
        self.assertIn("retrying", rc.log_text())
