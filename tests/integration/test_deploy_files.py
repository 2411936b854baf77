"""The files users copy to point runtimes at regcache and to deploy it:
conf/containerd/certs.d/*/hosts.toml, conf/containers/registries.conf,
conf/docker/daemon.json, docker/ (Dockerfile, regcache.yaml) and
deploy/kubernetes/ (in-cluster, node-local, sharded with its haproxy.cfg).

They must parse, agree with each other, and the regcache.yaml files they carry
must be accepted by the real binary (started with them, /readyz must say 200).
The Kubernetes checks need PyYAML (Debian: python3-yaml); without it those
tests are skipped (they fail when CI=true, support/skips.py), everything else
still runs.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_deploy_files
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import tomllib
import unittest

from support import http as h
from support import ports, skips
from support.regcache import Regcache

try:
    import yaml
except ImportError:  # only the Kubernetes manifest checks need it
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CERTS_D = os.path.join(ROOT, "conf", "containerd", "certs.d")
REGISTRIES_CONF = os.path.join(ROOT, "conf", "containers", "registries.conf")
DAEMON_JSON = os.path.join(ROOT, "conf", "docker", "daemon.json")
DOCKERFILE = os.path.join(ROOT, "docker", "Dockerfile")
DOCKER_CONFIG = os.path.join(ROOT, "docker", "regcache.yaml")
K8S = os.path.join(ROOT, "deploy", "kubernetes")

# The registry each containerd namespace directory must fall back to.
REAL_UPSTREAMS = {
    "docker.io": "https://registry-1.docker.io",
    "ghcr.io": "https://ghcr.io",
    "quay.io": "https://quay.io",
    "registry.k8s.io": "https://registry.k8s.io",
}
# Where the node-local regcache listens; every runtime file names it.
NODE_LOCAL = "127.0.0.1:5000"
needs_yaml = skips.requires("PyYAML (Debian package python3-yaml)", lambda: yaml is None)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def configmap_regcache_yaml(path):
    """The `regcache.yaml: |` block of a ConfigMap file, without needing PyYAML."""
    lines = read(path).splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)regcache\.yaml:\s*\|\s*$", line)
        if not m:
            continue
        block = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(m.group(1)):
                break
            block.append(nxt)
        indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
        return "\n".join(b[indent:] for b in block) + "\n"
    raise AssertionError(f"{path}: no `regcache.yaml: |` block")


def upstream_names(config_text):
    """Every upstream name and alias in a regcache.yaml (block or flow lists)."""
    names = set(re.findall(r"^\s*-\s*name:\s*(\S+)\s*$", config_text, re.M))
    for flow in re.findall(r"^\s*aliases:\s*\[(.*)\]\s*$", config_text, re.M):
        names.update(a.strip() for a in flow.split(",") if a.strip())
    return names


def scalar(config_text, section, key):
    """`section.key` of a regcache.yaml (two-level block mapping)."""
    m = re.search(rf"^{section}:\s*\n((?:[ \t]+.*\n|[ \t]*#.*\n|\s*\n)*)", config_text, re.M)
    if not m:
        return None
    km = re.search(rf"^\s+{key}:\s*(\S+)", m.group(1), re.M)
    return km.group(1) if km else None


def seconds(duration):
    """regcache's duration syntax (250ms, 30s, 5m, 1h30m, 7d, bare seconds) -> seconds."""
    if re.fullmatch(r"\d+", duration):
        return int(duration)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


def configs_to_check():
    """(label, regcache.yaml text) for every config the repository ships for deployment."""
    return [
        ("docker/regcache.yaml", read(DOCKER_CONFIG)),
        ("in-cluster ConfigMap", configmap_regcache_yaml(os.path.join(K8S, "in-cluster", "configmap.yaml"))),
        ("node-local ConfigMap", configmap_regcache_yaml(os.path.join(K8S, "node-local", "configmap.yaml"))),
        ("sharded ConfigMap", configmap_regcache_yaml(os.path.join(K8S, "sharded", "configmap.yaml"))),
    ]


class RuntimeFilesTests(unittest.TestCase):
    def test_every_containerd_hosts_toml_mirrors_to_regcache_and_falls_back_upstream(self):
        dirs = sorted(os.listdir(CERTS_D))
        self.assertEqual(dirs, sorted([*REAL_UPSTREAMS, "_default"]))
        for d in dirs:
            with self.subTest(namespace=d):
                with open(os.path.join(CERTS_D, d, "hosts.toml"), "rb") as f:
                    cfg = tomllib.load(f)
                if d == "_default":
                    # No server: containerd falls back to the registry in the reference.
                    self.assertNotIn("server", cfg)
                else:
                    self.assertEqual(cfg.get("server"), REAL_UPSTREAMS[d])
                hosts = cfg.get("host", {})
                self.assertEqual(list(hosts), [f"http://{NODE_LOCAL}"],
                                 "one plain-HTTP [host] entry: regcache (it speaks no TLS)")
                entry = hosts[f"http://{NODE_LOCAL}"]
                self.assertEqual(sorted(entry.get("capabilities", [])), ["pull", "resolve"])
                self.assertLessEqual(seconds(entry["dial_timeout"]), 5, "a short dial_timeout")
                for tls_key in ("ca", "client", "skip_verify"):
                    self.assertNotIn(tls_key, entry, "TLS settings make containerd try HTTPS first")

    def test_registries_conf_mirrors_the_four_registries_by_path_prefix(self):
        with open(REGISTRIES_CONF, "rb") as f:
            cfg = tomllib.load(f)
        regs = {r["prefix"]: r for r in cfg["registry"]}
        self.assertEqual(sorted(regs), sorted(REAL_UPSTREAMS))
        for prefix, reg in regs.items():
            with self.subTest(prefix=prefix):
                self.assertEqual(reg.get("location", prefix), prefix)
                self.assertNotIn("mirror-by-digest-only", reg)
                self.assertEqual(reg["mirror"], [{"location": f"{NODE_LOCAL}/{prefix}", "insecure": True}])

    def test_daemon_json_has_one_plain_http_mirror_without_a_path(self):
        with open(DAEMON_JSON) as f:
            cfg = json.load(f)
        self.assertEqual(cfg, {"registry-mirrors": [f"http://{NODE_LOCAL}"]})

    def test_every_mirrored_registry_is_an_upstream_of_every_shipped_config(self):
        for label, text in configs_to_check():
            with self.subTest(config=label):
                names = upstream_names(text)
                for reg in REAL_UPSTREAMS:
                    self.assertIn(reg, names)
                # Docker's registry-mirrors requests carry no registry name.
                self.assertEqual(re.search(r"^default_upstream:\s*(\S+)", text, re.M).group(1), "docker.io")


class ListenAddressTests(unittest.TestCase):
    """`make run` exposes nothing to the network; containers and pods must be
    reachable on their own address, so they listen on every interface."""

    def test_quick_start_config_listens_on_loopback_only(self):
        self.assertEqual(scalar(read(os.path.join(ROOT, "conf", "regcache.yaml")), "server", "listen"),
                         "127.0.0.1:5000")

    def test_container_and_cluster_configs_listen_on_all_interfaces_and_say_why(self):
        for path in (DOCKER_CONFIG, os.path.join(K8S, "in-cluster", "configmap.yaml"),
                     os.path.join(K8S, "sharded", "configmap.yaml")):
            text = read(path)
            self.assertIn("listen: 0.0.0.0:5000", text, path)
            before = text.split("listen: 0.0.0.0:5000", 1)[0].splitlines()[-6:]
            self.assertTrue(any("unlike the loopback default" in line for line in before),
                            f"{path}: the comment above listen must say why it is not loopback")


class DockerfileTests(unittest.TestCase):
    def test_entrypoint_config_user_and_volume(self):
        text = read(DOCKERFILE)
        self.assertIn('ENTRYPOINT ["regcache", "serve"]', text)
        self.assertIn('CMD ["--config", "/etc/regcache/regcache.yaml"]', text)
        self.assertIn("COPY docker/regcache.yaml /etc/regcache/regcache.yaml", text)
        self.assertIn("-DREGCACHE_TESTS=OFF", text)
        self.assertRegex(text, r"(?m)^USER 10001:10001$")
        self.assertRegex(text, r"(?m)^VOLUME /var/cache/regcache$")
        self.assertRegex(text, r"(?m)^EXPOSE 5000$")
        self.assertEqual(scalar(read(DOCKER_CONFIG), "storage", "root"), "/var/cache/regcache")
        self.assertEqual(scalar(read(DOCKER_CONFIG), "server", "listen"), "0.0.0.0:5000")

    def test_runtime_stage_installs_the_package_of_every_linked_library(self):
        """ldd of the binary under test, each library mapped to its Debian
        package with dpkg -S: the runtime stage must install all of them."""
        for tool in ("ldd", "dpkg"):
            if shutil.which(tool) is None:
                skips.cannot_run(self, tool)
        from support.regcache import regcache_bin
        runtime = read(DOCKERFILE).split("FROM debian:12-slim", 1)[1]
        install = re.search(r"apt-get install[^\n]*((?:\n[^\n]*\\)*\n[^\n]*)", runtime)
        self.assertIsNotNone(install, "runtime stage has no apt-get install")
        installed = set(re.findall(r"\b([a-z0-9][a-z0-9.+-]+[a-z0-9])\b", install.group(0)))
        self.assertIn("ca-certificates", installed)
        ldd = subprocess.run(["ldd", regcache_bin()], capture_output=True, text=True, check=True).stdout
        libs = re.findall(r"=>\s*(/\S+)", ldd)
        self.assertTrue(libs, ldd)
        missing = {}
        for lib in libs:
            owner = None
            for candidate in (lib, os.path.realpath(lib)):
                res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if res.returncode == 0:
                    owner = res.stdout.split(":", 1)[0]
                    break
            self.assertIsNotNone(owner, f"no Debian package owns {lib}")
            if owner not in installed:
                missing[lib] = owner
        self.assertEqual(missing, {}, "libraries whose packages the runtime stage does not install")


class ShippedConfigsStartTests(unittest.TestCase):
    """The real binary accepts every shipped regcache.yaml and becomes ready."""

    def start_with(self, text, extra=()):
        work = tempfile.mkdtemp(prefix="regcache-it-deploy-")
        self.addCleanup(shutil.rmtree, work, True)
        path = os.path.join(work, "shipped.yaml")
        with open(path, "w") as f:
            f.write(text)
        # --listen and --data (added by Regcache) override server.listen and storage.root.
        rc = Regcache(workdir=os.path.join(work, "rc"), extra_args=["--config", path, *extra])
        self.addCleanup(rc.close)
        rc.start()
        return rc

    def test_each_config_is_accepted_ready_and_drains_on_sigterm(self):
        for label, text in configs_to_check():
            with self.subTest(config=label):
                rc = self.start_with(text)
                for path in ("/healthz", "/readyz"):
                    status, _, body = h.request(rc.url + path)
                    self.assertEqual(status, 200, f"{label}: GET {path} -> {status} {body[:200]!r}")
                self.assertEqual(rc.proc.stop(timeout=20, sig=signal.SIGTERM), 0,
                                 f"{label}: exit status after SIGTERM\n{rc.log_tail()}")
                log = rc.log_text()
                json_lines = [ln for ln in log.splitlines() if ln.startswith("{")]
                self.assertTrue(json_lines, f"{label}: log.format json expected:\n{log[-2000:]}")
                for ln in json_lines:
                    json.loads(ln)

    def test_runtime_routing_reaches_the_named_upstream(self):
        """Each registry the runtime files name is routed to its own upstream,
        both as containerd's ?ns= and as registries.conf's path prefix. The
        upstream URLs point at a closed local port, so routing shows as 503
        UNAVAILABLE naming the upstream (404 NAME_UNKNOWN would mean unrouted)."""
        _, text = configs_to_check()[1]
        dead = f"http://127.0.0.1:{ports.free_port()}"
        text = re.sub(r"(?m)^(\s*)url:\s*https://\S+\s*$",
                      lambda m: f"{m.group(1)}url: {dead}\n{m.group(1)}insecure_http: true\n"
                                f"{m.group(1)}connect_timeout: 1s", text)
        rc = self.start_with(text)
        for reg in REAL_UPSTREAMS:
            for url in (f"{rc.url}/v2/library/x/manifests/1?ns={reg}", f"{rc.url}/v2/{reg}/library/x/manifests/1"):
                with self.subTest(url=url):
                    status, _, body = h.request(url, timeout=30)
                    self.assertEqual(status, 503, body[:300])
                    self.assertIn(reg, body.decode())
            # What RegcacheUpstreamUnreachable (deploy/monitoring) reads.
            self.assertGreaterEqual(rc.metric("regcache_upstream_requests_total", upstream=reg, status="error"), 2,
                                    f"{reg}: attempts without an answer, by upstream")
        status, _, body = h.request(f"{rc.url}/v2/library/x/manifests/1?ns=example.org")
        self.assertEqual(status, 404, body[:300])
        self.assertIn("NAME_UNKNOWN", body.decode())


@needs_yaml
class KubernetesManifestTests(unittest.TestCase):
    def docs(self, shape):
        out = {}
        base = os.path.join(K8S, shape)
        with open(os.path.join(base, "kustomization.yaml")) as f:
            kust = yaml.safe_load(f)
        self.assertEqual(kust["kind"], "Kustomization")
        listed = set(kust["resources"])
        present = {n for n in os.listdir(base) if n.endswith(".yaml") and n != "kustomization.yaml"}
        self.assertEqual(listed, present, f"{shape}: kustomization resources vs files")
        for name in sorted(listed):
            with open(os.path.join(base, name)) as f:
                for doc in yaml.safe_load_all(f):
                    for key in ("apiVersion", "kind"):
                        self.assertTrue(doc.get(key), f"{shape}/{name}: {key}")
                    self.assertTrue(doc.get("metadata", {}).get("name"), f"{shape}/{name}: metadata.name")
                    out[doc["kind"]] = doc
        return out

    def check_workload(self, shape, kind):
        docs = self.docs(shape)
        workload, cm = docs[kind], docs["ConfigMap"]
        config = yaml.safe_load(cm["data"]["regcache.yaml"])
        pod = workload["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        self.assertEqual(container["image"], "regcache:latest")
        self.assertEqual(container["args"], ["--config", "/etc/regcache/regcache.yaml"])

        listen_host, _, listen_port = config["server"]["listen"].rpartition(":")
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            self.assertEqual(get["path"], path, f"{shape} {probe}")
            port = named.get(get["port"], get["port"])
            self.assertEqual(port, int(listen_port), f"{shape} {probe} port vs server.listen")
            if listen_host not in ("0.0.0.0", "[::]"):
                self.assertEqual(get.get("host"), listen_host, f"{shape} {probe} must reach {listen_host}")

        grace = seconds(str(config["server"].get("shutdown_grace", "30s")))
        self.assertGreater(pod["terminationGracePeriodSeconds"], grace,
                           f"{shape}: terminationGracePeriodSeconds must exceed server.shutdown_grace")

        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(mounts["config"], "/etc/regcache")
        self.assertEqual(volumes["config"]["configMap"]["name"], cm["metadata"]["name"])
        self.assertEqual(mounts["cache"], config["storage"]["root"])
        self.assertTrue(container["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(cm["metadata"]["namespace"], workload["metadata"]["namespace"])
        return docs, pod, volumes

    def test_in_cluster_deployment(self):
        docs, pod, volumes = self.check_workload("in-cluster", "Deployment")
        dep, svc, pvc = docs["Deployment"], docs["Service"], docs["PersistentVolumeClaim"]
        self.assertEqual(dep["spec"]["replicas"], 1)
        self.assertEqual(dep["spec"]["strategy"]["type"], "Recreate", "RWO volume: old pod first")
        self.assertEqual(pod["securityContext"]["runAsUser"], 10001)
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertIn("fsGroup", pod["securityContext"])
        self.assertEqual(volumes["cache"]["persistentVolumeClaim"]["claimName"], pvc["metadata"]["name"])
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteOnce"])
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()))
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertEqual([p["port"] for p in svc["spec"]["ports"]], [5000])
        for doc in docs.values():
            if doc["kind"] != "Namespace":
                self.assertEqual(doc["metadata"]["namespace"], docs["Namespace"]["metadata"]["name"])

    def test_regcache_alone_reaches_registries(self):
        docs = self.docs("in-cluster")
        policy, dep = docs["NetworkPolicy"], docs["Deployment"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        selector = policy["spec"]["podSelector"]["matchLabels"]
        self.assertTrue(selector and all(labels.get(k) == v for k, v in selector.items()),
                        "the policy must select regcache's pods")
        self.assertEqual(sorted(policy["spec"]["policyTypes"]), ["Egress", "Ingress"])
        (ingress,) = policy["spec"]["ingress"]
        named = {p["name"]: p["containerPort"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
        self.assertEqual([p["port"] for p in ingress["ports"]], [named["http"]], "clients reach server.listen's port")
        egress_ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
        self.assertLessEqual({(53, "UDP"), (53, "TCP"), (443, "TCP")}, egress_ports)

        workload = self.docs("workload-egress")
        (only,) = workload.values()
        self.assertEqual(only["kind"], "NetworkPolicy")
        self.assertNotIn("namespace", only["metadata"], "kubectl apply -n names the namespace it guards")
        self.assertEqual(only["spec"]["podSelector"], {})
        self.assertEqual(only["spec"]["policyTypes"], ["Egress"])
        self.assertEqual(only["spec"]["egress"], [{"to": [{"namespaceSelector": {}}]}],
                         "in-cluster destinations only: no ipBlock reaching the internet")

    def test_node_local_daemonset(self):
        docs, pod, volumes = self.check_workload("node-local", "DaemonSet")
        config = yaml.safe_load(docs["ConfigMap"]["data"]["regcache.yaml"])
        self.assertEqual(config["server"]["listen"], NODE_LOCAL, "the address the runtime files name")
        self.assertTrue(pod["hostNetwork"])
        self.assertEqual(pod["priorityClassName"], "system-node-critical")
        self.assertIn({"operator": "Exists"}, pod["tolerations"])
        self.assertEqual(volumes["cache"]["hostPath"],
                         {"path": "/var/cache/regcache", "type": "DirectoryOrCreate"})
        self.assertEqual(pod["containers"][0]["securityContext"]["runAsUser"], 10001)

    def test_sharded_statefulset_balancers_and_haproxy_cfg_agree(self):
        """The names and ports haproxy.cfg uses are the ones the manifests create."""
        docs, pod, _ = self.check_workload("sharded", "StatefulSet")
        by_name = {}
        for name in os.listdir(os.path.join(K8S, "sharded")):
            if name.endswith(".yaml") and name != "kustomization.yaml":
                with open(os.path.join(K8S, "sharded", name)) as f:
                    by_name.update({(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(f)})
        sts = docs["StatefulSet"]
        namespace = sts["metadata"]["namespace"]
        pod_labels = sts["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(sts["spec"]["updateStrategy"]["type"], "RollingUpdate")
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        self.assertEqual((claim["metadata"]["name"], claim["spec"]["accessModes"]), ("cache", ["ReadWriteOnce"]))
        self.assertIn("podAntiAffinity", pod["affinity"])
        self.assertEqual(pod["securityContext"]["runAsUser"], 10001)

        headless = by_name[("Service", sts["spec"]["serviceName"])]
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertTrue(all(pod_labels.get(k) == v for k, v in headless["spec"]["selector"].items()))

        with open(os.path.join(K8S, "sharded", "kustomization.yaml")) as f:
            (generated,) = yaml.safe_load(f)["configMapGenerator"]
        self.assertEqual(generated["files"], ["haproxy.cfg"])
        cfg = read(os.path.join(K8S, "sharded", "haproxy.cfg"))
        config = yaml.safe_load(docs["ConfigMap"]["data"]["regcache.yaml"])
        port = int(config["server"]["listen"].rpartition(":")[2])
        servers = re.findall(r"(?m)^\s*server\s+(\S+)\s+(\S+)\s*$", cfg)
        expected = [f"{sts['metadata']['name']}-{i}.{headless['metadata']['name']}.{namespace}.svc.cluster.local:{port}"
                    for i in range(len(servers))]
        self.assertEqual([address for _, address in servers], expected, "one server per StatefulSet pod, in order")
        self.assertGreaterEqual(len(servers), sts["spec"]["replicas"])
        self.assertEqual(len({name for name, _ in servers}), len(servers))

        balancer = by_name[("Deployment", "regcache-balancer")]
        self.assertGreaterEqual(balancer["spec"]["replicas"], 2)
        volume = balancer["spec"]["template"]["spec"]["volumes"][0]
        self.assertEqual(volume["configMap"]["name"], generated["name"])
        (haproxy,) = balancer["spec"]["template"]["spec"]["containers"]
        self.assertIn("/usr/local/etc/haproxy/haproxy.cfg", haproxy["command"])
        container_ports = {p["name"]: p["containerPort"] for p in haproxy["ports"]}
        binds = sorted(int(p) for p in re.findall(r"(?m)^\s*bind\s+:(\d+)\s*$", cfg))
        self.assertEqual(sorted(container_ports.values()), binds)
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertEqual(container_ports[haproxy[probe]["httpGet"]["port"]], 8404, probe)
        service = by_name[("Service", "regcache")]
        balancer_labels = balancer["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(all(balancer_labels.get(k) == v for k, v in service["spec"]["selector"].items()))
        self.assertFalse(all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items()),
                         "clients reach the balancers, never a replica directly")
        self.assertNotEqual(balancer_labels.get("app.kubernetes.io/name"), "regcache",
                            "what selects regcache pods (deploy/monitoring's PodMonitor) must not find the balancers")
        self.assertEqual([(p["port"], container_ports[p["targetPort"]]) for p in service["spec"]["ports"]],
                         [(5000, 5000)])

        budgets = [d for (kind, _), d in by_name.items() if kind == "PodDisruptionBudget"]
        for labels in (pod_labels, balancer_labels):
            self.assertTrue(any(all(labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items())
                                for b in budgets), f"a PodDisruptionBudget selects {labels}")
        for doc in by_name.values():
            if doc["kind"] != "Namespace":
                self.assertEqual(doc["metadata"]["namespace"], namespace)

        # The replicas reach DNS and HTTPS (registries); the balancers reach
        # DNS and the replicas' port only.
        policies = {}
        for (kind, _), doc in by_name.items():
            if kind == "NetworkPolicy":
                selector = doc["spec"]["podSelector"]["matchLabels"]
                policies["shard" if selector == sts["spec"]["selector"]["matchLabels"] else "balancer"] = doc
        self.assertEqual(sorted(policies), ["balancer", "shard"])

        def egress_ports(policy):
            return {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}

        self.assertEqual(egress_ports(policies["shard"]), {(53, "UDP"), (53, "TCP"), (443, "TCP")})
        self.assertEqual(egress_ports(policies["balancer"]), {(53, "UDP"), (53, "TCP"), (port, "TCP")})
        (to_replicas,) = [r for r in policies["balancer"]["spec"]["egress"]
                          if r["ports"] == [{"port": port, "protocol": "TCP"}]]
        self.assertEqual(to_replicas["to"], [{"podSelector": {"matchLabels": sts["spec"]["selector"]["matchLabels"]}}])
        ingress = {p["port"] for rule in policies["balancer"]["spec"]["ingress"] for p in rule["ports"]}
        self.assertEqual(ingress, set(container_ports.values()))


if __name__ == "__main__":
    unittest.main()
