"""The scan gate (scan:) with a real scanner command, pulled by skopeo and containerd.

One upstream and one regcache for the class. The scanner is a shell script
(written per class) that does what `trivy image` would: it copies
REGCACHE_PULL_URL with skopeo into a directory and fails (exit 1, the first
stdout line the summary) when a layer tarball holds a file whose path names
the marker, passes (exit 0) otherwise. For images named scan-hang it hangs
(with a child in its process group); for scan-probe it first writes its
REGCACHE_PULL_URL down and waits until the test has probed it.

  * a clean image is served to skopeo and containerd once its scan passed;
  * a marked image is refused (403 DENIED naming the summary) to skopeo,
    containerd and a plain GET; `regcache scan` shows the fail; the image
    rebuilt without the marker (a new digest under the same tag) passes;
  * a hanging scanner is killed with its whole process group after
    scan.timeout: the verdict is error, and the pull waiting for it gets
    503 with Retry-After;
  * the pull URL's pass opens the scanned manifest and its blobs by digest
    under its repository only, and nothing once the scan ended.

ScanWebhookTests: scan.webhook with a webhook (an HTTP server in the test)
that answers 202 and whose verdict the test then posts to the admin API, as
docs/PROTOCOL.md describes; until then the image is not served.

Run:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_scan_gate
"""

import http.server
import json
import os
import re
import shutil
import stat
import tempfile
import textwrap
import time
import unittest

from support import fixtures, skips
from support import containerd as ctd
from support import http as h
from support import skopeo
from support.fixtures import KiB, wait_until
from support.regcache import Regcache, upstream_config

MARKER = "scan-marker"
# Long enough for a real scan of a tiny image on a loaded machine (and the ASan build).
TIMEOUT_S = 10

SCANNER = textwrap.dedent("""\
    #!/bin/sh
    # The test's scanner: pulls REGCACHE_PULL_URL with skopeo, fails a layer holding the marker.
    dir=__DIR__
    echo "$REGCACHE_IMAGE $REGCACHE_DIGEST $REGCACHE_PULL_URL" >> "$dir/scans.log"
    case "$REGCACHE_IMAGE" in
      */scan-hang@*)
        echo $$ > "$dir/hang.pgid"
        sleep 300 &
        sleep 300
        exit 0;;
      */scan-probe@*)
        echo "$REGCACHE_PULL_URL" > "$dir/probe.url.tmp" && mv "$dir/probe.url.tmp" "$dir/probe.url"
        n=0
        while [ ! -e "$dir/probe.release" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done;;
    esac
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if ! skopeo --insecure-policy copy --quiet --retry-times 0 --src-tls-verify=false \\
        "docker://$REGCACHE_PULL_URL" "dir:$work/image" 2>"$work/err"; then
      tail -n 1 "$work/err" >&2
      exit 2
    fi
    for blob in "$work"/image/*; do
      found=$(tar -tzf "$blob" 2>/dev/null | grep __MARKER__ | head -n 1)
      if [ -n "$found" ]; then
        echo "marker file found: $found"
        exit 1
      fi
    done
    echo "no marker file"
    echo "report: $dir/reports/$REGCACHE_DIGEST"
    exit 0
    """)


def process_group_alive(pgid):
    """Whether a process of group `pgid` still runs (zombies do not count)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class ScanGateTests(fixtures.UpstreamTestCase):
    IMAGES = ("alt",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="regcache-it-scan-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        os.makedirs(os.path.join(cls.work, "reports"))
        cls.scanner = os.path.join(cls.work, "scan-image")
        with open(cls.scanner, "w") as f:
            f.write(SCANNER.replace("__DIR__", cls.work).replace("__MARKER__", MARKER))
        os.chmod(cls.scanner, stat.S_IRWXU)
        push = cls.upstream.push
        cls.clean = push(fixtures.small_image("scan-clean", 8 * KiB), "library/scan-clean", "v1")
        cls.marked = push(fixtures.small_image(MARKER, 8 * KiB), "library/scan-marked", "v1")
        # The same image under a tag the rebuild test moves.
        cls.rebuild = push(fixtures.small_image(MARKER, 8 * KiB), "library/scan-rebuild", "v1")
        cls.hang = push(fixtures.small_image("scan-hang", 8 * KiB), "library/scan-hang", "v1")
        cls.probe = push(fixtures.small_image("scan-probe", 8 * KiB), "library/scan-probe", "v1")
        config = upstream_config(cls.registry, tag_ttl="1m")
        config["scan"] = {"command": [cls.scanner], "mode": "enforce", "block_until_scanned": True,
                          "parallelism": 2, "timeout": f"{TIMEOUT_S}s"}
        cls.rc = Regcache(config=config)
        cls.addClassCleanup(cls.rc.close)
        cls.rc.start()

    def scans_log(self):
        try:
            with open(os.path.join(self.work, "scans.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def image_scan(self, repo):
        """The scan column of `regcache ls` for repo:v1."""
        for image in self.rc.cli_json("ls")["images"]:
            if image["repository"] == repo and image["tag"] == "v1":
                return image["scan"]
        return None

    def get_manifest(self, repo, ref, headers=None):
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        return h.request(self.rc.manifest_url(repo, ref), headers=dict(accept, **(headers or {})), timeout=60)

    def containerd_pull(self, img):
        c = ctd.Containerd()
        self.addCleanup(c.close)
        c.start()
        # No fallback around regcache: the upstream is reached only through it.
        hosts = ctd.write_hosts_toml(tempfile.mkdtemp(dir=self.work), self.registry.host, self.rc.url,
                                     server=self.rc.url)
        return c, f"{self.registry.host}/{img.repo}:{img.tag}", hosts

    # -- a clean image ----------------------------------------------------------
    def test_a_clean_image_is_served_once_its_scan_passed(self):
        self.assertPulls(self.rc.docker_ref(self.clean.repo, self.clean.tag), self.clean)
        digest = self.clean.top_digest
        self.assertIn(f"{self.registry.host}/library/scan-clean@{digest} {digest} ", self.scans_log())
        self.assertEqual(self.image_scan("library/scan-clean"), "pass")
        self.assertGreaterEqual(self.rc.metric("regcache_scan_verdicts_total", verdict="pass"), 1)
        out = self.rc.cli("scan", "library/scan-clean:v1")
        self.assertIn("pass", out.stdout)
        self.assertIn("no marker file", out.stdout)
        self.assertIn(f"{self.work}/reports/{digest}", out.stdout)

    @skips.requires("containerd", ctd.missing_binaries)
    def test_containerd_pulls_a_clean_image_and_is_refused_a_marked_one(self):
        c, ref, hosts = self.containerd_pull(self.clean)
        c.pull(ref, hosts)
        self.assertEqual(c.images().get(ref), (self.clean.top_media_type, self.clean.top_digest))
        c, ref, hosts = self.containerd_pull(self.marked)
        with self.assertRaises(ctd.CtrError) as refused:
            c.pull(ref, hosts)
        self.assertIn("403", str(refused.exception))
        self.assertNotIn(self.marked.manifests[0].layers[0].digest, c.content_digests())

    # -- a marked image, then its rebuild ---------------------------------------------
    def test_a_marked_image_is_refused_and_its_rebuild_passes(self):
        with self.assertRaises(skopeo.SkopeoError):
            skopeo.copy_to_dir(self.rc.docker_ref(self.rebuild.repo, self.rebuild.tag), os.path.join(self.work, "no"))
        status, headers, body = self.get_manifest(self.rebuild.repo, self.rebuild.tag)
        self.assertOciError(status, body.decode(), 403, "DENIED")
        message = h.oci_errors(body)[0]["message"]
        self.assertIn("failed its vulnerability scan", message)
        self.assertIn(f"marker file found: data/{MARKER}_amd64_0_8192/f000.bin", message)
        self.assertEqual(self.image_scan("library/scan-rebuild"), "fail")
        self.assertGreaterEqual(self.rc.metric("regcache_scan_gate_total", action="failed"), 1)
        out = self.rc.cli("scan", "library/scan-rebuild:v1", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("fail", out.stdout)

        # Rebuilt without the marker, pushed under the same tag: a new digest, scanned, served.
        rebuilt = self.upstream.push(fixtures.small_image("scan-rebuilt", 8 * KiB), "library/scan-rebuild", "v1")
        self.assertNotEqual(rebuilt.top_digest, self.rebuild.top_digest)
        self.rc.advance_clock(61)  # past tag_ttl: regcache revalidates the tag
        self.assertPulls(self.rc.docker_ref("library/scan-rebuild", "v1"), rebuilt)
        self.assertEqual(self.image_scan("library/scan-rebuild"), "pass")

    # -- a hanging scanner --------------------------------------------------------
    def test_a_hanging_scanner_is_killed_with_its_process_group_after_the_timeout(self):
        started = time.monotonic()
        status, headers, body = self.get_manifest(self.hang.repo, self.hang.tag)
        self.assertOciError(status, body.decode(), 503, "UNAVAILABLE")
        self.assertEqual(headers.get("retry-after"), "10")
        self.assertIn("is not served before its vulnerability scan passed", h.oci_errors(body)[0]["message"])
        self.assertTrue(wait_until(lambda: self.image_scan("library/scan-hang") == "error", TIMEOUT_S + 10))
        self.assertGreaterEqual(time.monotonic() - started, TIMEOUT_S - 0.5)
        with open(os.path.join(self.work, "hang.pgid")) as f:
            pgid = int(f.read())
        self.assertTrue(wait_until(lambda: not process_group_alive(pgid), 5), f"process group {pgid} still runs")
        self.assertGreaterEqual(self.rc.metric("regcache_scan_verdicts_total", verdict="error"), 1)
        self.assertIn(f"timed out after {TIMEOUT_S} s; its process group was killed", self.rc.log_text())
        # Still not scanned: refused at once (no scan to wait for until the retry is due).
        status, _, body = self.get_manifest(self.hang.repo, self.hang.tag)
        self.assertOciError(status, body.decode(), 503, "UNAVAILABLE")

    # -- the pull URL -------------------------------------------------------------
    def test_the_pull_url_opens_only_its_image_and_only_while_the_scan_runs(self):
        # Prefetch brings the manifest in (no gate on the admin API): its scan starts.
        self.rc.cli("prefetch", "library/scan-probe:v1")
        url_file = os.path.join(self.work, "probe.url")
        self.assertTrue(wait_until(lambda: os.path.exists(url_file), 20), self.rc.log_tail())
        with open(url_file) as f:
            pull_url = f.read().strip()
        digest = self.probe.top_digest
        m = re.fullmatch(re.escape(self.rc.host) + r"/(regcache-scan-[0-9a-f]{32})/library/scan-probe@" +
                         re.escape(digest), pull_url)
        self.assertIsNotNone(m, pull_url)
        base = f"{self.rc.url}/v2/{m.group(1)}"
        layer = self.probe.manifests[0].layers[0].digest

        def status_of(path):
            return h.request(base + path, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
                             timeout=30)[0]

        # Before its manifest was served through the pass, its blobs are closed.
        self.assertEqual(status_of(f"/library/scan-probe/blobs/{layer}"), 403)
        self.assertEqual(status_of(f"/library/scan-probe/manifests/{digest}"), 200)
        self.assertEqual(status_of(f"/library/scan-probe/blobs/{layer}"), 200)
        # Nothing else: a tag, another digest, another repository, tag lists, referrers.
        self.assertEqual(status_of("/library/scan-probe/manifests/v1"), 403)
        self.assertEqual(status_of(f"/library/scan-probe/manifests/{self.clean.top_digest}"), 403)
        self.assertEqual(status_of(f"/library/scan-clean/manifests/{digest}"), 403)
        self.assertEqual(status_of(f"/library/scan-clean/blobs/{layer}"), 403)
        self.assertEqual(status_of("/library/scan-probe/tags/list"), 403)
        self.assertEqual(status_of(f"/library/scan-probe/referrers/{digest}"), 403)
        self.assertEqual(status_of(f"/{self.registry.host}/library/scan-marked/manifests/{self.marked.top_digest}"),
                         403)
        # A made-up token opens nothing.
        forged = f"{self.rc.url}/v2/regcache-scan-{'0' * 32}/library/scan-probe/manifests/{digest}"
        self.assertEqual(h.request(forged, timeout=30)[0], 403)
        # Without the pass the image waits for its scan like any other.
        open(os.path.join(self.work, "probe.release"), "w").close()
        self.assertTrue(wait_until(lambda: self.image_scan("library/scan-probe") == "pass", 20), self.scans_log())
        self.assertEqual(status_of(f"/library/scan-probe/manifests/{digest}"), 403, "revoked when the scan ended")
        self.assertPulls(self.rc.docker_ref("library/scan-probe", digest), self.probe)


class ScanWebhookTests(fixtures.UpstreamTestCase):
    IMAGES = ("alt",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.posted = []

        class Webhook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                cls.posted.append((self.path, self.headers.get("Content-Type"), json.loads(self.rfile.read(length))))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        cls.webhook = h.serve_in_thread(Webhook)
        cls.addClassCleanup(h.stop_server, cls.webhook)
        config = upstream_config(cls.registry, tag_ttl="1h")
        config["scan"] = {"webhook": f"http://127.0.0.1:{cls.webhook.server_address[1]}/scan",
                          "block_until_scanned": False, "timeout": "1m"}
        cls.rc = Regcache(config=config)
        cls.addClassCleanup(cls.rc.close)
        cls.rc.start()

    def post_verdict(self, digest, verdict):
        return h.request(f"{self.rc.admin_url}/api/v1/scans/{digest}", method="POST",
                         body=json.dumps(verdict).encode(), timeout=30)

    def test_a_webhook_gets_the_scan_and_posts_its_verdict_later(self):
        img = self.images["alt"]
        digest = img.top_digest
        # Served while pending (block_until_scanned: false); the webhook heard of it.
        status, _, body = h.request(self.rc.manifest_url(img.repo, img.tag),
                                    headers={"Accept": img.top_media_type}, timeout=30)
        self.assertEqual(status, 200, body[:300])
        self.assertTrue(wait_until(lambda: self.posted, 10))
        path, content_type, request = self.posted[0]
        self.assertEqual((path, content_type), ("/scan", "application/json"))
        self.assertEqual(request["image"], f"{self.registry.host}/{img.repo}@{digest}")
        self.assertEqual(request["digest"], digest)
        self.assertRegex(request["pull_url"],
                         re.escape(self.rc.host) + r"/regcache-scan-[0-9a-f]{32}/" + re.escape(img.repo) + "@")
        self.assertEqual(self.post_verdict("sha256:" + "0" * 64, {"verdict": "pass"})[0], 409, "never scanned")
        self.assertEqual(self.post_verdict(digest, {"verdict": "maybe"})[0], 400)
        status, _, body = self.post_verdict(digest, {"verdict": "fail", "summary": "CVE-2024-0001 critical",
                                                     "report": "https://scanner/r/1"})
        self.assertEqual(status, 200, body)
        # Failed: refused now, with the webhook's summary.
        status, _, body = h.request(self.rc.manifest_url(img.repo, digest), headers={"Accept": img.top_media_type},
                                    timeout=30)
        self.assertOciError(status, body.decode(), 403, "DENIED")
        self.assertIn("CVE-2024-0001 critical", h.oci_errors(body)[0]["message"])
        self.assertEqual(self.post_verdict(digest, {"verdict": "pass"})[0], 409, "no scan awaits a verdict now")
        self.assertEqual(self.rc.cli_json("ls")["images"][0]["scan"], "fail")


if __name__ == "__main__":
    unittest.main()
