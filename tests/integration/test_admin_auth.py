"""The admin API's bearer token (admin.token_file): regcache refuses to start
with the admin API beyond loopback and no token; with a token every admin
endpoint answers 401 (WWW-Authenticate: Bearer realm="regcache-admin")
without it or with a wrong one, the CLI sends it from --admin-token-file or
REGCACHE_ADMIN_TOKEN, a rotated file takes effect without a restart, and the
token never appears in the log.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_admin_auth
"""

import json
import os
import subprocess
import tempfile
import unittest

from support import fixtures, ports
from support import http as h
from support.regcache import regcache_bin

TOKEN = "it-admin-token-5f0c8e2b9a7d41c3"
ROTATED = "it-rotated-token-0b1c2d3e4f5a6b7c8d9e"


def write_token(path, token):
    """Replaces the file as a Secret volume update does: a new file renamed over it."""
    scratch = path + ".new"
    with open(scratch, "w") as f:
        f.write(token + "\n")
    os.replace(scratch, path)


class AdminStartupTests(unittest.TestCase):
    def test_admin_beyond_loopback_without_a_token_refuses_to_start(self):
        with tempfile.TemporaryDirectory() as d:
            config = os.path.join(d, "regcache.yaml")
            with open(config, "w") as f:
                f.write("admin:\n  listen: 0.0.0.0:%d\n" % ports.free_port())
            res = subprocess.run([regcache_bin(), "serve", "--config", config, "--data", os.path.join(d, "data"),
                                  "--listen", f"{ports.LOOPBACK}:{ports.free_port()}"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertIn("admin.token_file: must be set when admin.listen", res.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "data", "index")), "nothing may start")

    def test_an_unusable_token_file_refuses_to_start_without_echoing_it(self):
        with tempfile.TemporaryDirectory() as d:
            token_file = os.path.join(d, "token")
            with open(token_file, "w") as f:
                f.write("short-secret\n")
            config = os.path.join(d, "regcache.yaml")
            with open(config, "w") as f:
                f.write(f"admin:\n  token_file: {token_file}\n")
            res = subprocess.run([regcache_bin(), "serve", "--config", config, "--data", os.path.join(d, "data"),
                                  "--listen", f"{ports.LOOPBACK}:{ports.free_port()}",
                                  "--admin-listen", f"{ports.LOOPBACK}:{ports.free_port()}"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertIn("admin.token_file", res.stderr)
            self.assertIn("shorter than 16", res.stderr)
            self.assertNotIn("short-secret", res.stderr)


class AdminTokenTests(fixtures.RegcacheTestCase):
    IMAGES = ("alt",)

    def setUp(self):
        self.token_file = os.path.join(self.tmpdir(), "admin-token")
        write_token(self.token_file, TOKEN)
        self.rc = self.start_regcache(config={
            "upstreams": [{"name": self.registry.host, "url": self.registry.url, "insecure_http": True}],
            "admin": {"token_file": self.token_file}})

    def admin_get(self, path, token=None, raw_authorization=None):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if raw_authorization is not None:
            headers["Authorization"] = raw_authorization
        return h.request(f"{self.rc.admin_url}{path}", headers=headers)

    def test_every_admin_endpoint_requires_the_token(self):
        endpoints = [("GET", "/api/v1/stats"), ("GET", "/api/v1/images"), ("GET", "/api/v1/repositories"),
                     ("GET", "/api/v1/pins"), ("POST", "/api/v1/pins"), ("DELETE", "/api/v1/pins?image=x"),
                     ("POST", "/api/v1/prefetch"), ("POST", "/api/v1/purge"), ("POST", "/api/v1/gc"),
                     ("POST", "/api/v1/verify"), ("GET", "/no/such/endpoint")]
        image = json.dumps({"image": f"{self.registry.host}/library/alt:v1",
                            "images": [f"{self.registry.host}/library/alt:v1"]}).encode()
        for method, path in endpoints:
            for label, headers in (("no token", {}), ("wrong token", {"Authorization": "Bearer " + ROTATED}),
                                   ("basic", {"Authorization": "Basic YWRtaW46" + TOKEN})):
                with self.subTest(endpoint=f"{method} {path}", case=label):
                    status, hdrs, body = h.request(f"{self.rc.admin_url}{path}", method=method, headers=headers,
                                                   body=image if method == "POST" else None)
                    self.assertEqual(status, 401, body[:300])
                    self.assertTrue(hdrs["www-authenticate"].startswith('Bearer realm="regcache-admin"'))
                    self.assertIn("error", json.loads(body))
        self.assertEqual(self.registry.requests(), [], "a refused prefetch or pin must not reach the upstream")
        status, hdrs, _ = self.admin_get("/api/v1/stats", token=ROTATED)
        self.assertIn('error="invalid_token"', hdrs["www-authenticate"])
        status, _, body = self.admin_get("/api/v1/stats", token=TOKEN)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(self.admin_get("/api/v1/stats", raw_authorization="bearer " + TOKEN)[0], 200)

    def test_the_cli_sends_the_token_from_a_file_or_the_environment(self):
        res = self.rc.cli("stats", "--json", "--admin-token-file", self.token_file)
        self.assertIn("version", json.loads(res.stdout))
        self.rc.env = dict(os.environ, REGCACHE_ADMIN_TOKEN=TOKEN)
        self.assertIn("version", json.loads(self.rc.cli("stats", "--json").stdout))
        self.rc.env = {k: v for k, v in os.environ.items() if k != "REGCACHE_ADMIN_TOKEN"}
        res = self.rc.cli("stats", check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("not authorized by the admin API", res.stderr)
        self.assertIn("401", res.stderr)
        self.rc.env = dict(os.environ, REGCACHE_ADMIN_TOKEN=ROTATED)
        res = self.rc.cli("ls", check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("401", res.stderr)
        self.assertNotIn(ROTATED, res.stderr)

    def test_a_rotated_token_file_takes_effect_without_a_restart(self):
        self.assertEqual(self.admin_get("/api/v1/stats", token=TOKEN)[0], 200)
        write_token(self.token_file, ROTATED)
        self.assertEqual(self.admin_get("/api/v1/stats", token=TOKEN)[0], 401, "the old token is revoked")
        self.assertEqual(self.admin_get("/api/v1/stats", token=ROTATED)[0], 200)
        self.assertTrue(self.rc.running())
        log = self.rc.log_text()
        self.assertIn("admin.token_file", log)
        self.assertNotIn(TOKEN, log)
        self.assertNotIn(ROTATED, log)


if __name__ == "__main__":
    unittest.main()
