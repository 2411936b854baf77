"""The signature gate (`verify:`) against a real docker-registry upstream,
pulled through by skopeo and containerd.

Signatures are made the way cosign makes and stores them, with OpenSSL: an
ECDSA P-256 key (`openssl ecparam -genkey`), the simple-signing payload
naming the image's manifest digest, `openssl dgst -sha256 -sign` over the
payload's bytes, Base64 in the layer annotation
`dev.cosignproject.cosign/signature`, and the artifact pushed over plain
HTTP as the tag `sha256-<hex>.sig` next to the image (docker-registry 2.8
has no referrers API).

One upstream and one regcache for the class (tag_ttl 1s), three rules:
enforce for signed/**, warn for warned/**, and enforce without the blob
check (gate_blobs: false, as shards run it) for shard/**. Each case has an
image of its own (verdicts are kept per digest):

    signed     signed with the trusted key           served
    unsigned   no signature                          403 in enforce, served in warn
    tampered   a trusted signature of another image  403 in enforce
    wrongkey   signed with another key               403 in enforce, served in warn
    later      unsigned, then signed                 403, then served once tag_ttl passed

containerd's fallback `server` is an address nobody listens on, so a pull
regcache refused cannot succeed past it.

SignatureGateOfflineTests: verdicts are kept in the index, so after kill -9
and a restart with the upstream gone, a signed image is still served and an
unsigned one still refused.

Run:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_signature_gate
"""

import base64
import json
import os
import shutil
import tempfile

from support import containerd as ctd
from support import fixtures, images, ports, process, skips, skopeo
from support import http as h
from support.regcache import upstream_config
from support.relay import Relay
from test_containerd import access_entries

ENFORCED = "signed/app"
WARNED = "warned/app"
UNGATED_BLOBS = "shard/app"
CASES = ("signed", "unsigned", "tampered", "wrongkey", "later")


def openssl(*args, stdin=None):
    res = process.run(["openssl"] + list(args), timeout=30, input=stdin)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {res.stderr.decode(errors='replace')}")
    return res.stdout


def make_key(directory, name):
    """An ECDSA P-256 key pair as cosign generate-key-pair makes: (private PEM path, public PEM path)."""
    private = os.path.join(directory, name + ".key")
    public = os.path.join(directory, name + ".pub")
    openssl("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", private)
    openssl("ec", "-in", private, "-pubout", "-out", public)
    return private, public


def push_cosign_signature(registry, repo, target_digest, signed_digest, private_key, workdir):
    """Signs a simple-signing payload naming `signed_digest` with `private_key`
    and pushes it as cosign does: payload blob, config, and the manifest
    tagged sha256-<hex of target_digest>.sig."""
    payload = json.dumps({
        "critical": {"identity": {"docker-reference": f"{registry.host}/{repo}"},
                     "image": {"docker-manifest-digest": signed_digest},
                     "type": "cosign container image signature"},
        "optional": None}, separators=(",", ":")).encode()
    payload_blob = images.blob_from_bytes(workdir, payload, "application/vnd.dev.cosign.simplesigning.v1+json")
    signature = base64.b64encode(openssl("dgst", "-sha256", "-sign", private_key, payload_blob.path)).decode()
    config = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                         "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                         "rootfs": {"type": "layers", "diff_ids": [payload_blob.digest]}},
                        separators=(",", ":")).encode()
    config_blob = images.blob_from_bytes(workdir, config, "application/vnd.oci.image.config.v1+json")
    for blob in (payload_blob, config_blob):
        images.http_push_blob(registry.url, repo, blob)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_blob.media_type, "size": config_blob.size, "digest": config_blob.digest},
        "layers": [{"mediaType": payload_blob.media_type, "size": payload_blob.size, "digest": payload_blob.digest,
                    "annotations": {"dev.cosignproject.cosign/signature": signature}}]},
        separators=(",", ":")).encode()
    tag = "sha256-" + target_digest.split(":", 1)[1] + ".sig"
    images.http_put_manifest(registry.url, repo, tag, manifest, images.OCI_MANIFEST)


@skips.requires("containerd", ctd.missing_binaries)
class SignatureGateTests(fixtures.RegcacheTestCase):
    IMAGES = ["alt"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="regcache-it-signatures-")
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.dir = d
        cls.trusted_key, cls.trusted_pub = make_key(d, "trusted")
        cls.other_key, _ = make_key(d, "other")
        cls.pushed = {}
        for repo in (ENFORCED, WARNED):
            for case in CASES:
                cls.pushed[repo, case] = cls.upstream.push(fixtures.small_image("sig-" + case), repo, case)
        cls.pushed[UNGATED_BLOBS, "unsigned"] = cls.upstream.push(fixtures.small_image("sig-shard"), UNGATED_BLOBS,
                                                                  "unsigned")
        for repo in (ENFORCED, WARNED):
            digest = cls.pushed[repo, "signed"].top_digest
            push_cosign_signature(cls.registry, repo, digest, digest, cls.trusted_key, d)
            # A trusted signature, but of the signed image: it covers another digest.
            push_cosign_signature(cls.registry, repo, cls.pushed[repo, "tampered"].top_digest, digest,
                                  cls.trusted_key, d)
            wrong = cls.pushed[repo, "wrongkey"].top_digest
            push_cosign_signature(cls.registry, repo, wrong, wrong, cls.other_key, d)

        config = upstream_config(cls.registry, tag_ttl="1s")
        config["verify"] = [
            {"upstream": "*", "repositories": ["signed/**"], "mode": "enforce", "cosign_keys": [cls.trusted_pub]},
            {"upstream": cls.registry.host, "repositories": ["warned/**"], "mode": "warn",
             "cosign_keys": [cls.trusted_pub]},
            {"upstream": "*", "repositories": ["shard/**"], "mode": "enforce", "cosign_keys": [cls.trusted_pub],
             "gate_blobs": False},
        ]
        cls.rc = fixtures.Regcache(config=config)
        cls.addClassCleanup(cls.rc.close)
        cls.rc.start()
        cls.containerd = ctd.Containerd()
        cls.addClassCleanup(cls.containerd.close)
        cls.containerd.start()
        # Fallback for containerd that nobody answers: a refused pull stays refused.
        cls.hosts_dir = ctd.write_hosts_toml(os.path.join(d, "hosts"), cls.registry.host, cls.rc.url,
                                             server=f"http://{ports.LOOPBACK}:{ports.free_port()}")

    # -- helpers -------------------------------------------------------------
    def skopeo_pull(self, repo, case):
        return skopeo.copy_to_dir(skopeo.docker_ref(self.rc.host, repo, case), os.path.join(self.tmpdir(), "pull"))

    def containerd_pull(self, repo, case):
        return self.containerd.pull(f"{self.registry.host}/{repo}:{case}", self.hosts_dir)

    def manifest(self, repo, case):
        return h.request(self.rc.manifest_url(repo, case), "GET",
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})

    def assertRefused(self, repo, case, reason):
        img = self.pushed[repo, case]
        status, _, body = self.manifest(repo, case)
        self.assertOciError(status, body, 403, "DENIED")
        message = h.oci_errors(body)[0]["message"]
        self.assertIn(img.top_digest, message)
        self.assertIn(reason, message)
        with self.assertRaises(skopeo.SkopeoError) as refused:
            self.skopeo_pull(repo, case)
        self.assertIn("denied", refused.exception.stderr.lower())
        mark = len(self.rc.log_text())
        with self.assertRaises(ctd.CtrError):
            self.containerd_pull(repo, case)
        statuses = {s for m, p, _, s, _, _ in access_entries(self.rc.log_text()[mark:])
                    if p == f"/v2/{repo}/manifests/{case}"}
        self.assertEqual(statuses, {403}, "containerd asked regcache and was refused")

    def verdicts(self, verdict, mode):
        return self.rc.metric("regcache_signature_verdicts_total", verdict=verdict, mode=mode)

    # -- tests ---------------------------------------------------------------
    def test_a_signed_image_is_served_to_skopeo_and_containerd(self):
        img = self.pushed[ENFORCED, "signed"]
        self.assertPulls(self.rc.docker_ref(ENFORCED, "signed"), img)
        self.containerd_pull(ENFORCED, "signed")
        self.assertIn(img.top_digest, self.containerd.content_digests())
        self.assertGreater(self.verdicts("pass", "enforce"), 0)
        self.assertIn("passed: cosign signature verified by key", self.rc.log_text())

    def test_unsigned_tampered_and_wrong_key_images_are_refused_in_enforce(self):
        self.assertRefused(ENFORCED, "unsigned", "no signature found")
        self.assertRefused(ENFORCED, "tampered", "its signature covers another manifest digest")
        self.assertRefused(ENFORCED, "wrongkey", "no configured key verifies its signatures")
        # Nor are their blobs served to a client that skips the manifest.
        layer = self.pushed[ENFORCED, "unsigned"].layers[0].digest
        status, _, body = h.request(self.rc.blob_url(ENFORCED, layer))
        self.assertOciError(status, body, 403, "DENIED")
        self.assertGreater(self.verdicts("fail", "enforce"), 0)

    def test_without_the_blob_check_enforce_refuses_the_manifest_but_serves_its_blobs(self):
        self.assertRefused(UNGATED_BLOBS, "unsigned", "no signature found")
        layer = self.pushed[UNGATED_BLOBS, "unsigned"].layers[0]
        status, _, body = h.request(self.rc.blob_url(UNGATED_BLOBS, layer.digest))
        self.assertEqual(status, 200, body[:300])
        self.assertBody(body, layer.digest)

    def test_warn_serves_unsigned_and_wrong_key_images_and_counts_them(self):
        before = self.verdicts("fail", "warn")
        for case in ("unsigned", "wrongkey"):
            self.assertPulls(self.rc.docker_ref(WARNED, case), self.pushed[WARNED, case])
            self.containerd_pull(WARNED, case)
            self.assertIn(self.pushed[WARNED, case].top_digest, self.containerd.content_digests())
        self.assertGreaterEqual(self.verdicts("fail", "warn") - before, 4)
        self.assertIn("served (warn)", self.rc.log_text())

    def test_a_signature_pushed_later_is_found_once_tag_ttl_passed(self):
        img = self.pushed[ENFORCED, "later"]
        status, _, body = self.manifest(ENFORCED, "later")
        self.assertOciError(status, body, 403, "DENIED")
        push_cosign_signature(self.registry, ENFORCED, img.top_digest, img.top_digest, self.trusted_key,
                              self.tmpdir())
        status, _, body = self.manifest(ENFORCED, "later")
        self.assertEqual(status, 403, "a failed verdict stands until tag_ttl passed")
        self.rc.advance_clock(2)
        self.assertPulls(self.rc.docker_ref(ENFORCED, "later"), img)
        self.containerd_pull(ENFORCED, "later")
        self.assertIn(img.top_digest, self.containerd.content_digests())

    def test_the_signature_artifact_itself_is_served(self):
        digest = self.pushed[ENFORCED, "signed"].top_digest
        tag = "sha256-" + digest.split(":", 1)[1] + ".sig"
        status, _, body = self.manifest(ENFORCED, tag)
        self.assertEqual(status, 200, body[:300])
        payload = json.loads(body)["layers"][0]["digest"]
        status, _, payload_body = h.request(self.rc.blob_url(ENFORCED, payload))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(payload_body)["critical"]["image"]["docker-manifest-digest"], digest)


class SignatureGateOfflineTests(fixtures.RegcacheTestCase):
    IMAGES = ["alt"]
    REPO = "offline/app"

    def test_verdicts_hold_after_a_crash_with_the_upstream_down(self):
        d = self.tmpdir()
        key, pub = make_key(d, "trusted")
        signed = self.upstream.push(fixtures.small_image("sig-offline-signed"), self.REPO, "signed")
        unsigned = self.upstream.push(fixtures.small_image("sig-offline-unsigned"), self.REPO, "unsigned")
        push_cosign_signature(self.registry, self.REPO, signed.top_digest, signed.top_digest, key, d)
        relay = Relay(self.registry.port).start()
        self.addCleanup(relay.stop)
        upstream = {"name": self.registry.host, "url": relay.url, "insecure_http": True}
        rc = self.start_regcache(config={
            "upstreams": [upstream], "default_upstream": self.registry.host,
            "verify": [{"upstream": "*", "repositories": ["offline/**"], "mode": "enforce",
                        "cosign_keys": [pub]}]})
        self.assertPulls(rc.docker_ref(self.REPO, "signed"), signed)
        status, _, body = h.request(rc.manifest_url(self.REPO, "unsigned"))
        self.assertOciError(status, body, 403, "DENIED")

        relay.stop()
        rc.kill9()
        rc.restart()
        self.assertPulls(rc.docker_ref(self.REPO, "signed"), signed)
        self.assertPulls(rc.docker_ref(self.REPO, signed.top_digest), signed)
        status, _, body = h.request(rc.manifest_url(self.REPO, unsigned.top_digest))
        self.assertOciError(status, body, 403, "DENIED")
        self.assertIn("no signature found", h.oci_errors(body)[0]["message"])
