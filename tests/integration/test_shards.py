"""Sharded regcache: the shipped HAProxy config (deploy/kubernetes/sharded/
haproxy.cfg, only its addresses replaced) in front of three regcache
processes and one docker-registry upstream.

Three multi-arch images (two platforms each; the first also pushed under a
second repository name) are pulled with `skopeo copy --all` by ten concurrent
clients through the balancer, half of them through the registry's path prefix:
  - every blob is fetched from the upstream exactly once in total (the
    upstream's access log), and every pull verifies;
  - a node's regcache (send_ns, h2c) in front of the balancer pulls them all
    over HTTP/2 with ?ns= on every request, from the shards' caches;
  - the replica holding a 24 MiB blob is killed (SIGKILL) while pulls run
    and a client is in the middle of downloading that blob (it arrives cut):
    pulls go on succeeding once HAProxy marks it down, the blob comes whole
    from the next replica, and the upstream sees exactly the blobs the dead
    replica held, each once: its share moved, nothing else did;
  - restarted on its data directory, it serves its old share from its cache:
    no upstream fetch;
  - another replica gets SIGTERM (a rolling update) while pulls run: it
    drains and exits 0, not one pull fails, and again exactly its share is
    fetched once more.
The figures (fetch counts, shares, refetches) are printed for the report.

Run:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_shards
"""

import collections
import http.client
import os
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest

from support import fixtures, haproxy, images, skips, skopeo
from support import http as h
from support.images import KiB, MiB
from support.regcache import Regcache, regcache_bin
from support.registry import Registry

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIPPED_HAPROXY_CFG = os.path.join(ROOT, "deploy", "kubernetes", "sharded", "haproxy.cfg")

REPLICAS = ["regcache-0", "regcache-1", "regcache-2"]
CLIENTS = 10
# A blob in no image, larger than what the sockets and HAProxy's buffers
# between a replica and a client hold (7 MiB measured), so that killing its
# replica cuts a download of it in the middle.
BIG_BLOB_BYTES = 24 * MiB
# The upstream's name in regcache's config, also its path prefix:
# /v2/upstream.test/library/x/... is library/x of that upstream.
UPSTREAM_NAME = "upstream.test"

# name -> (repositories it is pushed to, build kwargs)
IMAGES = {
    "shard-a": (["library/shard-a", "mirror/shard-a-copy"], dict(
        fmt="oci", shared_layers=[12 * KiB], platform_layers={"amd64": [20 * KiB], "arm64": [16 * KiB]})),
    "shard-b": (["library/shard-b"], dict(
        fmt="docker", shared_layers=[10 * KiB], platform_layers={"amd64": [18 * KiB, 6 * KiB], "arm64": [14 * KiB]})),
    "shard-c": (["team/shard-c"], dict(
        fmt="oci", shared_layers=[], platform_layers={"amd64": [22 * KiB], "arm64": [8 * KiB, 4 * KiB]})),
}


@skips.requires("haproxy", haproxy.missing)
class ShardedPullTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        regcache_bin()  # fail before building and pushing images if REGCACHE_BIN is unset
        with open(SHIPPED_HAPROXY_CFG) as f:
            shipped = f.read()
        cls.registry = Registry()
        cls.addClassCleanup(cls.registry.stop)
        cls.registry.start()
        # (docker ref path, Image) for every repository an image is pushed to.
        cls.refs = []
        cls.all_blobs = set()
        for name, (repos, kwargs) in IMAGES.items():
            img = fixtures.layout(name, seed=name, multi_arch=True, **kwargs)
            cls.all_blobs |= {b.digest for b in img.blobs}
            for repo in repos:
                cls.refs.append((f"{repo}:v1", images.http_push(img, cls.registry.url, repo, "v1")))
        scratch = tempfile.mkdtemp(prefix="regcache-it-shards-")
        cls.addClassCleanup(shutil.rmtree, scratch, True)
        cls.big_blob = images.blob_from_bytes(scratch, random.Random("shard-big").randbytes(BIG_BLOB_BYTES),
                                              "application/octet-stream")
        images.http_push_blob(cls.registry.url, "library/shard-a", cls.big_blob)
        cls.all_blobs.add(cls.big_blob.digest)
        config = {"upstreams": [{"name": UPSTREAM_NAME, "url": cls.registry.url, "insecure_http": True}],
                  "default_upstream": UPSTREAM_NAME}
        cls.replicas = {}
        for name in REPLICAS:
            rc = Regcache(config=config)
            cls.addClassCleanup(rc.close)
            cls.replicas[name] = rc.start()
        cls.lb = haproxy.Haproxy(shipped, {name: rc.host for name, rc in cls.replicas.items()})
        cls.addClassCleanup(cls.lb.stop)
        cls.lb.start()

    # -- pulls ---------------------------------------------------------------
    def pull(self, client, ref_index, workdir, attempt=0, host=None):
        """One verified `skopeo copy --all` of self.refs[ref_index] by client
        number `client` from `host` (the balancer by default; half of the
        clients through the path prefix, so that each repository is pulled
        both ways); returns the problems (empty = good)."""
        path, img = self.refs[ref_index % len(self.refs)]
        prefix = f"{UPSTREAM_NAME}/" if (client + client // len(self.refs)) % 2 else ""
        ref = f"docker://{host or self.lb.host}/{prefix}{path}"
        dest = os.path.join(workdir, f"c{client}-{attempt}")
        try:
            skopeo.copy_to_dir(ref, dest, timeout=120, extra_args=["--retry-times", "3"])
        except skopeo.SkopeoError as e:
            return [f"{ref}: {e}"]
        problems = [f"{ref}: {p}" for p in skopeo.verify_dir_copy(dest, img)]
        shutil.rmtree(dest, ignore_errors=True)
        return problems

    def pull_concurrently(self, host=None, clients=CLIENTS):
        """`clients` threads released together, client i pulling refs[i] from
        `host` (the balancer by default; every ref is pulled when clients >=
        len(refs)); returns every problem."""
        workdir = tempfile.mkdtemp(prefix="regcache-it-shards-")
        self.addCleanup(shutil.rmtree, workdir, True)
        barrier = threading.Barrier(clients)
        problems = []

        def client(i):
            barrier.wait(timeout=30)
            problems.extend(self.pull(i, i, workdir, host=host))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        return problems

    # -- observations ----------------------------------------------------------
    def upstream_blob_gets(self):
        """{digest: GETs} the upstream answered since its log marker."""
        counts = collections.Counter()
        for entry in self.registry.requests("GET", "/blobs/"):
            counts[entry.path.rsplit("/", 1)[1].split("?", 1)[0]] += 1
        return counts

    def blob_servers(self, since):
        """{digest: {servers}} that answered a blob GET through the balancer."""
        out = collections.defaultdict(set)
        for entry in self.lb.requests(since):
            if entry.method == "GET" and "/blobs/" in entry.path and entry.status == 200:
                out[entry.path.rsplit("/", 1)[1].split("?", 1)[0]].add(entry.server)
        return out

    def big_blob_url(self):
        return f"{self.lb.url}/v2/library/shard-a/blobs/{self.big_blob.digest}"

    def get_big_blob(self):
        """GET the big blob through the balancer: whole and verified."""
        with h.stream(self.big_blob_url(), timeout=120) as s:
            self.assertEqual(s.status, 200)
            n, sha = s.drain_hash()
        self.assertEqual((n, "sha256:" + sha.hexdigest()), (self.big_blob.size, self.big_blob.digest))

    def kill_during_big_download(self, victim):
        """Start downloading the big blob from `victim` (its owner), kill the
        replica after the first 64 KiB; returns how many bytes arrived in all."""
        with h.stream(self.big_blob_url(), timeout=120) as s:
            received = len(s.read(64 * KiB))
            self.replicas[victim].kill9()
            try:
                while True:
                    chunk = s.read(1 << 20)
                    if not chunk:
                        break
                    received += len(chunk)
            except http.client.IncompleteRead as e:
                received += len(e.partial)
        return received

    def cached_blobs(self, name):
        rc = self.replicas[name]
        return {d for d in self.all_blobs if os.path.exists(rc.blob_file(d))}

    def report(self, line):
        print(f"\n[shards] {line}", end="", flush=True)

    # -- the test --------------------------------------------------------------
    def test_each_blob_fetched_once_and_a_lost_replica_moves_only_its_share(self):
        share = self.cold_pulls_fetch_each_blob_once()
        self.node_cache_tier_pulls_through_the_balancer()
        # The replica holding the big blob crashes while a client downloads
        # it, then one with another share is stopped as a rolling update stops it.
        (victim,) = [n for n in REPLICAS if self.big_blob.digest in share[n]]
        self.crash_moves_only_its_share_and_restart_serves_it(victim, share)
        drained = max((n for n in REPLICAS if n != victim), key=lambda n: len(share[n]))
        self.drain_drops_no_pull(drained, share)
        print(flush=True)

    def cold_pulls_fetch_each_blob_once(self):
        """Ten clients at once, every image and repository, both routings.
        Returns {replica: the blobs it holds}."""
        self.registry.reset_log_marker()
        since = self.lb.log_offset()
        self.assertEqual(self.pull_concurrently(), [])
        self.get_big_blob()
        fetched = self.upstream_blob_gets()
        manifest_requests = self.registry.requests(path_contains="/manifests/", settle=False)
        self.assertEqual(set(fetched), self.all_blobs, "the upstream saw blob GETs for exactly the blobs asked for")
        self.assertEqual({d: n for d, n in fetched.items() if n != 1}, {}, "each blob fetched once in total")
        servers = self.blob_servers(since)
        self.assertEqual({d: s for d, s in servers.items() if len(s) != 1}, {},
                         "every request for a digest, whatever its repository or prefix, reached one replica")
        share = {name: self.cached_blobs(name) for name in REPLICAS}
        for name in REPLICAS:
            self.assertEqual(share[name], {d for d, s in servers.items() if name in s},
                             f"{name} holds exactly the blobs the balancer sent it")
        # The query reaches the replica unchanged: ?ns= still routes.
        path, img = self.refs[0]
        repo, tag = path.split(":")
        status, _, body = h.request(f"{self.lb.url}/v2/{repo}/manifests/{tag}?ns={UPSTREAM_NAME}",
                                    headers={"Accept": images.ALL_MANIFEST_TYPES})
        self.assertEqual((status, h.sha256_digest(body)), (200, img.top_digest))
        by_digest = sum(1 for e in manifest_requests if "/manifests/sha256:" in e.path)
        self.report(f"cold pulls: {len(self.all_blobs)} distinct blobs, {sum(fetched.values())} upstream blob GETs; "
                    f"shares {', '.join(f'{n}={len(share[n])}' for n in REPLICAS)}; upstream manifest requests "
                    f"{by_digest} by digest, {len(manifest_requests) - by_digest} by tag "
                    f"({len(self.refs)} repositories, each named with and without the path prefix: two tag keys)")
        return share

    def node_cache_tier_pulls_through_the_balancer(self):
        """A node's regcache in front of the shards, as README's tiers have it:
        ?ns= on every request (send_ns) and HTTP/2 in cleartext (h2c) to the
        balancer. Everything is in the shards already: no upstream fetch."""
        node = Regcache(config={"upstreams": [{"name": UPSTREAM_NAME, "url": self.lb.url, "insecure_http": True,
                                               "send_ns": True, "h2c": True}],
                                "default_upstream": UPSTREAM_NAME})
        self.addCleanup(node.close)
        node.start()
        self.registry.reset_log_marker()
        since = self.lb.log_offset()
        self.assertEqual(self.pull_concurrently(node.host, len(self.refs)), [])
        self.assertEqual(self.upstream_blob_gets(), {})
        through = self.lb.requests(since)
        self.assertTrue(through, "the node cache asked the balancer")
        self.assertEqual([e.raw for e in through if f"ns={UPSTREAM_NAME}" not in e.path or "HTTP/2.0" not in e.raw],
                         [], "every request carries ?ns= and came over HTTP/2")
        self.assertEqual({e.server for e in through}, set(REPLICAS), "each stream is hashed on its own")
        node.close()
        self.report(f"node cache (send_ns, h2c) through the balancer: {len(self.refs)} pulls verified, "
                    f"{len(through)} requests to the shards, 0 upstream blob GETs")

    def crash_moves_only_its_share_and_restart_serves_it(self, victim, share):
        self.assertTrue(share[victim])
        self.registry.reset_log_marker()
        since = self.lb.log_offset()
        cut = []
        before_down, after_down = self.pull_while_losing(
            victim, lambda: cut.append(self.kill_during_big_download(victim)))
        self.assertLess(cut[0], self.big_blob.size, "the kill cut a download in the middle")
        self.assertEqual(after_down, [], "pulls that started after HAProxy marked the replica down")
        self.get_big_blob()
        redispatched = self.assert_refetched_exactly(share[victim], since)
        self.report(f"{victim} killed (SIGKILL) while clients pull: {len(share[victim])} blobs refetched of "
                    f"{len(self.all_blobs)} ({len(share[victim]) / len(self.all_blobs):.0%}), exactly its share; "
                    f"a download of its {self.big_blob.size >> 20} MiB blob cut at {cut[0] / MiB:.1f} MiB, "
                    f"whole again after the DOWN; "
                    f"pulls failed before it was marked down: {len(before_down)}, "
                    f"requests HAProxy retried on the next replica: {redispatched}")

        # Back on its data directory: its share comes from its cache again.
        self.replicas[victim].start()
        self.lb.wait_status(victim, "UP", 30)
        self.registry.reset_log_marker()
        since = self.lb.log_offset()
        self.assertEqual(self.pull_concurrently(), [])
        self.get_big_blob()
        after_restart = self.upstream_blob_gets()
        self.assertEqual(after_restart, {}, "no blob fetched from the upstream after the restart")
        served = self.blob_servers(since)
        self.assertEqual({d for d, s in served.items() if victim in s}, share[victim],
                         f"{victim} serves its old share again")
        self.report(f"{victim} restarted: {sum(after_restart.values())} upstream blob GETs, "
                    f"it served its {len(share[victim])} blobs from its cache")

    def drain_drops_no_pull(self, name, share):
        """SIGTERM (a rolling update): /readyz turns 503, HAProxy takes the
        replica out, its running responses finish: not one pull fails."""
        rc = self.replicas[name]
        self.registry.reset_log_marker()
        since = self.lb.log_offset()
        before_down, after_down = self.pull_while_losing(name, lambda: os.kill(rc.pid, signal.SIGTERM))
        self.assertEqual(before_down + after_down, [], "no pull fails while a replica drains")
        self.assertEqual(rc.stop(timeout=60), 0, f"{name} exits cleanly after draining\n{rc.log_tail()}")
        self.assert_refetched_exactly(share[name], since)
        self.report(f"{name} stopped (SIGTERM) while clients pull: 0 pulls failed, {len(share[name])} blobs "
                    f"refetched of {len(self.all_blobs)}, exactly its share")

    def assert_refetched_exactly(self, lost_share, since):
        """The upstream saw each blob of `lost_share` once since its marker and
        nothing else; returns how many requests HAProxy redispatched since `since`."""
        refetched = self.upstream_blob_gets()
        self.assertEqual(set(refetched), lost_share, "the upstream saw exactly the lost replica's share")
        self.assertEqual({d: n for d, n in refetched.items() if n != 1}, {}, "each refetched once")
        return sum(1 for e in self.lb.requests(since) if e.redispatched)

    def pull_while_losing(self, name, stop):
        """Clients pull in a loop; once each has pulled once, stop() is called;
        once HAProxy says replica `name` is DOWN, each client pulls once more and
        stops, client i pulling refs[i] again (so every image is pulled after
        the DOWN). Returns the problems of pulls that started before and after
        the DOWN."""
        workdir = tempfile.mkdtemp(prefix="regcache-it-shards-")
        self.addCleanup(shutil.rmtree, workdir, True)
        pulled_once = threading.Barrier(CLIENTS + 1)
        down = threading.Event()
        before, after = [], []

        def client(i):
            before.extend(self.pull(i, i, workdir))
            pulled_once.wait(timeout=120)
            attempt = 1
            while not down.is_set():
                before.extend(self.pull(i, i + attempt, workdir, attempt))
                attempt += 1
            after.extend(self.pull(i, i, workdir, attempt))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            pulled_once.wait(timeout=120)
            stop()
            self.lb.wait_status(name, "DOWN", 30)
        finally:
            down.set()
            for t in threads:
                t.join(300)
        return before, after


if __name__ == "__main__":
    unittest.main()
