"""regcache in front of a docker-registry with token auth (auth.token): a
small in-process token server signs RS256 JWTs the registry trusts
(rootcertbundle).  Registry requests are answered with
`401 WWW-Authenticate: Bearer realm=...,service=...,scope=...`; regcache
fetches a token from the realm (anonymously, or with Basic credentials when
configured), caches it per scope and resends.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_token_auth
"""

import base64
import datetime
import http.server
import json
import os
import threading
import time
import unittest
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from support import fixtures, images, ports
from support import http as h
from support.registry import Registry
from support.regcache import regcache_bin, upstream_config

USER = "tokenuser"
PASSWORD = "Tk-s3cret-Pa55-9917"
ISSUER = "regcache-test-issuer"
SERVICE = "regcache test registry"


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """GET /token?service=..&scope=.. → {"token", "access_token", "expires_in", "issued_at"}.
    Valid Basic credentials get every requested action; anonymous callers
    get pull only; wrong credentials get 401."""

    def __init__(self, workdir):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regcache-test-token-signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = os.path.join(workdir, "token-signer.pem")
        with open(self.cert_path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.port = ports.free_port()
        self.requests = []  # (path with query, Authorization header or "")
        self._lock = threading.Lock()
        self._server = None

    @property
    def realm(self):
        return f"http://127.0.0.1:{self.port}/token"

    def sign(self, subject, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def token_requests(self):
        with self._lock:
            return list(self.requests)

    def start(self):
        owner = self
        good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization", "")
                with owner._lock:
                    owner.requests.append((self.path, auth))
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if url.path != "/token" or query.get("service") != [SERVICE] or (auth and auth != good):
                    self.send_response(401 if auth else 400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                access = []
                for scope in query.get("scope", []):
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    granted = actions.split(",") if auth else [a for a in actions.split(",") if a == "pull"]
                    access.append({"type": kind, "name": name, "actions": granted})
                token = owner.sign(USER if auth else "", access)
                body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                                   "issued_at": datetime.datetime.now(datetime.timezone.utc)
                                   .strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = h.serve_in_thread(Handler, self.port)
        return self

    def stop(self):
        h.stop_server(self._server)
        self._server = None


class TokenRegistry(Registry):
    """A Registry whose auth is auth.token instead of htpasswd (htpasswd_users
    is still set so readiness accepts 401 and pushes carry credentials)."""

    def __init__(self, token_server):
        super().__init__(htpasswd_users={USER: PASSWORD})
        self.token_server = token_server

    def _config(self):
        cfg = super()._config()
        cfg["auth"] = {"token": {"realm": self.token_server.realm, "service": SERVICE, "issuer": ISSUER,
                                 "rootcertbundle": self.token_server.cert_path}}
        return cfg


class UpstreamTokenAuthTests(fixtures.RegcacheTestCase):
    @classmethod
    def setUpClass(cls):
        regcache_bin()
        # Not UpstreamTestCase's seeded plain registry: this class brings its own.
        unittest.TestCase.setUpClass.__func__(cls)
        cls.workdir = fixtures.tempfile.mkdtemp(prefix="regcache-it-token-")
        cls.addClassCleanup(fixtures.shutil.rmtree, cls.workdir, True)
        cls.tokens = TokenServer(cls.workdir).start()
        cls.addClassCleanup(cls.tokens.stop)
        cls.registry = TokenRegistry(cls.tokens)
        cls.registry.start()
        cls.addClassCleanup(cls.registry.stop)
        cls.images = {}
        for name in ("alt", "docker"):
            repo, tag, _ = fixtures.STANDARD_IMAGES[name]
            cls.images[name] = images.push(fixtures.standard_layout(name), cls.registry.host, repo, tag,
                                           creds=(USER, PASSWORD))

    def pull_and_verify(self, rc):
        for name in ("alt", "docker"):
            img = self.images[name]
            with self.subTest(image=name):
                self.assertPulls(rc.docker_ref(img.repo, img.tag), img)

    def regcache_token_requests(self, before):
        return self.tokens.token_requests()[before:]

    def test_anonymous_token_pull(self):
        before = len(self.tokens.token_requests())
        rc = self.start_regcache(config=upstream_config(self.registry))
        self.pull_and_verify(rc)
        reqs = self.regcache_token_requests(before)
        self.assertTrue(reqs)
        self.assertTrue(all(auth == "" for _, auth in reqs), reqs)
        # One token per repository scope, reused for every manifest and blob of it.
        self.assertLessEqual(len(reqs), 2, reqs)
        # Later requests carry the token up front: at most the first one met a 401.
        self.assertLessEqual(len(self.registry.requests(status=401)), 1)

    def test_credentialed_token_pull_never_logs_secrets(self):
        path = os.path.join(self.tmpdir(), "pw")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        before = len(self.tokens.token_requests())
        rc = self.start_regcache(config=upstream_config(self.registry, username=USER, password_file=path))
        self.pull_and_verify(rc)
        reqs = self.regcache_token_requests(before)
        self.assertTrue(reqs)
        self.assertTrue(all(auth.startswith("Basic ") for _, auth in reqs), reqs)
        self.assertLessEqual(len(reqs), 2, reqs)
        log = rc.log_text()
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn("eyJ", log, "no JWT in the log")


if __name__ == "__main__":
    unittest.main()
