"""Every kustomization under deploy/, rendered as `kubectl apply -k` would
(`kubectl kustomize`), and the rendered objects checked:

- every container: no privilege escalation, read-only root filesystem, all
  capabilities dropped, not root (an init container may be root only to
  chown with CHOWN as its one capability), cpu and memory requests;
- regcache containers: the image of the in-cluster Deployment, UID 10001,
  `--config` naming a file of a mounted ConfigMap whose regcache.yaml says
  where it listens: a container port there, liveness /healthz and
  readiness /readyz on that port (and host, for a loopback listener, which
  needs the host network), storage.root on a writable volume, and a
  termination grace period longer than server.shutdown_grace;
- Services, PodDisruptionBudgets and workloads select pods that exist in the
  same rendering, and each Service's targetPort is a port of those pods.

New kustomizations (deploy/kubernetes/sharded, ...) are found by glob.
Needs kubectl (Debian package kubernetes-client, or any other kubectl) and
PyYAML (python3-yaml); without them the tests are skipped, and fail when
CI=true (support/skips.py).

Run one:  python3 -m unittest -v test_kustomize    (needs no regcache)
"""
import copy
import glob
import os
import posixpath
import shutil
import subprocess
import unittest

from support import skips
from test_deploy_files import seconds

try:
    import yaml
except ImportError:
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
# The image every regcache container runs: the in-cluster Deployment's.
REFERENCE = os.path.join("kubernetes", "in-cluster")
REGCACHE_UID = 10001  # docker/Dockerfile's USER
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


def kustomizations():
    """Every directory under deploy/ holding a kustomization, relative to deploy/."""
    found = []
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        found += glob.glob(os.path.join(DEPLOY, "**", name), recursive=True)
    return sorted(os.path.relpath(os.path.dirname(p), DEPLOY) for p in found)


def missing_tools():
    return [what for what, absent in (("kubectl", shutil.which("kubectl") is None),
                                      ("PyYAML", yaml is None)) if absent]


def render(directory):
    res = subprocess.run(["kubectl", "kustomize", os.path.join(DEPLOY, directory)],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise AssertionError(f"kubectl kustomize deploy/{directory} failed:\n{res.stderr}")
    return [doc for doc in yaml.safe_load_all(res.stdout) if doc]


def pod_template(workload):
    """(pod metadata, pod spec) of a workload object."""
    if workload["kind"] == "Pod":
        return workload["metadata"], workload["spec"]
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"].get("metadata", {}), spec["template"]["spec"]


def image_name(image):
    """The repository's last path component: registry.example/regcache:0.1 -> regcache."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def is_regcache(container):
    return image_name(container["image"]) == "regcache"


def selects(selector, labels):
    """A label selector (matchLabels and matchExpressions, or a Service's
    plain map) matches `labels`; an empty one matches nothing here."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    match = selector.get("matchLabels", {})
    expressions = selector.get("matchExpressions", [])
    tests = {
        "In": lambda e: labels.get(e["key"]) in e["values"],
        "NotIn": lambda e: labels.get(e["key"]) not in e["values"],
        "Exists": lambda e: e["key"] in labels,
        "DoesNotExist": lambda e: e["key"] not in labels,
    }
    return bool(match or expressions) and all(labels.get(k) == v for k, v in match.items()) \
        and all(tests[e["operator"]](e) for e in expressions)


def default_shutdown_grace():
    with open(os.path.join(ROOT, "conf", "regcache.yaml"), encoding="utf-8") as f:
        return seconds(str(yaml.safe_load(f)["server"]["shutdown_grace"]))


def container_problems(kind, container, pod_security):
    """What is wrong with one container's lockdown and requests ([] when nothing)."""
    problems = []
    security = container.get("securityContext", {})
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem must be true")
    capabilities = security.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []):
        problems.append("capabilities.drop must hold ALL")
    if kind == "containers":
        requests = container.get("resources", {}).get("requests", {})
        problems += [f"resources.requests.{r} missing" for r in ("cpu", "memory") if r not in requests]
    user = security.get("runAsUser", pod_security.get("runAsUser"))
    if user == 0:
        # Handing a hostPath to the regcache user: nothing else may run as root.
        if kind != "initContainers" or capabilities.get("add", []) != ["CHOWN"]:
            problems.append("only an init container that just chowns (capabilities.add [CHOWN]) may run as root")
        return problems
    if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot must be true")
    if not isinstance(user, int):
        problems.append("runAsUser must be set (runAsNonRoot cannot check a named USER)")
    if capabilities.get("add"):
        problems.append(f"capabilities added back: {capabilities['add']}")
    if is_regcache(container) and user != REGCACHE_UID:
        problems.append(f"regcache runs as {REGCACHE_UID}, the image's user, not {user}")
    return problems


def mounted_file(objects, workload, pod, container, path):
    """The text of `path` in `container`, a key of a ConfigMap of `objects`
    mounted there; None when it is not mounted from one."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        sub = mount.get("subPath")
        if sub is not None and mount["mountPath"] == path:
            key = sub
        elif sub is None and posixpath.dirname(path) == mount["mountPath"].rstrip("/"):
            key = posixpath.basename(path)
        else:
            continue
        source = volumes.get(mount["name"], {}).get("configMap")
        if source is None:
            return None
        for obj in objects:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == source["name"] \
                    and obj["metadata"].get("namespace") == workload["metadata"].get("namespace"):
                return obj.get("data", {}).get(key)
    return None


def serving_problems(objects, workload, container, default_grace):
    """What is wrong with a regcache container that serves, against the
    regcache.yaml it is started with ([] when nothing)."""
    _, pod = pod_template(workload)
    args = container.get("args", [])
    if "--config" not in args[:-1]:
        return ["args must name the config: --config <file>"]
    config_path = args[args.index("--config") + 1]
    text = mounted_file(objects, workload, pod, container, config_path)
    if text is None:
        return [f"--config {config_path} is not a key of a ConfigMap mounted there"]
    config = yaml.safe_load(text)
    problems = []

    host, _, port = config["server"]["listen"].rpartition(":")
    port = int(port)
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if port not in ports.values():
        problems.append(f"no container port at server.listen's {port}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet")
        if get is None:
            problems.append(f"{probe}.httpGet missing")
            continue
        if get["path"] != path:
            problems.append(f"{probe} must GET {path}, not {get['path']}")
        if ports.get(get["port"], get["port"]) != port:
            problems.append(f"{probe} port {get['port']} is not server.listen's {port}")
        if host not in ("0.0.0.0", "[::]", "") and get.get("host") != host:
            problems.append(f"{probe} must name host {host}, where regcache listens")
    if (host.startswith("127.") or host == "[::1]") and pod.get("hostNetwork") is not True:
        problems.append("a loopback listener needs hostNetwork: the node's runtime and kubelet reach it there only")

    root = config["storage"]["root"]
    if not any(not m.get("readOnly") and (root == m["mountPath"] or root.startswith(m["mountPath"].rstrip("/") + "/"))
               for m in container.get("volumeMounts", [])):
        problems.append(f"storage.root {root} is on no writable volume (the root filesystem is read-only)")

    grace = seconds(str(config["server"].get("shutdown_grace", default_grace)))
    if pod.get("terminationGracePeriodSeconds", 30) <= grace:
        problems.append(f"terminationGracePeriodSeconds must exceed server.shutdown_grace ({grace}s)")
    return problems


def selector_problems(objects):
    """Workloads, Services and PodDisruptionBudgets whose selectors find no
    pod of `objects`, and Service target ports no selected pod offers."""
    problems = []
    pods = [(w, *pod_template(w)) for w in objects if w["kind"] in WORKLOAD_KINDS]
    for workload, meta, _ in pods:
        spec = workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]
        if workload["kind"] != "Pod" and "selector" in spec and not selects(spec["selector"], meta.get("labels", {})):
            problems.append(f"{workload['kind']} {workload['metadata']['name']}: selector misses its pod template")
    for obj in objects:
        selector = obj.get("spec", {}).get("selector")
        if obj["kind"] not in ("Service", "PodDisruptionBudget") or not selector:
            continue
        name = f"{obj['kind']} {obj['metadata']['name']}"
        matched = [spec for w, meta, spec in pods if w["metadata"].get("namespace") == obj["metadata"].get("namespace")
                   and selects(selector, meta.get("labels", {}))]
        if not matched:
            problems.append(f"{name} selects no pod")
        for port in obj["spec"].get("ports", []) if obj["kind"] == "Service" else []:
            target = port.get("targetPort", port["port"])
            for spec in matched:
                offered = [p for c in spec["containers"] for p in c.get("ports", [])]
                if target not in {p.get("name") for p in offered} | {p["containerPort"] for p in offered}:
                    problems.append(f"{name}: targetPort {target} is no container port of its pods")
    return problems


@skips.requires("kubectl and PyYAML (Debian packages kubernetes-client, python3-yaml)", missing_tools)
class KustomizeRenderTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rendered = {d: render(d) for d in kustomizations()}

    def workloads(self):
        """(kustomization, workload object) for every workload rendered."""
        return [(d, obj) for d, objs in self.rendered.items() for obj in objs if obj["kind"] in WORKLOAD_KINDS]

    def reference_image(self):
        images = {c["image"] for d, w in self.workloads() if d == REFERENCE
                  for c in pod_template(w)[1]["containers"] if is_regcache(c)}
        self.assertEqual(len(images), 1, f"deploy/{REFERENCE} runs one regcache image")
        return images.pop()

    def in_cluster_deployment(self):
        (deployment,) = [w for d, w in self.workloads() if d == REFERENCE and w["kind"] == "Deployment"]
        return copy.deepcopy(deployment)

    def test_every_kustomization_renders(self):
        found = kustomizations()
        for expected in (REFERENCE, os.path.join("kubernetes", "node-local"),
                         os.path.join("kubernetes", "workload-egress"), "monitoring"):
            self.assertIn(expected, found)
        for directory, objects in self.rendered.items():
            with self.subTest(kustomization=directory):
                self.assertTrue(objects)
                for obj in objects:
                    self.assertTrue(obj.get("apiVersion") and obj.get("kind") and obj["metadata"].get("name"), obj)

    def test_every_container_is_locked_down_and_requests_resources(self):
        for directory, workload in self.workloads():
            _, pod = pod_template(workload)
            for kind in ("initContainers", "containers"):
                for container in pod.get(kind, []):
                    with self.subTest(kustomization=directory, workload=workload["metadata"]["name"],
                                      container=container["name"]):
                        self.assertEqual(container_problems(kind, container, pod.get("securityContext", {})), [])

    def test_regcache_containers_agree_with_their_config(self):
        image = self.reference_image()
        default_grace = default_shutdown_grace()
        serving = 0
        for directory, workload in self.workloads():
            _, pod = pod_template(workload)
            for kind in ("initContainers", "containers"):
                for container in pod.get(kind, []):
                    if not is_regcache(container):
                        continue
                    with self.subTest(kustomization=directory, workload=workload["metadata"]["name"],
                                      container=container["name"]):
                        self.assertEqual(container["image"], image, f"the image of deploy/{REFERENCE}")
                        if kind == "containers" and "command" not in container:
                            serving += 1
                            self.assertEqual(serving_problems(self.rendered[directory], workload, container,
                                                              default_grace), [])
        self.assertGreaterEqual(serving, 2, "the in-cluster and node-local regcache containers at least")

    def test_selectors_find_their_pods_and_services_their_ports(self):
        for directory, objects in self.rendered.items():
            with self.subTest(kustomization=directory):
                self.assertEqual(selector_problems(objects), [])

    def test_the_checks_find_what_is_wrong(self):
        """A Deployment broken in each checked way is refused for each."""
        objects = self.rendered[REFERENCE]
        deployment = self.in_cluster_deployment()
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        container["securityContext"] = {"allowPrivilegeEscalation": True, "capabilities": {"add": ["NET_ADMIN"]}}
        container["resources"] = {}
        pod["securityContext"] = {"runAsUser": 1000}
        container["readinessProbe"]["httpGet"]["path"] = "/healthz"
        container["livenessProbe"]["httpGet"]["port"] = 8080
        pod["terminationGracePeriodSeconds"] = 30
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "cache"]
        self.assertEqual(len(container_problems("containers", container, pod["securityContext"])), 8)
        problems = serving_problems(objects, deployment, container, default_shutdown_grace())
        self.assertEqual(len(problems), 4, problems)
        pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "config"]
        self.assertEqual(len(serving_problems(objects, deployment, container, 30)), 1)

        service = copy.deepcopy(next(o for o in objects if o["kind"] == "Service"))
        service["spec"]["ports"][0]["targetPort"] = "metrics"
        self.assertEqual(len(selector_problems([self.in_cluster_deployment(), service])), 1)
        service["spec"]["selector"] = {"app.kubernetes.io/name": "other"}
        self.assertEqual(len(selector_problems([self.in_cluster_deployment(), service])), 1)


if __name__ == "__main__":
    unittest.main()
