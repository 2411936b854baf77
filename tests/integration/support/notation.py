"""Notary Project (notation) signatures made with the openssl CLI, laid out as
notation writes them.

    pki = make_pki(tmpdir / "pki", "Team")     # root CA + code-signing leaf (RSA 2048 → PS256)
    pki.root_pem                               # the trust store file a rule names
    envelope = sign_envelope(pki, descriptor)  # JWS JSON (application/jose+json) bytes
    push_signature(registry.url, "team/app", descriptor, envelope, pki, tmpdir)

The envelope is the flattened JWS JSON serialization: the protected header
carries alg, cty, crit, io.cncf.notary.signingScheme (notary.x509) and
io.cncf.notary.signingTime; the payload is {"targetArtifact": descriptor};
the unprotected header's x5c holds the DER chain, leaf first. RSA 2048 is
the key `notation cert generate-test` makes, so the algorithm is PS256
(RSASSA-PSS, SHA-256, salt as long as the hash).

push_signature stores it as notation does on a registry without the
referrers API (Debian's docker-registry 2.8 answers it 404): a signature
manifest (artifactType application/vnd.cncf.notary.signature, the empty
config, one envelope layer, subject = the signed manifest) pushed by digest,
and the OCI 1.1 referrers tag schema: an image index tagged
`sha256-<hex of the signed manifest>` listing the signature with its
artifactType.
"""

import base64
import dataclasses
import datetime
import json
import os
import subprocess

from . import http as h
from . import images

JWS_MEDIA_TYPE = "application/jose+json"
COSE_MEDIA_TYPE = "application/cose"
SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
PAYLOAD_MEDIA_TYPE = "application/vnd.cncf.notary.payload.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
THUMBPRINTS_ANNOTATION = "io.cncf.notary.x509chain.thumbprint#S256"


@dataclasses.dataclass(frozen=True)
class Pki:
    directory: str
    root_pem: str
    leaf_pem: str
    leaf_key: str


def _openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def make_pki(directory, name):
    """A self-signed root CA and a leaf it issues for code signing."""
    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    path = lambda f: os.path.join(directory, f)  # noqa: E731
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("root.key"),
             "-out", path("root.pem"), "-days", "3650", "-subj", f"/CN={name} Root",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("leaf.key"),
             "-out", path("leaf.csr"), "-subj", f"/CN={name} Signer")
    with open(path("leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=codeSigning\n")
    _openssl("x509", "-req", "-in", path("leaf.csr"), "-CA", path("root.pem"),
             "-CAkey", path("root.key"), "-CAcreateserial", "-days", "365",
             "-extfile", path("leaf.ext"), "-out", path("leaf.pem"))
    return Pki(directory, path("root.pem"), path("leaf.pem"), path("leaf.key"))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_base64(pem_path):
    return base64.b64encode(_openssl("x509", "-in", pem_path, "-outform", "DER")).decode()


def sign_envelope(pki, descriptor, signing_time=None):
    """The JWS envelope notation would write for `descriptor` (a dict with
    mediaType, digest and size of the signed manifest)."""
    signing_time = signing_time or datetime.datetime.now(datetime.timezone.utc)
    headers = {
        "alg": "PS256",
        "cty": PAYLOAD_MEDIA_TYPE,
        "crit": ["io.cncf.notary.signingScheme"],
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": signing_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    protected = _b64url(json.dumps(headers, separators=(",", ":")).encode())
    payload = _b64url(json.dumps({"targetArtifact": descriptor}, separators=(",", ":")).encode())
    signature = _openssl("dgst", "-sha256", "-sign", pki.leaf_key,
                         "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                         stdin=f"{protected}.{payload}".encode())
    envelope = {
        "payload": payload,
        "protected": protected,
        "header": {
            "x5c": [_der_base64(pki.leaf_pem), _der_base64(pki.root_pem)],
            "io.cncf.notary.signingAgent": "regcache-tests",
        },
        "signature": _b64url(signature),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def _thumbprints(pki):
    return json.dumps([h.sha256_hex(base64.b64decode(_der_base64(p)))
                       for p in (pki.leaf_pem, pki.root_pem)], separators=(",", ":"))


def push_signature(registry_url, repo, subject, envelope, pki, directory,
                   envelope_media_type=JWS_MEDIA_TYPE):
    """Pushes `envelope` as the one notation signature of `subject` (the
    signed manifest's descriptor: mediaType, digest, size) to
    registry_url/repo. Returns the signature manifest's digest."""
    os.makedirs(str(directory), exist_ok=True)
    config = images.blob_from_bytes(directory, b"{}", EMPTY_MEDIA_TYPE)
    layer = images.blob_from_bytes(directory, envelope, envelope_media_type)
    for blob in (config, layer):
        images.http_push_blob(registry_url, repo, blob)
    annotations = {THUMBPRINTS_ANNOTATION: _thumbprints(pki),
                   "org.opencontainers.image.created": "2026-12-05T00:00:00Z"}
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": images.OCI_MANIFEST,
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": envelope_media_type, "digest": layer.digest, "size": layer.size}],
        "subject": subject,
        "annotations": annotations,
    }, separators=(",", ":")).encode()
    digest = h.sha256_digest(manifest)
    images.http_put_manifest(registry_url, repo, digest, manifest, images.OCI_MANIFEST)
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": images.OCI_INDEX,
        "manifests": [{"mediaType": images.OCI_MANIFEST, "digest": digest, "size": len(manifest),
                       "artifactType": SIGNATURE_ARTIFACT_TYPE, "annotations": annotations}],
    }, separators=(",", ":")).encode()
    tag = subject["digest"].replace(":", "-")
    images.http_put_manifest(registry_url, repo, tag, index, images.OCI_INDEX)
    return digest
