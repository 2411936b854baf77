"""The signature gate with Notary Project (notation) signatures, against a
real docker-registry upstream that has no referrers API.

Signatures are stored the way notation stores them on such a registry
(support/notation.py): a signature manifest with artifactType
application/vnd.cncf.notary.signature, subject = the signed manifest and one
JWS envelope layer, listed by the referrers tag schema's index tagged
`sha256-<hex>`. The envelopes are real JWS (PS256) over the manifest's
descriptor, with an x5c chain from a code-signing leaf to a root made with
openssl.

One upstream and one regcache for the class; two rules:
    team/**     enforce, trust store = the trusted root
    lenient/**  warn,    the same trust store
Pulled with skopeo: signed → served; unsigned, signed under another root,
COSE envelope → 403 DENIED naming the digest in enforce; served in warn.

Run:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_notation_gate
"""

import os
import shutil
import tempfile
import unittest

from support import images, notation, skopeo
from support import http as h
from support.images import KiB
from support.regcache import Regcache, regcache_bin, upstream_config
from support.registry import Registry

TAG = "v1"


class NotationGateTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        regcache_bin()
        work = tempfile.mkdtemp(prefix="regcache-it-notation-")
        cls.addClassCleanup(shutil.rmtree, work, True)
        cls.work = work
        cls.registry = Registry()
        cls.addClassCleanup(cls.registry.stop)
        cls.registry.start()
        trusted = notation.make_pki(os.path.join(work, "trusted"), "Team")
        other = notation.make_pki(os.path.join(work, "other"), "Stranger")

        cls.images = {}
        for repo in ("team/signed", "team/unsigned", "team/other-root", "team/cose", "lenient/other-root"):
            img = images.build_image(os.path.join(work, repo.replace("/", "-")), seed=f"notation-{repo}",
                                     fmt="oci", multi_arch=False, shared_layers=[], layers=[16 * KiB])
            cls.images[repo] = images.http_push(img, cls.registry.url, repo, TAG)
        cls.sign("team/signed", trusted)
        cls.sign("team/other-root", other)
        cls.sign("lenient/other-root", other)
        # A COSE_Sign1 envelope's first bytes: refused for its type, never parsed.
        cls.sign("team/cose", trusted, envelope=b"\xd2\x84\x58\x40", media_type=notation.COSE_MEDIA_TYPE)

        config = upstream_config(cls.registry)
        config["verify"] = [
            {"upstream": "*", "repositories": ["team/**"], "mode": "enforce",
             "notation_trust_store": trusted.root_pem},
            {"upstream": "*", "repositories": ["lenient/**"], "mode": "warn",
             "notation_trust_store": trusted.root_pem},
        ]
        cls.rc = Regcache(config=config)
        cls.addClassCleanup(cls.rc.close)
        cls.rc.start()

    @classmethod
    def sign(cls, repo, pki, envelope=None, media_type=notation.JWS_MEDIA_TYPE):
        img = cls.images[repo]
        subject = {"mediaType": img.top_media_type, "digest": h.sha256_digest(img.top_raw),
                   "size": len(img.top_raw)}
        if envelope is None:
            envelope = notation.sign_envelope(pki, subject)
        notation.push_signature(cls.registry.url, repo, subject, envelope, pki,
                                os.path.join(cls.work, "signatures", repo.replace("/", "-")),
                                envelope_media_type=media_type)

    def pull(self, repo):
        dest = tempfile.mkdtemp(prefix="regcache-it-notation-pull-")
        self.addCleanup(shutil.rmtree, dest, True)
        skopeo.copy_to_dir(skopeo.docker_ref(self.rc.host, repo, TAG), os.path.join(dest, "image"))
        return skopeo.verify_dir_copy(os.path.join(dest, "image"), self.images[repo])

    def assertDenied(self, repo, reason):
        digest = h.sha256_digest(self.images[repo].top_raw)
        status, _, body = h.request(self.rc.manifest_url(repo, TAG),
                                    headers={"Accept": images.ALL_MANIFEST_TYPES})
        self.assertEqual(status, 403, body[:500])
        errors = h.oci_errors(body)
        self.assertEqual([e["code"] for e in errors], ["DENIED"], body[:500])
        self.assertIn(digest, errors[0]["message"])
        self.assertIn(reason, errors[0]["message"])
        with self.assertRaises(skopeo.SkopeoError) as refused:
            self.pull(repo)
        # skopeo shows the OCI error code and message of the 403.
        self.assertIn(f"denied: manifest {repo}:{TAG} ({digest})", refused.exception.stderr)

    def test_a_signature_chaining_to_the_trust_store_is_served(self):
        self.assertEqual(self.pull("team/signed"), [])
        digest = h.sha256_digest(self.images["team/signed"].top_raw)
        self.assertRegex(self.rc.log_text(),
                         rf"team/signed@{digest} passed: Notary Project signature verified, "
                         r"signing certificate sha256:[0-9a-f]{64}")

    def test_an_unsigned_image_is_denied(self):
        self.assertDenied("team/unsigned", "no signature")

    def test_a_signature_under_another_root_is_denied(self):
        self.assertDenied("team/other-root", "trust store")

    def test_a_cose_envelope_is_denied_by_name(self):
        self.assertDenied("team/cose", "COSE")

    def test_warn_serves_what_enforce_denies(self):
        self.assertEqual(self.pull("lenient/other-root"), [])
        self.assertRegex(self.rc.log_text(),
                         r"lenient/other-root@sha256:[0-9a-f]{64} failed \(warn rule\): .*"
                         r"the certificate chain does not lead to the trust store\); served \(warn\)")


if __name__ == "__main__":
    unittest.main()
