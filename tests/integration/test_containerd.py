"""A real containerd pulls through regcache, configured the way nodes are.

containerd 1.6 (support/containerd.py: own root, state and socket in a temp
dir) runs `ctr images pull --hosts-dir DIR --platform linux/amd64
<upstream host:port>/<repo>:<tag>`, with DIR/<host>_<port>_/hosts.toml
naming regcache as the mirror ([host."http://127.0.0.1:RCPORT"],
capabilities pull + resolve) and the upstream registry as `server`, the
setup conf/containerd/certs.d recommends.  containerd then sends every
request to regcache with `?ns=<upstream host:port>`.

Proving regcache served the pull although containerd silently falls back to
`server` whenever regcache answers an error:
  * the upstream's access log holds requests from regcache only (User-Agent
    regcache/...), never from containerd;
  * regcache's access log holds the resolve HEAD and a 200 GET for every
    manifest and blob containerd stored;
  * regcache routes by `ns` alone: its default upstream is a decoy nobody
    listens on, so a request routed any other way would fail there.
The second pull, by a fresh containerd (empty content store), makes no
request upstream at all (tag_ttl is long, so the tag is not revalidated).

Images: `docker-list` (Docker manifest list, support/fixtures.py) and a small
OCI index built here.  Layers are real tar+gzip, so containerd unpacks them;
the committed snapshots' keys are checked against the chain IDs computed from
the configs' diff_ids.

Skipped only when containerd or ctr is not installed (scripts/install-deps.sh
test installs it).  Run:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_containerd
"""

import json
import re
import unittest
import urllib.parse

from support import fixtures, ports, skips
from support import containerd as ctd
from support.fixtures import KiB
from support.regcache import upstream_config

# One regcache access-log line (src/http/server.cpp).
_ACCESS = re.compile(r"request id=\S+ method=(?P<method>\S+) path=(?P<path>\S+) (?:proto=\S+ )?"
                     r"status=(?P<status>\d+) bytes=(?P<bytes>\d+) .*cache=(?P<cache>\S+)")

DECOY = "decoy.invalid"


def access_entries(log_text):
    """[(method, path without query, query dict, status, bytes, cache)] of regcache's access log."""
    out = []
    for m in _ACCESS.finditer(log_text):
        path, _, query = m.group("path").partition("?")
        out.append((m.group("method"), path, urllib.parse.parse_qs(query), int(m.group("status")),
                    int(m.group("bytes")), m.group("cache")))
    return out


@skips.requires("containerd", ctd.missing_binaries)
class ContainerdPullTests(fixtures.RegcacheTestCase):
    IMAGES = ("docker-list",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        oci = fixtures.layout("containerd-oci", seed="containerd-oci", fmt="oci", multi_arch=True,
                              shared_layers=[32 * KiB], layers=[64 * KiB])
        cls.images["containerd-oci"] = cls.upstream.push(oci, "library/containerd-oci", "v1")

    def start_containerd(self):
        """A fresh containerd (empty content store), closed after the test;
        its log is printed when the test failed."""
        c = ctd.Containerd()
        self.addCleanup(self._close_containerd, c)
        return c.start()

    def _close_containerd(self, c):
        if self._has_failed() and c.workdir:
            print(f"\n---- containerd log ({c.log_path}) ----\n{c.log_tail()}\n----")
        c.close()

    def start_regcache_for_containerd(self):
        """regcache with the upstream under its host:port name (what containerd
        sends as ns) and a decoy default upstream on a port nobody listens on."""
        config = upstream_config(self.registry, tag_ttl="1h")
        config["upstreams"].append({"name": DECOY, "insecure_http": True,
                                    "url": f"http://{ports.LOOPBACK}:{ports.free_port()}"})
        config["default_upstream"] = DECOY
        return self.start_regcache(config=config)

    def test_docker_manifest_list_pulled_through_regcache_then_from_its_cache(self):
        self.check_pull_through(self.images["docker-list"])

    def test_oci_index_pulled_through_regcache_then_from_its_cache(self):
        self.check_pull_through(self.images["containerd-oci"])

    def check_pull_through(self, img):
        rc = self.start_regcache_for_containerd()
        hosts_dir = ctd.write_hosts_toml(self.tmpdir(), self.registry.host, rc.url,
                                         server=self.registry.url)
        ref = f"{self.registry.host}/{img.repo}:{img.tag}"
        amd64 = img.manifest_for("amd64")
        wanted = {img.top_digest, amd64.digest} | {b.digest for b in [amd64.config] + amd64.layers}
        diff_ids = json.loads(amd64.config.read())["rootfs"]["diff_ids"]

        # Cold: regcache fills from the upstream while serving containerd.
        cold = self.start_containerd()
        log_mark = len(rc.log_text())
        cold.pull(ref, hosts_dir)
        served = access_entries(rc.log_text()[log_mark:])
        self.assertTrue(served, "containerd sent nothing to regcache")
        for method, path, query, status, size, cache in served:
            self.assertEqual(query.get("ns"), [self.registry.host], f"{method} {path}: ns")
        self.assertIn(("HEAD", f"/v2/{img.repo}/manifests/{img.tag}", 200),
                      {(m, p, s) for m, p, _, s, _, _ in served}, "containerd resolved the tag here")
        got = {p.rsplit("/", 1)[1]: (s, n) for m, p, _, s, n, _ in served if m == "GET"}
        for digest in wanted:
            self.assertEqual(got.get(digest), (200, img.size_of(digest)), f"GET of {digest}")
        upstream = self.registry.requests()
        self.assertTrue(upstream, "regcache was cold: it must have asked the upstream")
        self.assertEqual([e.raw for e in upstream if not e.user_agent.startswith("regcache/")], [],
                         "containerd fell back to the upstream")
        self.check_containerd_holds(cold, ref, img, wanted, diff_ids)

        # Warm: a fresh containerd pulls again; the upstream sees nothing.
        warm = self.start_containerd()
        self.registry.reset_log_marker()
        log_mark = len(rc.log_text())
        warm.pull(ref, hosts_dir)
        self.assertEqual([e.raw for e in self.registry.requests()], [])
        served = access_entries(rc.log_text()[log_mark:])
        self.assertEqual({p.rsplit("/", 1)[1] for m, p, *_ in served if m == "GET"}, wanted)
        self.assertEqual([(m, p, s, c) for m, p, _, s, _, c in served if (s, c) != (200, "hit")], [],
                         "every answer of the warm pull is a cache hit")
        self.check_containerd_holds(warm, ref, img, wanted, diff_ids)

    def check_containerd_holds(self, c, ref, img, wanted, diff_ids):
        """The image record, exactly the pulled content, and the unpacked layers."""
        self.assertEqual(c.images().get(ref), (img.top_media_type, img.top_digest))
        self.assertEqual(c.content_digests(), wanted)
        self.assertEqual(c.snapshot_keys(), set(ctd.chain_ids(diff_ids)))


if __name__ == "__main__":
    unittest.main()
