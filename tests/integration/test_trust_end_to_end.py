"""The cluster's registry Service as a node sees it: real clients pull over
regcache's TLS listener, each identified its own way, and get exactly what
the access rules give them.

- containerd (`ctr images pull --hosts-dir`) with a hosts.toml naming the
  test CA, and either a static `Authorization` header, a client certificate,
  or nothing;
- skopeo with the CA in `--src-cert-dir`, either `--src-creds` or a client
  certificate in the same directory.

The rules: the public repository for anyone, team-a's for group team-a
(alice) and the node certificate `node-7`; bob is signed in but in no group.
containerd's fallback `server` is an address nobody listens on, so a refused
pull cannot be mistaken for one the upstream answered.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_trust_end_to_end
"""

import os
import shutil
import tempfile

from support import containerd as ctd
from support import fixtures, ports, skips, skopeo
from support.images import KiB
from support.tls import TestPki
from test_access_control import PASSWORDS, basic, missing_htpasswd, write_htpasswd

PUBLIC = "library/node-base"
PRIVATE = "team-a/node-app"


@skips.requires("containerd", ctd.missing_binaries)
@skips.requires("htpasswd (apache2-utils)", missing_htpasswd)
class TrustEndToEndTests(fixtures.RegcacheTestCase):
    IMAGES = ["alt"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="regcache-it-trust-")
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.dir = d
        cls.pki = TestPki(os.path.join(d, "pki"))
        cls.node_cert = cls.pki.issue("node-7", "/CN=node-7", cls.pki.client_ext)
        cls.public = cls.upstream.push(fixtures.small_image("trust-public", 48 * KiB), PUBLIC, "v1")
        cls.private = cls.upstream.push(fixtures.small_image("trust-private", 48 * KiB), PRIVATE, "v1")

    def setUp(self):
        workdir = self.tmpdir()
        htpasswd = os.path.join(workdir, "htpasswd")
        write_htpasswd(htpasswd, PASSWORDS)
        self.tls_port = ports.free_port()
        config = {
            "server": {"tls": {"listen": f"{ports.LOOPBACK}:{self.tls_port}",
                               "cert_file": self.pki.server_cert, "key_file": self.pki.server_key,
                               "client_ca_file": self.pki.ca_cert, "client_auth": "optional"}},
            "upstreams": [{"name": self.registry.host, "url": self.registry.url, "insecure_http": True}],
            "default_upstream": self.registry.host,
            "auth": {"htpasswd_file": htpasswd, "groups": {"team-a": ["alice"]}},
            "access": [
                {"upstream": "*", "repositories": [PUBLIC], "allow": ["anonymous"]},
                {"upstream": self.registry.host, "repositories": ["team-a/**"], "allow": ["group:team-a", "node-7"]},
            ],
            "default_access": "deny",
        }
        self.rc = self.start_regcache(config=config, ready_status=401)
        self.tls_url = f"https://localhost:{self.tls_port}"

    # -- containerd ------------------------------------------------------
    def containerd_pull(self, img, client=None, headers=None):
        """A fresh containerd pulls img through regcache's TLS port; returns
        (the image record or None, the error text or None)."""
        c = ctd.Containerd()
        self.addCleanup(c.close)
        c.start()
        nobody = f"http://{ports.LOOPBACK}:{ports.free_port()}"
        hosts_dir = ctd.write_hosts_toml(self.tmpdir(), self.registry.host, self.tls_url, server=nobody,
                                         ca=self.pki.ca_cert, client=client, header=headers)
        ref = f"{self.registry.host}/{img.repo}:{img.tag}"
        try:
            c.pull(ref, hosts_dir)
        except ctd.CtrError as e:
            return None, str(e)
        return c.images().get(ref), None

    def assertContainerdPulls(self, img, **identity):
        record, error = self.containerd_pull(img, **identity)
        self.assertIsNone(error)
        self.assertEqual(record, (img.top_media_type, img.top_digest))

    def assertContainerdRefused(self, img, status, **identity):
        record, error = self.containerd_pull(img, **identity)
        self.assertIsNone(record, "the pull must fail")
        self.assertIn(status, error, "containerd reports why")

    def audit_lines(self, identity):
        return [line for line in self.rc.log_text().splitlines()
                if line.startswith("audit ") and f"identity={identity} " in line]

    def test_containerd_with_an_authorization_header_pulls_what_its_identity_may(self):
        self.assertContainerdPulls(self.private, headers={"Authorization": basic("alice", PASSWORDS["alice"])})
        self.assertTrue([a for a in self.audit_lines("alice") if "decision=allow" in a and PRIVATE in a],
                        "the first pull of the digest by alice is audited")
        self.assertContainerdRefused(self.private, "403", headers={"Authorization": basic("bob", PASSWORDS["bob"])})
        self.assertTrue([a for a in self.audit_lines("bob") if "decision=deny" in a and PRIVATE in a])
        self.assertContainerdRefused(self.private, "401",
                                     headers={"Authorization": basic("alice", "not-her-password")})

    def test_containerd_with_a_client_certificate_pulls_as_the_certificate_names(self):
        self.assertContainerdPulls(self.private, client=self.node_cert)
        self.assertTrue([a for a in self.audit_lines("node-7") if "decision=allow" in a and PRIVATE in a])
        # The CA's other client certificate (CN=regcache) names no one the rules allow.
        self.assertContainerdRefused(self.private, "403", client=(self.pki.client_cert, self.pki.client_key))

    def test_containerd_without_identity_pulls_public_images_only(self):
        self.assertContainerdPulls(self.public)
        self.assertContainerdRefused(self.private, "401")

    # -- skopeo ----------------------------------------------------------
    def cert_dir(self, client=None):
        """skopeo's --src-cert-dir: the CA as *.crt, a client pair as *.cert + *.key."""
        d = self.tmpdir()
        shutil.copy(self.pki.ca_cert, os.path.join(d, "ca.crt"))
        if client:
            shutil.copy(client[0], os.path.join(d, "client.cert"))
            shutil.copy(client[1], os.path.join(d, "client.key"))
        return d

    def skopeo_copy(self, img, creds=None, client=None):
        ref = f"docker://localhost:{self.tls_port}/{img.repo}:{img.tag}"
        dest = os.path.join(self.tmpdir(), "copy")
        return skopeo.copy_to_dir(ref, dest, tls_verify=True, creds=creds,
                                  extra_args=["--src-cert-dir", self.cert_dir(client)])

    def test_skopeo_over_tls_with_credentials_or_a_client_certificate(self):
        skopeo.verify_dir_copy(self.skopeo_copy(self.private, creds=("alice", PASSWORDS["alice"])), self.private)
        skopeo.verify_dir_copy(self.skopeo_copy(self.private, client=self.node_cert), self.private)
        skopeo.verify_dir_copy(self.skopeo_copy(self.public), self.public)
        with self.assertRaises(skopeo.SkopeoError) as refused:
            self.skopeo_copy(self.private, creds=("bob", PASSWORDS["bob"]))
        self.assertIn("denied", refused.exception.stderr.lower())
        with self.assertRaises(skopeo.SkopeoError) as anonymous:
            self.skopeo_copy(self.private)
        self.assertIn("unauthorized", anonymous.exception.stderr.lower())
