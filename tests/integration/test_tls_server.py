"""regcache's own TLS listener (server.tls): HTTPS beside plain HTTP,
client certificates (client_auth optional and require), the wrong protocol
on either port, and certificate rotation while a download is in flight.

The test CA (support/tls.py) signs the server certificate (localhost,
127.0.0.1) and the client certificates; a second CA stands for an unknown
one. The certificate files sit in a Kubernetes Secret volume's layout
(tls.crt -> ..data/tls.crt, ..data -> ..<version>/), rotated the way
cert-manager and the kubelet do it: a new directory, then ..data swapped.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_tls_server
"""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from support import containerd as ctd
from support import fixtures
from support import http as h
from support import ports
from support import skips
from support import skopeo
from support.fixtures import wait_until
from support.tls import TestPki

PLAIN_HTTP_ANSWER = b"The plain HTTP request was sent to HTTPS port"


class SecretVolume:
    """A directory laid out like a mounted Kubernetes Secret."""

    def __init__(self, directory):
        self.dir = directory
        self.versions = 0

    @property
    def cert(self):
        return os.path.join(self.dir, "tls.crt")

    @property
    def key(self):
        return os.path.join(self.dir, "tls.key")

    def publish(self, cert_file, key_file):
        """Atomically makes (cert_file, key_file) the volume's content."""
        self.versions += 1
        version = f"..v{self.versions}"
        os.makedirs(os.path.join(self.dir, version))
        shutil.copy(cert_file, os.path.join(self.dir, version, "tls.crt"))
        shutil.copy(key_file, os.path.join(self.dir, version, "tls.key"))
        scratch = os.path.join(self.dir, "..data_tmp")
        os.symlink(version, scratch)
        os.replace(scratch, os.path.join(self.dir, "..data"))
        for name in ("tls.crt", "tls.key"):
            if not os.path.islink(os.path.join(self.dir, name)):
                os.symlink(os.path.join("..data", name), os.path.join(self.dir, name))


class TlsServerTests(fixtures.RegcacheTestCase):
    IMAGES = ("multi", "alt", "docker-list")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="regcache-it-tls-server-")
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.pki = TestPki(os.path.join(d, "pki"))
        cls.stranger = TestPki(os.path.join(d, "stranger"))  # a CA regcache does not know
        cls.expired = cls.pki.issue_expired("expired", "/CN=expired", cls.pki.client_ext)
        cls.rotated = cls.pki.issue("rotated", "/CN=localhost/O=rotated", cls.pki.server_ext)
        # skopeo's --src-cert-dir: CAs as *.crt, a client pair as *.cert + *.key.
        cls.cert_dir = os.path.join(d, "skopeo-certs")
        os.makedirs(cls.cert_dir)
        shutil.copy(cls.pki.ca_cert, os.path.join(cls.cert_dir, "ca.crt"))

    def start_tls(self, client_auth="none", volume=None):
        """A regcache serving plain HTTP (rc.url) and TLS on rc.tls_port."""
        tls = {"listen": f"{ports.LOOPBACK}:{ports.free_port()}",
               "cert_file": volume.cert if volume else self.pki.server_cert,
               "key_file": volume.key if volume else self.pki.server_key,
               "client_auth": client_auth}
        if client_auth != "none":
            tls["client_ca_file"] = self.pki.ca_cert
        config = {"server": {"tls": tls}, "upstreams": [{"name": self.registry.host, "url": self.registry.url,
                                                         "insecure_http": True}],
                  "default_upstream": self.registry.host}
        rc = self.start_regcache(config=config)
        rc.tls_port = int(tls["listen"].rsplit(":", 1)[1])
        rc.tls_url = f"https://localhost:{rc.tls_port}"
        return rc

    def client_context(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        if cert:
            ctx.load_cert_chain(*cert)
        return ctx

    def curl(self, url, cert=None):
        """curl's exit code and the HTTP status it got ("000" when none)."""
        argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
                "--cacert", self.pki.ca_cert, url]
        if cert:
            argv += ["--cert", cert[0], "--key", cert[1]]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return res.returncode, res.stdout

    def served_certificate(self, rc):
        """The certificate a new handshake shows, as ssl.getpeercert() gives it."""
        with socket.create_connection((ports.LOOPBACK, rc.tls_port), timeout=10) as raw:
            with self.client_context().wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.getpeercert()

    @staticmethod
    def organization(cert):
        return dict(field for rdn in cert["subject"] for field in rdn).get("organizationName")

    def test_skopeo_pulls_over_tls_with_the_test_ca(self):
        rc = self.start_tls()
        img = self.images["alt"]
        dest = os.path.join(self.tmpdir(), "pull")
        skopeo.copy_to_dir(f"docker://localhost:{rc.tls_port}/{img.repo}:{img.tag}", dest, tls_verify=True,
                           extra_args=["--src-cert-dir", self.cert_dir])
        self.assertEqual(skopeo.verify_dir_copy(dest, img), [])
        # The plain listener serves the same cache at the same time.
        self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
        self.assertEqual(self.curl(rc.tls_url + "/v2/"), (0, "200"))
        status, _, _ = h.request(rc.url + "/v2/")
        self.assertEqual(status, 200)

    @skips.requires("containerd", ctd.missing_binaries)
    def test_containerd_pulls_with_the_ca_and_a_client_certificate_from_hosts_toml(self):
        rc = self.start_tls(client_auth="require")
        img = self.images["docker-list"]
        # The fallback server is a port nobody listens on: a failed handshake fails the pull.
        nowhere = f"http://{ports.LOOPBACK}:{ports.free_port()}"
        hosts_dir = ctd.write_hosts_toml(self.tmpdir(), self.registry.host, rc.tls_url, server=nowhere,
                                         ca=self.pki.ca_cert, client=(self.pki.client_cert, self.pki.client_key))
        containerd = ctd.Containerd()
        self.addCleanup(containerd.close)
        containerd.start()
        ref = f"{self.registry.host}/{img.repo}:{img.tag}"
        containerd.pull(ref, hosts_dir)
        self.assertIn(ref, containerd.images())
        amd64 = img.manifest_for("amd64")
        self.assertLessEqual({b.digest for b in amd64.layers}, containerd.content_digests())
        self.assertIn(f"path=/v2/{img.repo}/manifests/{img.tag}", rc.log_text())

        # Without the client certificate the handshake is refused, and so the pull.
        refused = ctd.write_hosts_toml(self.tmpdir(), self.registry.host, rc.tls_url, server=nowhere,
                                       ca=self.pki.ca_cert)
        fresh = ctd.Containerd()
        self.addCleanup(fresh.close)
        fresh.start()
        with self.assertRaises(ctd.CtrError):
            fresh.pull(ref, refused, timeout=30)
        self.assertIn("no client certificate", rc.log_text())

    def test_plain_http_to_the_tls_port_and_tls_to_the_plain_port_fail_clearly(self):
        rc = self.start_tls()
        status, _, body = h.raw_request(f"http://{ports.LOOPBACK}:{rc.tls_port}/v2/")
        self.assertEqual(status, 400)
        self.assertIn(PLAIN_HTTP_ANSWER, body)
        code, http_code = self.curl(f"https://localhost:{rc.port}/v2/")
        self.assertNotEqual(code, 0, "curl over TLS to the plain port succeeded")
        self.assertEqual(http_code, "000")
        # A TLS client gets an answer it refuses, never a hang.
        started = time.monotonic()
        with self.assertRaises(ssl.SSLError):
            with socket.create_connection((ports.LOOPBACK, rc.port), timeout=10) as raw:
                self.client_context().wrap_socket(raw, server_hostname="localhost")
        self.assertLess(time.monotonic() - started, 5)

    def test_client_auth_require_refuses_missing_expired_and_unknown_certificates(self):
        rc = self.start_tls(client_auth="require")
        client = (self.pki.client_cert, self.pki.client_key)
        self.assertEqual(self.curl(rc.tls_url + "/v2/", cert=client), (0, "200"))
        for name, cert in (("no certificate", None), ("expired", self.expired),
                           ("unknown CA", (self.stranger.client_cert, self.stranger.client_key))):
            code, http_code = self.curl(rc.tls_url + "/v2/", cert=cert)
            self.assertNotEqual(code, 0, name)
            self.assertEqual(http_code, "000", name)
        log = rc.log_text()
        self.assertIn("no client certificate", log)
        self.assertIn("certificate has expired", log)
        self.assertRegex(log, "refused: client certificate not accepted: (unable to get local issuer|"
                              "unable to verify the first)")

    def test_client_auth_optional_serves_everyone_and_trusts_only_verified_certificates(self):
        rc = self.start_tls(client_auth="optional")
        for cert in (None, (self.pki.client_cert, self.pki.client_key), self.expired,
                     (self.stranger.client_cert, self.stranger.client_key)):
            self.assertEqual(self.curl(rc.tls_url + "/v2/", cert=cert), (0, "200"), cert)
        self.assertIn("certificate that does not verify (certificate has expired): treated as none", rc.log_text())

    def test_rotation_during_a_download_and_a_bad_pair_keeps_the_old_certificate(self):
        volume = SecretVolume(self.tmpdir())
        volume.publish(self.pki.server_cert, self.pki.server_key)
        rc = self.start_tls(volume=volume)
        self.assertIsNone(self.organization(self.served_certificate(rc)))
        img = self.images["multi"]
        blob = img.largest_blob()
        self.assertGreaterEqual(blob.size, fixtures.LARGE_LAYER)

        # A slow reader holds a download open across the rotation.
        with h.stream(f"{rc.tls_url}/v2/{img.repo}/blobs/{blob.digest}", tls_context=self.client_context(),
                      timeout=60) as download:
            self.assertEqual(download.status, 200)
            first = download.read_exactly(1 << 20)
            volume.publish(*self.rotated)
            self.assertTrue(wait_until(lambda: self.organization(self.served_certificate(rc)) == "rotated", 10),
                            "new handshakes still show the old certificate")
            digest, rest = hashlib.sha256(first), 0
            while chunk := download.read(256 << 10):
                digest.update(chunk)
                rest += len(chunk)
        self.assertEqual(len(first) + rest, blob.size)
        self.assertEqual("sha256:" + digest.hexdigest(), blob.digest, "the download is not byte-exact")
        self.assertEqual(rc.metric("regcache_tls_reloads_total", result="success"), 1)

        # A new certificate with the key of another: logged, the rotated one stays.
        volume.publish(self.pki.server_cert, self.rotated[1])
        self.assertTrue(wait_until(lambda: rc.metric("regcache_tls_reloads_total", result="failure") == 1, 10))
        self.assertIn("does not match cert_file", rc.log_text())
        self.assertEqual(self.organization(self.served_certificate(rc)), "rotated")
        self.assertEqual(self.curl(rc.tls_url + "/v2/"), (0, "200"))
