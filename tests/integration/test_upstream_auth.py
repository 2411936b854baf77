"""regcache in front of a docker-registry that requires credentials (htpasswd,
i.e. HTTP Basic): credentials from upstreams[].username + password_file or
password_env.

Without credentials (or with wrong ones) the upstream's 401 cannot be
answered: regcache then answers the client 401 UNAUTHORIZED (an OCI error
body; an upstream 403 would be 403 DENIED), never a 5xx, and sends each
client request upstream once: a 4xx is not retried.  It never passes the
upstream's challenge on (the credentials regcache needs are its own
configuration, not the client's).  Credentials never appear in regcache's log.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_upstream_auth
"""

import base64
import os
import subprocess

from support import fixtures, ports, yamlish
from support import http as h
from support.images import CONTAINERD_ACCEPT
from support.regcache import regcache_bin, upstream_config

USER = "puller"
PASSWORD = "Zq-s3cret-Pa55-7731"


class UpstreamCredentialsTests(fixtures.RegcacheTestCase):
    IMAGES = ["alt", "docker"]
    REGISTRY_USERS = {USER: PASSWORD}

    def password_file(self, content=PASSWORD + "\n"):
        path = os.path.join(self.tmpdir(), "password")
        with open(path, "w") as f:
            f.write(content)
        return path

    def assertNoSecrets(self, rc):
        log = rc.log_text()
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn(base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), log)

    def test_skopeo_pull_with_password_file(self):
        cfg = upstream_config(self.registry, username=USER, password_file=self.password_file())
        rc = self.start_regcache(config=cfg)
        for name in ("alt", "docker"):
            img = self.images[name]
            with self.subTest(image=name):
                self.assertPulls(rc.docker_ref(img.repo, img.tag), img)
        ok = self.registry.requests(status=200)
        self.assertTrue(ok, "the upstream must have answered authorized requests")
        # Basic is remembered: only the first request of the upstream meets a 401.
        self.assertLessEqual(len(self.registry.requests(status=401)), 1)
        self.assertNoSecrets(rc)

    def test_password_env(self):
        cfg = upstream_config(self.registry, username=USER, password_env="REGCACHE_IT_UPSTREAM_PW")
        rc = self.start_regcache(config=cfg, env=dict(os.environ, REGCACHE_IT_UPSTREAM_PW=PASSWORD))
        img = self.images["alt"]
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag),
                                    headers={"Accept": CONTAINERD_ACCEPT})
        self.assertEqual(status, 200, body[:300])
        self.assertNoSecrets(rc)

    def unauthorized_requests(self, rc):
        """A manifest GET and HEAD and a blob GET and HEAD of an image regcache
        has not cached: each must be answered 401 UNAUTHORIZED."""
        img = self.images["alt"]
        blob = img.layers[0].digest
        for method, url in (("GET", rc.manifest_url(img.repo, img.tag)),
                            ("HEAD", rc.manifest_url(img.repo, img.tag)),
                            ("GET", rc.blob_url(img.repo, blob)),
                            ("HEAD", rc.blob_url(img.repo, blob))):
            with self.subTest(method=method, url=url):
                status, headers, body = h.request(url, method=method, headers={"Accept": CONTAINERD_ACCEPT})
                self.assertEqual(status, 401, body[:300])
                if method == "GET":
                    self.assertOciError(status, body, 401, "UNAUTHORIZED")
                self.assertNotIn("www-authenticate", headers)
        return 4

    def test_without_credentials_the_client_gets_401_and_nothing_is_retried(self):
        rc = self.start_regcache(config=upstream_config(self.registry))
        sent = self.unauthorized_requests(rc)
        upstream = self.registry.requests()
        self.assertEqual(len(upstream), sent, "one upstream request per client request: "
                         + "; ".join(f"{e.method} {e.path} {e.status}" for e in upstream))
        self.assertTrue(all(e.status == 401 for e in upstream))

    def test_wrong_password_gives_401_is_not_retried_and_not_logged(self):
        cfg = upstream_config(self.registry, username=USER, password_file=self.password_file("wrong-Pw-4455\n"))
        rc = self.start_regcache(config=cfg)
        img = self.images["docker"]
        status, _, body = h.request(rc.manifest_url(img.repo, img.tag))
        self.assertOciError(status, body, 401, "UNAUTHORIZED")
        # The first request learns that the upstream wants Basic (an anonymous
        # try, then the credentials); from then on each carries them at once.
        self.assertEqual(len(self.registry.requests()), 2)
        self.registry.reset_log_marker()
        sent = self.unauthorized_requests(rc)
        upstream = self.registry.requests()
        self.assertEqual(len(upstream), sent, "one upstream request per client request: "
                         + "; ".join(f"{e.method} {e.path} {e.status}" for e in upstream))
        self.assertTrue(all(e.status == 401 for e in upstream))
        log = rc.log_text()
        self.assertNotIn("wrong-Pw-4455", log)
        self.assertIn("password redacted", log)
        self.assertNoSecrets(rc)

    def test_missing_password_source_is_a_startup_error(self):
        d = self.tmpdir()
        missing = os.path.join(d, "no-such-password")
        for key, extra in (("password_file", {"password_file": missing}),
                           ("password_env", {"password_env": "REGCACHE_IT_NOT_SET_ANYWHERE"})):
            with self.subTest(key=key):
                path = os.path.join(d, f"{key}.yaml")
                yamlish.write(path, upstream_config(self.registry, username=USER, **extra))
                env = {k: v for k, v in os.environ.items() if k != "REGCACHE_IT_NOT_SET_ANYWHERE"}
                res = subprocess.run([regcache_bin(), "serve", "--config", path, "--listen", f"127.0.0.1:{ports.free_port()}",
                                      "--data", os.path.join(d, "data-" + key)],
                                     capture_output=True, text=True, timeout=30, env=env)
                out = res.stdout + res.stderr
                self.assertEqual(res.returncode, 2, out)
                self.assertIn(f"upstreams[{self.registry.host}].{key}", out)
                self.assertNotIn(missing, out, "the setting's value is never echoed")


if __name__ == "__main__":
    import unittest
    unittest.main()
