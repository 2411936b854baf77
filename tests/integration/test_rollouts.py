"""Rollouts and rollbacks: `regcache prefetch -f` and `regcache pin -f`
read the images a release runs from its Kubernetes manifests (multi-document
YAML, a `kubectl get -o yaml` List, standard input); pins carry an expiry
(`--for`) and a label (`--label`), lift themselves once expired (the injected
clock moves, no sleeping) and go by label (`unpin --label`).

Images are small single-platform OCI images (one 24 KiB layer each).

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_rollouts
"""

import os

from support import fixtures, process
from support.relay import Relay

NAMES = [f"rollout{i}" for i in range(5)]


class RolloutTests(fixtures.RegcacheTestCase):
    IMAGES = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.small = {name: cls.upstream.push(fixtures.small_image(name), f"shop/{name}", "v1") for name in NAMES}
        cls.registry.reset_log_marker()

    # -- helpers ---------------------------------------------------------------
    def start(self, url=None, storage=None):
        up = {"name": self.registry.host, "url": url or self.registry.url, "insecure_http": True}
        config = {"upstreams": [up], "default_upstream": self.registry.host,
                  "storage": dict({"min_age": "0s", "eviction_interval": "1s"}, **(storage or {}))}
        return self.start_regcache(config=config)

    def ref(self, name, by_digest=False):
        img = self.small[name]
        return f"{self.registry.host}/{img.repo}@{img.top_digest}" if by_digest else \
            f"{self.registry.host}/{img.repo}:{img.tag}"

    def manifests(self, text):
        path = os.path.join(self.tmpdir(), "release.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def release(self, web, migrate, report):
        """A release as it is applied: a Deployment (an init container by
        tag, the app by digest), a CronJob and a Service."""
        return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: shop}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: shop}}}}
  template:
    metadata: {{labels: {{app: shop}}}}
    spec:
      initContainers:
        - name: migrate
          image: {self.ref(migrate)}
      containers:
        - name: web
          image: {self.ref(web, by_digest=True)}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: report, image: "{self.ref(report)}"}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{ports: [{{port: 80}}]}}
"""

    def cached(self, rc, name):
        return all(os.path.exists(rc.blob_file(b.digest)) for b in self.small[name].blobs)

    def layers_evicted(self, rc, name):
        return not any(os.path.exists(rc.blob_file(b.digest)) for b in self.small[name].layers)

    def cli_stdin(self, rc, text, *args):
        argv = [fixtures.regcache_bin(), *args, "--admin", rc.admin_url]
        return process.run(argv, timeout=120, env=rc.process_env(), input=text.encode())

    # -- prefetch -f -------------------------------------------------------------
    def test_prefetch_from_manifests_then_the_release_is_served_with_the_upstream_gone(self):
        relay = Relay(self.registry.port).start()
        self.addCleanup(relay.stop)
        rc = self.start(url=relay.url)
        out = rc.cli("prefetch", "-f", self.manifests(self.release("rollout0", "rollout1", "rollout2"))).stdout
        self.assertIn("3 images prefetched, 0 failed", out)
        # kubectl get -o yaml output, from standard input.
        listed = f"""apiVersion: v1
kind: List
metadata: {{resourceVersion: ""}}
items:
- apiVersion: v1
  kind: Pod
  metadata: {{name: debug}}
  spec:
    containers: [{{name: app, image: "{self.ref('rollout0', by_digest=True)}"}}]
    ephemeralContainers: [{{name: dbg, image: "{self.ref('rollout3')}"}}]
"""
        res = self.cli_stdin(rc, listed, "prefetch", "-f", "-")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn(b"2 images prefetched", res.stdout)

        relay.stop()
        for name in ("rollout1", "rollout2", "rollout3"):
            self.assertPulls(rc.docker_ref(self.small[name].repo, self.small[name].tag), self.small[name])
        self.assertPulls(rc.docker_ref(self.small["rollout0"].repo, self.small["rollout0"].top_digest),
                         self.small["rollout0"])

    def test_manifest_errors_name_the_file_document_and_path_and_nothing_is_fetched(self):
        rc = self.start()
        bad = self.manifests("kind: Service\n---\nkind: Deployment\nmetadata: {name: web}\n"
                             "spec: {template: {spec: {containers: [{name: x, image: 'Not/Valid:1'}]}}}\n")
        res = rc.cli("prefetch", "-f", bad, check=False)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn(f"{bad}: document 2 (Deployment web): spec.template.spec.containers[0].image:", res.stderr)
        res = rc.cli("pin", "-f", self.manifests("kind: Service\n"), check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn("no container image", res.stderr)
        self.assertEqual(self.registry.requests(method="GET"), [])

    # -- pins with expiry and label ---------------------------------------------
    def test_pins_expire_by_themselves_and_go_by_label(self):
        rc = self.start(storage={"quota": "1KiB"})
        current = self.manifests(self.release("rollout0", "rollout1", "rollout1"))
        # An hour of the injected clock: however slow the machine, nothing expires before it moves.
        out = rc.cli("pin", "-f", current, "--for", "1h", "--label", "app=shop").stdout
        self.assertEqual(out.count("pinned "), 2, out)
        self.assertIn("label app=shop", out)
        rc.cli("pin", self.ref("rollout2"), "--label", "app=cart")
        rc.cli("pin", self.ref("rollout3"), "--label", "app=base")

        pins = {p["repository"]: p for p in rc.cli_json("ls", "--pins")["pins"]}
        self.assertEqual(set(pins), {f"shop/{n}" for n in ("rollout0", "rollout1", "rollout2", "rollout3")})
        self.assertEqual(pins["shop/rollout0"]["label"], "app=shop")
        self.assertEqual(pins["shop/rollout0"]["reference"], self.small["rollout0"].top_digest)
        self.assertEqual(pins["shop/rollout0"]["expires_at_ms"] - pins["shop/rollout0"]["pinned_at_ms"], 3600_000)
        self.assertIsNone(pins["shop/rollout2"]["expires_at_ms"])
        listing = rc.cli("ls").stdout
        self.assertIn("EXPIRES", listing)
        self.assertRegex(listing, r"shop/rollout1:v1 .*in (59m[0-5]\ds|1h00m) \(app=shop\)")
        self.assertRegex(listing, r"shop/rollout2:v1 .*yes \(app=cart\)")

        report = rc.cli_json("gc")
        self.assertEqual(report["pins_expired"], 0)
        for name in ("rollout0", "rollout1", "rollout2", "rollout3"):
            self.assertTrue(self.cached(rc, name), f"{name} is pinned: kept")

        out = rc.cli("unpin", "--label", "app=cart").stdout
        self.assertEqual(out.strip(), f"unpinned {self.ref('rollout2')}")
        res = rc.cli("unpin", "--label", "app=cart", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn("no pin has the label app=cart", res.stderr)

        rc.advance_clock(3601)
        # The background pass (every second, the cache is over its quota) may lift them first.
        rc.cli_json("gc")
        self.assertEqual(rc.log_text().count("expired: lifted"), 2)
        for name in ("rollout0", "rollout1", "rollout2"):
            self.assertTrue(self.layers_evicted(rc, name), f"{name}'s pin is gone: evicted")
        self.assertTrue(self.cached(rc, "rollout3"), "a pin without expiry stays")
        pins = rc.cli_json("ls", "--pins")["pins"]
        self.assertEqual([p["repository"] for p in pins], ["shop/rollout3"])

    def test_an_expired_pin_lifts_itself_without_a_gc(self):
        rc = self.start()
        rc.cli("pin", self.ref("rollout4"), "--for", "1s", "--label", "app=shop")
        rc.advance_clock(2)
        self.assertTrue(fixtures.wait_until(lambda: rc.cli_json("ls", "--pins")["pins"] == [], timeout=10))
        self.assertEqual(rc.cli_json("stats")["pins"], 0)
        res = rc.cli("pin", self.ref("rollout4"), "--for", "1x", check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--for 1x: not a duration", res.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
