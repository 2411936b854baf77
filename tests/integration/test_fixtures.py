"""Checks the integration-test fixtures themselves, without regcache.

A real docker-registry, real skopeo, locally built images; plus the Regcache
fixture driven against a tiny stand-in binary.  Runs in well under a minute.
"""

import base64
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from support import fixtures, images, ports, process, skips, skopeo
from support import http as h
from support.images import KiB, MiB
from support.regcache import Regcache, metric_sum, parse_prometheus
from support.registry import Registry, parse_access_line


class RegistryAndImagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.registry = Registry()
        cls.addClassCleanup(cls.registry.stop)
        cls.registry.start()
        cls.multi = fixtures.layout("fixture-multi", seed="fx-multi", fmt="oci",
                                    multi_arch=True, shared_layers=[40 * KiB],
                                    platform_layers={"amd64": [64 * KiB, 300 * KiB],
                                                     "arm64": [80 * KiB]})
        cls.docker = fixtures.layout("fixture-docker", seed="fx-docker", fmt="docker",
                                     multi_arch=False, shared_layers=[], layers=[50 * KiB, 120 * KiB])
        cls.pushed_multi = images.push(cls.multi, cls.registry.host, "fx/multi", "v1")
        cls.pushed_docker = images.push(cls.docker, cls.registry.host, "fx/docker", "v1")

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="regcache-it-fx-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    # -- image building --------------------------------------------------
    def test_multi_arch_layout_shape(self):
        img = self.multi
        self.assertEqual(img.top_media_type, images.OCI_INDEX)
        index = json.loads(img.top_raw)
        self.assertEqual(index["mediaType"], images.OCI_INDEX)
        self.assertEqual([(m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"]],
                         [("linux", "amd64"), ("linux", "arm64")])
        amd, arm = img.manifest_for("amd64"), img.manifest_for("arm64")
        self.assertEqual(amd.layers[0].digest, arm.layers[0].digest, "shared layer")
        self.assertFalse({b.digest for b in amd.layers[1:]} & {b.digest for b in arm.layers[1:]})
        for m in img.manifests:
            self.assertEqual(m.media_type, images.OCI_MANIFEST)
            self.assertEqual(h.sha256_digest(m.raw), m.digest)
            doc = json.loads(m.raw)
            self.assertEqual(doc["config"]["digest"], m.config.digest)
            config = json.loads(m.config.read())
            self.assertEqual(config["architecture"], m.arch)
            diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(b.read())).hexdigest()
                        for b in m.layers]
            self.assertEqual(config["rootfs"]["diff_ids"], diff_ids)
            for b in [m.config] + m.layers:
                self.assertEqual(fixtures.file_sha256(b.path), b.digest)
                self.assertEqual(os.path.getsize(b.path), b.size)
        with open(os.path.join(img.layout_dir, "index.json")) as f:
            top = json.load(f)["manifests"][0]
        self.assertEqual(top["digest"], img.top_digest)
        again = images.read_layout(img.layout_dir)
        self.assertEqual(again.all_digests(), img.all_digests())

    def test_docker_layout_shape(self):
        img = self.docker
        self.assertEqual(img.top_media_type, images.DOCKER_MANIFEST)
        self.assertIsNone(img.index_digest)
        doc = json.loads(img.top_raw)
        self.assertEqual(doc["mediaType"], images.DOCKER_MANIFEST)
        self.assertEqual(doc["config"]["mediaType"], images.DOCKER_CONFIG)
        self.assertEqual({l["mediaType"] for l in doc["layers"]}, {images.DOCKER_LAYER_GZIP})
        again = images.read_layout(img.layout_dir)
        self.assertEqual(again.all_digests(), img.all_digests())

    def test_build_is_deterministic_and_large_layers_work(self):
        d = self.tmpdir()
        t0 = time.monotonic()
        a = images.build_image(os.path.join(d, "a"), seed="det", multi_arch=False,
                               shared_layers=[], layers=[64 * MiB])
        build_secs = time.monotonic() - t0
        b = images.build_image(os.path.join(d, "b"), seed="det", multi_arch=False,
                               shared_layers=[], layers=[64 * MiB])
        c = images.build_image(os.path.join(d, "c"), seed="other", multi_arch=False,
                               shared_layers=[], layers=[64 * MiB])
        self.assertEqual(a.top_digest, b.top_digest)
        self.assertNotEqual(a.top_digest, c.top_digest)
        big = a.largest_blob()
        self.assertGreaterEqual(big.size, 64 * MiB)
        self.assertEqual(fixtures.file_sha256(big.path), big.digest)
        self.assertLess(build_secs, 10, "building a 64 MiB layer should take ~1 s")

    # -- push / pull through the real registry -------------------------------
    def test_pushed_images_copy_back_with_every_digest(self):
        for img in (self.pushed_multi, self.pushed_docker):
            with self.subTest(repo=img.repo):
                out = os.path.join(self.tmpdir(), "copy")
                skopeo.copy_to_dir(skopeo.docker_ref(self.registry.host, img.repo, img.tag), out)
                self.assertEqual(skopeo.verify_dir_copy(out, img), [])
                raw = skopeo.inspect_raw(f"{self.registry.host}/{img.repo}:{img.tag}")
                self.assertEqual(raw, img.top_raw)
                # the registry serves the exact bytes with the right type
                status, hdrs, body = h.request(
                    f"{self.registry.url}/v2/{img.repo}/manifests/{img.tag}",
                    headers={"Accept": images.CONTAINERD_ACCEPT})
                self.assertEqual(status, 200)
                self.assertEqual(body, img.top_raw)
                self.assertEqual(hdrs["content-type"], img.top_media_type)
                self.assertEqual(hdrs["docker-content-digest"], img.top_digest)

    def test_single_platform_push(self):
        img = images.push(self.multi, self.registry.host, "fx/amd64-only", "v1", all_platforms=False)
        self.assertIsNone(img.index_digest)
        self.assertEqual(img.top_digest, self.multi.manifest_for("amd64").digest)
        raw = skopeo.inspect_raw(f"{self.registry.host}/fx/amd64-only:v1")
        self.assertEqual(raw, self.multi.manifest_for("amd64").raw)

    def test_http_push_and_retag(self):
        repo = "fx/http"
        img = images.http_push(self.docker, self.registry.url, repo, "one")
        images.retag(img, self.registry.url, repo, "two")
        status, _, body = h.request(f"{self.registry.url}/v2/{repo}/tags/list")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["tags"], ["one", "two"])
        out = os.path.join(self.tmpdir(), "copy")
        skopeo.copy_to_dir(skopeo.docker_ref(self.registry.host, repo, "two"), out)
        self.assertEqual(skopeo.verify_dir_copy(out, img), [])

    def test_requests_sees_the_gets(self):
        img = self.pushed_multi
        self.registry.reset_log_marker()
        self.assertEqual(self.registry.requests(), [], "nothing happened since the marker")
        out = os.path.join(self.tmpdir(), "copy")
        skopeo.copy_to_dir(skopeo.docker_ref(self.registry.host, img.repo, img.tag), out)
        gets = self.registry.requests("GET")
        paths = [e.path for e in gets]
        self.assertIn(f"/v2/{img.repo}/manifests/{img.tag}", paths)
        for m in img.manifests:
            self.assertIn(f"/v2/{img.repo}/manifests/{m.digest}", paths)
        for b in img.blobs:
            self.assertEqual(len(self.registry.blob_gets(b.digest, settle=False)), 1, b.digest)
        self.assertTrue(all(e.status == 200 for e in gets), gets)
        self.assertTrue(all(e.user_agent.startswith("skopeo/") for e in gets))
        self.assertEqual(self.registry.requests("PUT"), [])
        # a direct request, with its status, and the filters
        self.registry.reset_log_marker()
        h.request(f"{self.registry.url}/v2/{img.repo}/manifests/nope")
        entries = self.registry.requests()
        self.assertEqual([(e.method, e.path, e.status) for e in entries],
                         [("GET", f"/v2/{img.repo}/manifests/nope", 404)])
        self.assertEqual(self.registry.requests(method="HEAD"), [])
        self.assertEqual(len(self.registry.requests(path_contains="/nope")), 1)
        self.assertEqual(len(self.registry.requests(status=404)), 1)

    def test_access_log_line_format(self):
        line = ('127.0.0.1 - - [27/Nov/2026:19:04:24 +0000] '
                '"GET /v2/foo/manifests/x HTTP/1.1" 404 91 "" "curl/7.88.1"')
        e = parse_access_line(line)
        self.assertEqual((e.method, e.path, e.status, e.size, e.user_agent),
                         ("GET", "/v2/foo/manifests/x", 404, 91, "curl/7.88.1"))
        self.assertIsNone(parse_access_line('time="x" level=info msg="response completed"'))

    def test_blob_path_range_multipart_and_head(self):
        """Exercise the HTTP helpers against the reference implementation."""
        blob = self.multi.manifest_for("amd64").layers[-1]
        data = blob.read()
        path = self.registry.blob_path(blob.digest)
        self.assertEqual(fixtures.file_sha256(path), blob.digest)
        url = f"{self.registry.url}/v2/fx/multi/blobs/{blob.digest}"
        status, hdrs, body = h.request(url, headers={"Range": "bytes=0-9,100-119,-5"})
        self.assertEqual(status, 206)
        parts = h.parse_byteranges(hdrs["content-type"], body)
        self.assertEqual([(p[0], p[1], p[2]) for p in parts],
                         [(0, 9, blob.size), (100, 119, blob.size),
                          (blob.size - 5, blob.size - 1, blob.size)])
        self.assertEqual([p[4] for p in parts], [data[0:10], data[100:120], data[-5:]])
        # docker-registry 2.8 announces the blob's Content-Length on a 416 but
        # sends a short body, so http.client would raise: use the raw socket.
        status, hdrs, _ = h.raw_request(url, headers={"Range": f"bytes={blob.size}-"},
                                        read_after_headers=0.3)
        self.assertEqual(status, 416)
        self.assertEqual(hdrs.get("content-range"), f"bytes */{blob.size}")
        status, hdrs, rest = h.raw_request(url, "HEAD", read_after_headers=0.3)
        self.assertEqual(status, 200)
        self.assertEqual(int(hdrs["content-length"]), blob.size)
        self.assertEqual(rest, b"")
        with h.stream(url) as s:
            first = s.read_exactly(1000)
            n, sha = s.drain_hash()
        self.assertEqual(first, data[:1000])
        self.assertEqual(n, blob.size - 1000)

    def test_upstream_accept_quirks(self):
        """What regcache faces upstream (distribution 2.8): it must always send
        its own full Accept list when filling."""
        url = f"{self.registry.url}/v2/{self.pushed_multi.repo}/manifests/v1"
        status, _, body = h.request(url)  # no Accept at all
        self.assertEqual(status, 404)
        self.assertEqual(h.oci_error_codes(body), ["MANIFEST_UNKNOWN"])
        status, hdrs, body = h.request(url, headers={"Accept": images.ALL_MANIFEST_TYPES})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], images.OCI_INDEX)
        self.assertEqual(body, self.pushed_multi.top_raw)

    def test_oci_error_helpers(self):
        status, _, body = h.request(f"{self.registry.url}/v2/fx/multi/blobs/sha256:" + "0" * 64)
        self.assertEqual(status, 404)
        self.assertEqual(h.oci_error_codes(body), ["BLOB_UNKNOWN"])

    def test_corrupt_blob_changes_stored_bytes(self):
        img = images.http_push(fixtures.layout("fixture-corrupt", seed="fx-corrupt", multi_arch=False,
                                               shared_layers=[], layers=[10 * KiB]),
                               self.registry.url, "fx/corrupt", "v1")
        blob = img.manifests[0].layers[0]
        self.registry.corrupt_blob(blob.digest, offset=100)
        self.assertNotEqual(fixtures.file_sha256(self.registry.blob_path(blob.digest)), blob.digest)


class BasicAuthRegistryTest(unittest.TestCase):
    def test_anonymous_rejected_credentials_accepted(self):
        reg = Registry(htpasswd_users={"alice": "wonder-land"})
        self.addCleanup(reg.stop)
        reg.start()
        status, hdrs, _ = h.request(reg.url + "/v2/")
        self.assertEqual(status, 401)
        self.assertIn("basic", hdrs.get("www-authenticate", "").lower())
        self.assertEqual(h.request(reg.url + "/v2/", headers=reg.auth_headers())[0], 200)
        bad = {"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()}
        self.assertEqual(h.request(reg.url + "/v2/", headers=bad)[0], 401)

        img = fixtures.layout("fixture-auth", seed="fx-auth", multi_arch=False,
                              shared_layers=[], layers=[20 * KiB])
        with self.assertRaises(images.PushError):
            images.push(img, reg.host, "auth/app", "v1")
        pushed = images.push(img, reg.host, "auth/app", "v1", creds=reg.creds)
        d = tempfile.mkdtemp(prefix="regcache-it-fx-")
        self.addCleanup(shutil.rmtree, d, True)
        with self.assertRaises(skopeo.SkopeoError) as cm:
            skopeo.copy_to_dir(skopeo.docker_ref(reg.host, "auth/app", "v1"), os.path.join(d, "anon"))
        self.assertIn("unauthorized", cm.exception.stderr.lower())
        out = os.path.join(d, "ok")
        skopeo.copy_to_dir(skopeo.docker_ref(reg.host, "auth/app", "v1"), out, creds=reg.creds)
        self.assertEqual(skopeo.verify_dir_copy(out, pushed), [])
        self.assertTrue(reg.requests(status=401))


class ProcessCleanupTest(unittest.TestCase):
    def assertGone(self, pid):
        deadline = time.monotonic() + 5
        while process.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(process.pid_alive(pid), f"pid {pid} still alive")
        self.assertEqual(process.group_members(pid), [], f"process group {pid} not empty")

    def test_registry_stops_cleanly(self):
        reg = Registry()
        self.addCleanup(reg.stop)
        reg.start()
        pid, workdir, port = reg.pid, reg.workdir, reg.port
        self.assertTrue(process.pid_alive(pid))
        self.assertIn(reg.proc, process.live_processes())
        reg.stop()
        self.assertGone(pid)
        self.assertFalse(os.path.exists(workdir), "temp dir removed")
        self.assertFalse(ports.port_is_open("127.0.0.1", port))
        self.assertNotIn(reg.proc, process.live_processes())
        # docker-registry 2.8 does not trap SIGTERM: it dies by the signal.
        self.assertIn(reg.proc.returncode, (0, -signal.SIGTERM))

    def test_context_manager_cleans_up_on_exception(self):
        pids = []
        with self.assertRaises(ZeroDivisionError):
            with Registry() as reg:
                pids.append(reg.pid)
                workdir = reg.workdir
                1 / 0
        self.assertGone(pids[0])
        self.assertFalse(os.path.exists(workdir))

    def test_failed_start_leaves_nothing(self):
        reg = Registry(extra_config={"storage": {"nonexistent-driver": {}}}, start_timeout=10)
        with self.assertRaises((RuntimeError, TimeoutError)):
            reg.start()
        self.assertGone(reg.proc.pid)
        self.assertIsNone(reg.workdir)

    def test_children_die_with_the_test_runner(self):
        """PDEATHSIG: a registry started by a runner that is SIGKILLed dies too."""
        script = textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
            from support.registry import Registry
            r = Registry(); r.start()
            print(r.pid, r.workdir, flush=True)
            time.sleep(60)
        """)
        runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                  start_new_session=True)
        self.addCleanup(lambda: runner.poll() is None and runner.kill())
        line = runner.stdout.readline().decode().split()
        child_pid, workdir = int(line[0]), line[1]
        self.assertTrue(process.pid_alive(child_pid))
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        self.assertGone(child_pid)
        shutil.rmtree(workdir, ignore_errors=True)


FAKE_REGCACHE = textwrap.dedent(r'''
    #!/usr/bin/env python3
    # Stand-in for the regcache binary: serve --listen H:P --data D [--upstream U] [--config F]
    import argparse, http.server, os, signal, sys
    p = argparse.ArgumentParser()
    p.add_argument("cmd"); p.add_argument("--listen"); p.add_argument("--data")
    p.add_argument("--upstream"); p.add_argument("--config"); p.add_argument("--admin-listen")
    a = p.parse_args()
    os.makedirs(os.path.join(a.data, "tmp"), exist_ok=True)
    with open(os.path.join(a.data, "starts"), "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\n")
    METRICS = (b'# HELP regcache_cache_requests_total x\n# TYPE regcache_cache_requests_total counter\n'
               b'regcache_cache_requests_total{outcome="hit"} 3\n'
               b'regcache_cache_requests_total{outcome="miss"} 2\n'
               b'regcache_requests_total{route="blob",status="200"} 4\n'
               b'regcache_requests_total{route="manifest",status="200"} 1\n'
               b'regcache_requests_total{route="blob",status="404"} 1\n'
               b'regcache_fills_in_flight 0\n'
               b'weird{a="x\\"y,z"} 1.5e3\n')
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = METRICS if self.path == "/metrics" else b"{}"
            self.send_response(200)
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): sys.stderr.write("req %s\n" % self.path)
    host, port = a.listen.rsplit(":", 1)
    srv = http.server.HTTPServer((host, int(port)), H)
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    print("listening", a.listen, flush=True)
    srv.serve_forever()
''')


class RegcacheFixtureTest(unittest.TestCase):
    def setUp(self):
        d = tempfile.mkdtemp(prefix="regcache-it-fake-")
        self.addCleanup(shutil.rmtree, d, True)
        self.fake = os.path.join(d, "fake-regcache")
        with open(self.fake, "w") as f:
            f.write(f"#!{sys.executable}\n" + FAKE_REGCACHE)
        os.chmod(self.fake, 0o755)

    def test_start_stop_restart_kill9_metrics(self):
        rc = Regcache(upstream_url="http://127.0.0.1:1", binary=self.fake,
                      config={"upstreams": [{"name": "u", "url": "http://127.0.0.1:1", "tag_ttl": "2s"}],
                              "default_upstream": "u"})
        self.addCleanup(rc.close)
        rc.start()
        pid, port = rc.pid, rc.port
        self.assertEqual(h.request(rc.v2())[0], 200)
        with open(rc.config_path) as f:
            cfg = f.read()
        self.assertIn(f'listen: "{rc.host}"', cfg)
        self.assertIn('tag_ttl: "2s"', cfg)
        self.assertEqual(rc.metric("regcache_cache_requests_total", outcome="hit"), 3)
        self.assertEqual(rc.metric("regcache_requests_total"), 6)
        self.assertEqual(rc.metric("regcache_requests_total", route="blob"), 5)
        self.assertEqual(rc.metric("regcache_requests_total", route="blob", status=200), 4)
        self.assertEqual(rc.metric("nonexistent"), 0)
        self.assertEqual(rc.metrics()[("weird", frozenset({"a": 'x"y,z'}.items()))], 1500.0)
        self.assertIn("listening", rc.log_text())

        self.assertEqual(rc.kill9(), -signal.SIGKILL)
        self.assertFalse(process.pid_alive(pid))
        rc.restart()
        self.assertNotEqual(rc.pid, pid)
        self.assertEqual(rc.port, port)
        with open(os.path.join(rc.data_dir, "starts")) as f:
            starts = f.read().splitlines()
        self.assertEqual(len(starts), 2)
        self.assertIn(f"--data {rc.data_dir}", starts[0])
        self.assertIn("--upstream http://127.0.0.1:1", starts[0])
        self.assertIn(f"--config {rc.config_path}", starts[0])
        pid2, workdir = rc.pid, rc.workdir
        self.assertEqual(rc.stop(), 0, "SIGTERM → clean exit")
        self.assertFalse(process.pid_alive(pid2))
        self.assertTrue(os.path.isdir(rc.data_dir), "stop() keeps the data dir")
        rc.close()
        self.assertFalse(os.path.exists(workdir))

    def test_startup_failure_reports_log(self):
        rc = Regcache(upstream_url="x", binary="/bin/false", start_timeout=5)
        self.addCleanup(rc.close)
        with self.assertRaises(RuntimeError) as cm:
            rc.start()
        self.assertIn("exited with 1", str(cm.exception))

    def test_prometheus_parser(self):
        parsed = parse_prometheus('a_total{x="1"} 2\na_total{x="2"} 3\n# c\nb 4 1700000000\n')
        self.assertEqual(metric_sum(parsed, "a_total"), 5)
        self.assertEqual(metric_sum(parsed, "a_total", x="2"), 3)
        self.assertEqual(metric_sum(parsed, "b"), 4)
        with self.assertRaises(ValueError):
            parse_prometheus("not a metric line at all {\n")


class SkipsTest(unittest.TestCase):
    """support/skips.py: a skip outside CI, recorded; a failure naming what is missing in CI."""

    def run_case(self, case_class, ci):
        log = os.path.join(tempfile.mkdtemp(prefix="skips-test-"), "skipped.txt")
        self.addCleanup(shutil.rmtree, os.path.dirname(log), True)
        env = {"CI": "true" if ci else "", skips.SKIP_LOG_ENV: log}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            result = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(case_class).run(result)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if not os.path.exists(log):
            return result, ""
        with open(log, encoding="utf-8") as f:
            return result, f.read()

    def cases(self):
        class Inside(unittest.TestCase):
            def test_inside(self):
                skips.cannot_run(self, "a tmpfs mount", "needs root")

        @skips.requires("containerd", lambda: ["/usr/bin/ctr"])
        class WholeClass(unittest.TestCase):
            set_up = []

            @classmethod
            def setUpClass(cls):
                cls.set_up.append(True)

            def test_a(self):
                pass

        class Method(unittest.TestCase):
            @skips.requires("PyYAML", lambda: False)
            def test_present(self):
                pass

            @skips.requires("PyYAML", lambda: True)
            def test_absent(self):
                pass

        return Inside, WholeClass, Method

    def test_outside_ci_a_test_that_cannot_run_is_skipped_and_recorded(self):
        inside, whole, method = self.cases()
        result, recorded = self.run_case(inside, ci=False)
        self.assertEqual((len(result.skipped), len(result.failures), len(result.errors)), (1, 0, 0))
        self.assertIn("test_inside: a tmpfs mount is missing (needs root)", recorded)
        result, recorded = self.run_case(whole, ci=False)
        self.assertEqual((len(result.skipped), len(result.errors)), (1, 0))
        self.assertIn("WholeClass: containerd is missing (/usr/bin/ctr)", recorded)
        self.assertEqual(whole.set_up, [], "nothing is set up for a class that cannot run")
        result, recorded = self.run_case(method, ci=False)
        self.assertEqual((result.testsRun, len(result.skipped), len(result.failures)), (2, 1, 0))
        self.assertIn("test_absent: PyYAML is missing", recorded)
        self.assertNotIn("test_present", recorded)

    def test_in_ci_a_test_that_cannot_run_fails_naming_what_is_missing(self):
        for case in self.cases():
            with self.subTest(case=case.__name__):
                result, recorded = self.run_case(case, ci=True)
                problems = result.failures + result.errors
                self.assertEqual(len(problems), 1, problems)
                self.assertEqual(result.skipped, [])
                self.assertIn("CI=true", problems[0][1])
                self.assertIn("is missing", problems[0][1])
                self.assertEqual(recorded, "")


if __name__ == "__main__":
    unittest.main()
