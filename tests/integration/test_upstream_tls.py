"""HTTPS upstreams: a private CA, refusal without it, the explicit
skip-verification opt-in, and mutual TLS.

A TLS-terminating relay (support/relay.py with a test CA from support/tls.py)
stands in front of the plain-HTTP docker-registry.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_tls
"""

import shutil
import tempfile

from support import fixtures
from support import http as h
from support.relay import Relay
from support.tls import TestPki


class UpstreamTlsTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="regcache-it-pki-")
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.pki = TestPki(d)

    def start(self, require_client_cert=False, **upstream_options):
        relay = Relay(self.registry.port, server_tls=self.pki.server_context(require_client_cert)).start()
        self.addCleanup(relay.stop)
        upstream = {"name": self.registry.host, "url": relay.url}
        upstream.update(upstream_options)
        return self.start_regcache(config={"upstreams": [upstream], "default_upstream": self.registry.host})

    def get_manifest(self, rc):
        img = self.images["alt"]
        return h.request(rc.manifest_url(img.repo, img.tag), headers={"Accept": img.manifests[0].media_type})

    def test_verified_with_the_ca_file(self):
        rc = self.start(ca_file=self.pki.ca_cert)
        status, _, body = self.get_manifest(rc)
        self.assertEqual(status, 200, body[:300])
        self.assertBody(body, self.images["alt"].manifests[0].digest)

    def test_refused_without_the_ca_file(self):
        rc = self.start()
        status, _, body = self.get_manifest(rc)
        self.assertOciError(status, body, 503, "UNAVAILABLE")
        self.assertRegex(rc.log_text().lower(), "tls|certificate|handshake")

    def test_accepted_with_skip_verification_and_logged_loudly(self):
        rc = self.start(insecure_skip_verify=True)
        self.assertEqual(self.get_manifest(rc)[0], 200)
        self.assertIn("INSECURE", rc.log_text())

    def test_mutual_tls(self):
        rc = self.start(require_client_cert=True, ca_file=self.pki.ca_cert,
                        client_cert_file=self.pki.client_cert, client_key_file=self.pki.client_key)
        self.assertEqual(self.get_manifest(rc)[0], 200)
        rc_without = self.start(require_client_cert=True, ca_file=self.pki.ca_cert)
        status, _, body = self.get_manifest(rc_without)
        self.assertOciError(status, body, 503, "UNAVAILABLE")
