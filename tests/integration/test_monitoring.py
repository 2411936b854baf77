"""deploy/monitoring/: the alerting rules, their PrometheusRule and the
Grafana dashboard.

- `promtool check rules` accepts regcache-alerts.yaml and `promtool test rules`
  passes regcache-alerts.test.yaml, where every alert has a case that fires
  and a case that stays quiet on data of its own metrics; with the alerts
  removed, the tests fail for every alert (the firing cases assert).
- prometheusrule.yaml carries exactly the plain file's groups.
- Every PromQL expression of the dashboard parses: each becomes a recording
  rule of a generated file that `promtool check rules` reads.
- Every metric the rules, their tests and the dashboard name is registered
  by the source (a string literal in src/ or include/), so renaming a metric
  fails here; every label name they match or group by is a label the source
  spells or one a scrape adds.

Needs promtool (Debian package prometheus) and PyYAML (python3-yaml); without
them the tests are skipped, and fail when CI=true (support/skips.py).

Run one:  python3 -m unittest -v test_monitoring    (needs no regcache)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import test_kustomize as kustomize
from support import skips

try:
    import yaml
except ImportError:
    yaml = None

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MONITORING = os.path.join(ROOT, "deploy", "monitoring")
RULES = os.path.join(MONITORING, "regcache-alerts.yaml")
RULE_TESTS = os.path.join(MONITORING, "regcache-alerts.test.yaml")
PROMETHEUS_RULE = os.path.join(MONITORING, "prometheusrule.yaml")
DASHBOARD = os.path.join(MONITORING, "regcache-dashboard.json")

# The labels a scrape adds (Kubernetes service discovery, the Prometheus
# Operator), and the histogram bucket label.
SCRAPE_LABELS = {"namespace", "job", "instance", "pod", "le"}
# Grafana's own variables, with a value of the kind each stands for.
GRAFANA_GLOBALS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

needs_yaml = skips.requires("PyYAML (Debian package python3-yaml)", lambda: yaml is None)
needs_promtool = skips.requires("promtool (Debian package prometheus)", lambda: shutil.which("promtool") is None)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def source_text():
    text = []
    for path in glob.glob(os.path.join(ROOT, "src", "**", "*.[ch]pp"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "include", "**", "*.hpp"), recursive=True):
        with open(path, encoding="utf-8") as f:
            text.append(f.read())
    return "\n".join(text)


def registered_metrics(text):
    """(every regcache_* name the source spells as a string, the histograms among them)."""
    return (set(re.findall(r'"(regcache_[a-z0-9_]+)"', text)),
            set(re.findall(r'get_histogram\(\s*"(regcache_[a-z0-9_]+)"', text)))


def registered_label_names(text):
    """Names spelled as the first of a {"name", value} pair: every metric
    label, among other keys."""
    return set(re.findall(r'\{\s*"([a-z_]+)"\s*,', text))


def label_names_used(expr):
    """Label names of the matchers and of by / on / without / ignoring clauses."""
    names = set()
    for matchers in re.findall(r"\{([^{}]*)\}", expr):
        names.update(re.findall(r'([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"', matchers))
    for clause in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr):
        names.update(n.strip() for n in clause.split(",") if n.strip())
    return names


def metrics_named(text):
    """The regcache_* metric names a PromQL text or series selector uses."""
    return set(re.findall(r"\bregcache_[a-z0-9_]+", text))


def alerts(groups):
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args, cwd=None):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def dashboard_exprs(dashboard):
    """(panel title, refId, expr) of every query target, rows' nested panels included."""
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((panel.get("title", ""), target.get("refId", ""), target["expr"]))
            walk(panel.get("panels", []))
    walk(dashboard["panels"])
    return found


def as_promql(expr):
    """A dashboard expression with Grafana's variables replaced: globals by a
    value of their kind, dashboard variables (used inside label matchers) by
    a regular expression."""
    for name, value in GRAFANA_GLOBALS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?\w+\}?", ".+", expr)


def check_rules_file(rules, workdir):
    """promtool check rules on `rules` (a dict) written to a file; the result."""
    path = os.path.join(workdir, "generated.rules.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    return promtool("check", "rules", path)


class MetricNamesTests(unittest.TestCase):
    """The names the monitoring files use exist in the code."""

    @classmethod
    def setUpClass(cls):
        text = source_text()
        cls.names, cls.histograms = registered_metrics(text)
        cls.labels = registered_label_names(text) | SCRAPE_LABELS

    def assert_registered(self, used, where):
        self.assertTrue(used, f"{where} names no regcache metric")
        unknown = set()
        for name in used:
            base = next((name[:-len(s)] for s in HISTOGRAM_SUFFIXES
                         if name.endswith(s) and name[:-len(s)] in self.histograms), name)
            if base not in self.names:
                unknown.add(name)
        self.assertEqual(unknown, set(), f"{where}: metrics the source does not register")

    def assert_known_labels(self, expr, where):
        self.assertEqual(label_names_used(expr) - self.labels, set(), f"{where}: labels no metric has")

    def test_the_source_registers_the_metrics_the_alerts_rest_on(self):
        for name in ("regcache_ready", "regcache_readiness_changes_total", "regcache_eviction_shortfall_bytes",
                     "regcache_fill_failures_total", "regcache_fills_total", "regcache_upstream_requests_total",
                     "regcache_disk_full_total", "regcache_digest_mismatches_total"):
            self.assertIn(name, self.names)
        self.assertIn("regcache_request_duration_seconds", self.histograms)

    def test_a_renamed_metric_is_caught(self):
        """The check itself: a name the source does not spell is refused."""
        with self.assertRaises(AssertionError):
            self.assert_registered({"regcache_cache_requests_totals"}, "a typo")
        with self.assertRaises(AssertionError):
            self.assert_registered({"regcache_cached_bytes_bucket"}, "a gauge is no histogram")
        with self.assertRaises(AssertionError):
            self.assert_known_labels('sum by (upstreams) (rate(regcache_upstream_requests_total[5m]))', "a typo")
        self.assertEqual(label_names_used('sum by (a, b) (x{c="1",d!~"2"}) / on (e) y'), {"a", "b", "c", "d", "e"})

    @needs_yaml
    def test_rules_and_their_tests_name_registered_metrics(self):
        for rule in alerts(load_yaml(RULES)["groups"]):
            with self.subTest(alert=rule["alert"]):
                self.assert_registered(metrics_named(rule["expr"]), rule["alert"])
                self.assert_known_labels(rule["expr"], rule["alert"])
        for group in load_yaml(RULE_TESTS)["tests"]:
            for series in group.get("input_series", []):
                with self.subTest(test=group["name"], series=series["series"]):
                    self.assert_registered(metrics_named(series["series"]), group["name"])

    def test_dashboard_names_registered_metrics(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            dashboard = json.load(f)
        for title, ref, expr in dashboard_exprs(dashboard):
            with self.subTest(panel=title, ref=ref):
                self.assert_registered(metrics_named(expr), f"panel {title!r} {ref}")
                self.assert_known_labels(expr, f"panel {title!r} {ref}")
        for variable in dashboard["templating"]["list"]:
            query = variable.get("query")
            if isinstance(query, dict):
                with self.subTest(variable=variable["name"]):
                    self.assert_registered(metrics_named(query["query"]), f"variable {variable['name']}")


@needs_yaml
@needs_promtool
class AlertRulesTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.groups = load_yaml(RULES)["groups"]
        cls.alerts = alerts(cls.groups)
        cls.tests = load_yaml(RULE_TESTS)

    def test_promtool_checks_the_rules(self):
        res = promtool("check", "rules", RULES)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn(f"SUCCESS: {len(self.alerts)} rules found", res.stdout)

    def test_promtool_unit_tests_pass(self):
        res = promtool("test", "rules", RULE_TESTS, cwd=MONITORING)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("SUCCESS", res.stdout)

    def test_every_alert_has_a_firing_and_a_quiet_case_on_its_own_metrics(self):
        self.assertEqual(self.tests["rule_files"], [os.path.basename(RULES)])
        for rule in self.alerts:
            name, used = rule["alert"], metrics_named(rule["expr"])
            firing, quiet = [], []
            for group in self.tests["tests"]:
                fed = set().union(*(metrics_named(s["series"]) for s in group.get("input_series", [])))
                for case in group.get("alert_rule_test", []):
                    if case["alertname"] != name:
                        continue
                    (firing if case.get("exp_alerts") else quiet).append((group["name"], fed))
            with self.subTest(alert=name):
                self.assertTrue(firing, f"{name}: no case where it fires")
                self.assertTrue(quiet, f"{name}: no case where it stays quiet")
                for group_name, fed in quiet:
                    self.assertTrue(fed & used, f"{name}: quiet case {group_name!r} feeds none of its metrics {used}")

    def test_every_alert_says_how_bad_and_what_happened(self):
        names = [rule["alert"] for rule in self.alerts]
        self.assertEqual(len(names), len(set(names)), "alert names are unique")
        for rule in self.alerts:
            with self.subTest(alert=rule["alert"]):
                self.assertRegex(rule["alert"], r"^Regcache[A-Z]\w+$")
                self.assertIn(rule["labels"]["severity"], ("warning", "critical"))
                self.assertTrue(rule["annotations"]["summary"].strip())
                self.assertTrue(rule["annotations"]["description"].strip())

    def test_the_issue_s_alerts_are_all_there(self):
        """What the on-call person must know, each by the metric that tells it."""
        wanted = {
            "upstream unreachable": ('regcache_upstream_requests_total', 'status="error"'),
            "upstream errors": ('regcache_upstream_requests_total', 'status=~"5.."'),
            "rate limit nearly used up": ('regcache_upstream_ratelimit_remaining', 'regcache_upstream_ratelimit_limit'),
            "disk full": ('regcache_disk_full_total', ''),
            "eviction short of the low watermark": ('regcache_eviction_shortfall_bytes', ''),
            "digest mismatches": ('regcache_digest_mismatches_total', ''),
            "fills failing": ('regcache_fill_failures_total', 'regcache_fills_total'),
            "readiness flapping": ('regcache_readiness_changes_total', ''),
            "signature denials": ('regcache_signature_verdicts_total', 'mode="enforce"'),
            "scan denials": ('regcache_scan_gate_total', 'failed|not_scanned'),
        }
        for what, needles in wanted.items():
            with self.subTest(what=what):
                self.assertTrue(any(all(n in rule["expr"] for n in needles) for rule in self.alerts),
                                f"no alert for {what}")

    def test_without_the_alerts_every_firing_case_fails(self):
        """The firing cases assert something: against a rules file with no
        alerts, promtool reports a failure naming each alert."""
        with tempfile.TemporaryDirectory(prefix="regcache-alerts-") as work:
            with open(os.path.join(work, os.path.basename(RULES)), "w", encoding="utf-8") as f:
                f.write("groups: []\n")
            shutil.copy(RULE_TESTS, work)
            res = promtool("test", "rules", os.path.basename(RULE_TESTS), cwd=work)
        self.assertNotEqual(res.returncode, 0)
        for rule in self.alerts:
            self.assertIn(f"alertname: {rule['alert']},", res.stdout + res.stderr)

    def test_the_prometheus_rule_carries_the_same_groups(self):
        rule = load_yaml(PROMETHEUS_RULE)
        self.assertEqual(rule["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(rule["kind"], "PrometheusRule")
        self.assertEqual(rule["spec"]["groups"], self.groups,
                         "prometheusrule.yaml's spec.groups must be regcache-alerts.yaml's groups: copy them over")

    def test_the_kustomization_ships_the_rule_monitor_and_dashboard(self):
        if shutil.which("kubectl") is None:
            skips.cannot_run(self, "kubectl (Debian package kubernetes-client)")
        res = subprocess.run(["kubectl", "kustomize", MONITORING], capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        objects = {doc["kind"]: doc for doc in yaml.safe_load_all(res.stdout) if doc}
        self.assertEqual(sorted(objects), ["ConfigMap", "PodMonitor", "PrometheusRule"])
        self.assertEqual(objects["PrometheusRule"]["spec"]["groups"], self.groups)
        dashboard = objects["ConfigMap"]
        self.assertEqual(dashboard["metadata"]["labels"].get("grafana_dashboard"), "1")
        with open(DASHBOARD, encoding="utf-8") as f:
            self.assertEqual(json.loads(dashboard["data"]["regcache-dashboard.json"]), json.load(f))
        endpoint = objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]
        self.assertEqual((endpoint["port"], endpoint["path"]), ("http", "/metrics"))

    def test_the_pod_monitor_scrapes_regcache_pods_and_nothing_else(self):
        """Among the pods the Kubernetes shapes run in its namespace, the
        PodMonitor picks exactly those whose port http is a regcache
        container's (not the balancers', which would proxy /metrics)."""
        if shutil.which("kubectl") is None:
            skips.cannot_run(self, "kubectl (Debian package kubernetes-client)")
        monitor = load_yaml(os.path.join(MONITORING, "podmonitor.yaml"))
        namespace, selector = monitor["metadata"]["namespace"], monitor["spec"]["selector"]
        port = monitor["spec"]["podMetricsEndpoints"][0]["port"]
        picked, regcache_pods = set(), set()
        for directory in kustomize.kustomizations():
            if not directory.startswith("kubernetes"):
                continue
            for obj in kustomize.render(directory):
                if obj["kind"] not in kustomize.WORKLOAD_KINDS or obj["metadata"].get("namespace") != namespace:
                    continue
                meta, pod = kustomize.pod_template(obj)
                name = f"{directory} {obj['kind']} {obj['metadata']['name']}"
                if kustomize.selects(selector, meta.get("labels", {})):
                    picked.add(name)
                if any(kustomize.is_regcache(c) and any(p.get("name") == port for p in c.get("ports", []))
                       for c in pod["containers"]):
                    regcache_pods.add(name)
        self.assertTrue(regcache_pods)
        self.assertEqual(picked, regcache_pods)


class DashboardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD, encoding="utf-8") as f:
            cls.dashboard = json.load(f)
        cls.exprs = dashboard_exprs(cls.dashboard)

    def test_panels_have_unique_ids_and_use_the_datasource_variable(self):
        ids = []

        def walk(panels):
            for panel in panels:
                ids.append(panel["id"])
                if panel.get("type") != "row":
                    self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
                walk(panel.get("panels", []))
        walk(self.dashboard["panels"])
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(self.dashboard["uid"])
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["query"], "prometheus")

    def test_it_shows_what_the_issue_asks_for(self):
        exprs = [e for _, _, e in self.exprs]
        wanted = {
            "hit ratio": lambda e: 'outcome=~"hit|stale"' in e and "regcache_cache_requests_total" in e,
            "bytes from cache vs upstream": lambda e: "by (source)" in e and "regcache_served_bytes_total" in e,
            "request rate by route": lambda e: "by (route)" in e and "regcache_requests_total" in e,
            "latency by route": lambda e: "by (route, le)" in e and "regcache_request_duration_seconds_bucket" in e,
            "fills in flight": lambda e: "regcache_fills_in_flight" in e,
            "eviction": lambda e: "regcache_evicted_bytes_total" in e,
            "rate-limit headroom": lambda e: "regcache_upstream_ratelimit_remaining" in e,
        }
        for what, shows in wanted.items():
            with self.subTest(what=what):
                self.assertTrue(any(shows(e) for e in exprs), f"no panel for {what}")

    def test_grafana_variables_become_promql(self):
        self.assertEqual(as_promql('rate(x{job=~"$job",i=~"${instance}"}[$__rate_interval])'),
                         'rate(x{job=~".+",i=~".+"}[5m])')

    @needs_yaml
    @needs_promtool
    def test_every_expression_parses(self):
        self.assertGreater(len(self.exprs), 10)
        rules = [{"record": f"dashboard:panel_{i}", "expr": as_promql(e)} for i, (_, _, e) in enumerate(self.exprs)]
        with tempfile.TemporaryDirectory(prefix="regcache-dashboard-") as work:
            res = check_rules_file({"groups": [{"name": "dashboard", "rules": rules}]}, work)
            if res.returncode != 0:
                # Name the expressions that do not parse, one file each.
                broken = [f"{title} {ref}: {expr}" for (title, ref, expr), rule in zip(self.exprs, rules)
                          if check_rules_file({"groups": [{"name": "one", "rules": [rule]}]}, work).returncode]
                self.fail(f"expressions that do not parse: {broken}\n{res.stdout}{res.stderr}")
            self.assertIn(f"SUCCESS: {len(rules)} rules found", res.stdout)

    @needs_yaml
    @needs_promtool
    def test_a_broken_expression_is_caught(self):
        """The check itself: promtool refuses what does not parse."""
        with tempfile.TemporaryDirectory(prefix="regcache-dashboard-") as work:
            res = check_rules_file({"groups": [{"name": "one", "rules": [
                {"record": "dashboard:broken", "expr": as_promql("sum by (route (rate(regcache_requests_total[5m]))")}
            ]}]}, work)
        self.assertNotEqual(res.returncode, 0)


if __name__ == "__main__":
    unittest.main()
