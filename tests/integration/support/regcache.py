"""The regcache binary under test.

    rc = Regcache(upstream_url=registry.url)       # binary: $REGCACHE_BIN
    rc.start()                                     # waits for GET /v2/ == 200
    rc.url, rc.host, rc.data_dir, rc.log_text()
    rc.metric("regcache_cache_requests_total", outcome="hit")
    rc.kill9(); rc.restart()                       # same port and data dir
    rc.close()                                     # stop + delete the temp dir

Command line:  regcache serve --listen 127.0.0.1:PORT --data <tmp>/data
                   [--upstream URL] [--config <tmp>/regcache.yaml] [extra args]
`config` (a dict) is written as YAML; server.listen and storage.root are
filled in with the actual port and data dir unless given.
"""

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from . import http as h
from . import ports
from . import process
from . import yamlish


def regcache_bin():
    path = os.environ.get("REGCACHE_BIN")
    if not path:
        raise RuntimeError("REGCACHE_BIN is not set: point it at the built regcache binary "
                           "(e.g. REGCACHE_BIN=build/regcache)")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"REGCACHE_BIN={path} is not an executable file")
    return path


def upstream_config(registry, tag_ttl=None, **extra):
    """The config dict for one upstream = `registry` (a Registry), made default."""
    up = {"name": registry.host, "url": registry.url, "insecure_http": registry.url.startswith("http://")}
    if tag_ttl is not None:
        up["tag_ttl"] = tag_ttl
    up.update(extra)
    return {"upstreams": [up], "default_upstream": registry.host}


# -- Prometheus text format -------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_prometheus(text):
    """Prometheus text exposition -> {(name, frozenset(label items)): float}.
    Raises ValueError on a line it cannot parse."""
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"metrics line {lineno} unparsable: {line!r}")
        name, label_text, value = m.groups()
        labels = {}
        if label_text:
            pos = 0
            while pos < len(label_text):
                lm = _LABEL.match(label_text, pos)
                if not lm:
                    raise ValueError(f"metrics line {lineno}: bad labels {label_text!r}")
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def metric_sum(parsed, name, **labels):
    """Sum of every sample `name` whose labels include all of `labels`."""
    want = {k: str(v) for k, v in labels.items()}
    total = 0.0
    for (n, lbls), value in parsed.items():
        if n != name:
            continue
        d = dict(lbls)
        if all(d.get(k) == v for k, v in want.items()):
            total += value
    return total


class Regcache(ports.LoopbackServer):
    def __init__(self, upstream_url=None, config=None, extra_args=(), port=None,
                 workdir=None, start_timeout=30, env=None, binary=None,
                 pass_upstream_flag=None, ready_status=200):
        self.upstream_url = upstream_url
        self.config = copy.deepcopy(config) if config is not None else None
        self.extra_args = [str(a) for a in extra_args]
        self.port = port
        self.admin_port = None  # the admin API (admin.listen), on its own free port
        self.workdir = workdir
        self._own_workdir = workdir is None
        self.start_timeout = start_timeout
        self.env = env
        self.binary = binary
        self.pass_upstream_flag = (upstream_url is not None if pass_upstream_flag is None
                                   else pass_upstream_flag)
        self.ready_status = ready_status
        self.proc = None
        self.starts = 0
        self.clock_offset_ms = 0

    # -- addresses (host, url: ports.LoopbackServer) and paths ----------
    @property
    def admin_url(self):
        return f"http://{ports.LOOPBACK}:{self.admin_port}"

    def cli(self, *args, timeout=300, check=True):
        """Run `regcache <args> --admin <this instance>`; returns the CompletedProcess
        (stdout/stderr as text).  check=True raises with the output on a non-zero exit."""
        argv = [self.binary or regcache_bin(), *map(str, args), "--admin", self.admin_url]
        res = process.run(argv, timeout=timeout, env=self.process_env())
        out = res.stdout.decode(errors="replace")
        err = res.stderr.decode(errors="replace")
        res = subprocess.CompletedProcess(argv, res.returncode, out, err)
        if check and res.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {res.returncode}:\n{out}\n{err}")
        return res

    def cli_json(self, *args, timeout=300):
        """`regcache <args> --json --admin ...`, parsed."""
        return json.loads(self.cli(*args, "--json", timeout=timeout).stdout)

    @property
    def data_dir(self):
        return os.path.join(self.workdir, "data")

    @property
    def tmp_dir(self):
        """<data>/tmp: in-progress downloads."""
        return os.path.join(self.data_dir, "tmp")

    def blob_file(self, digest):
        """<data>/blobs/sha256/<2 hex>/<64 hex>."""
        algo, _, hexpart = digest.partition(":")
        return os.path.join(self.data_dir, "blobs", algo, hexpart[:2], hexpart)

    @property
    def clock_path(self):
        """The test build's clock offset (REGCACHE_FAULT_CLOCK_FILE), see advance_clock."""
        return os.path.join(self.workdir, "clock-offset-ms")

    @property
    def log_path(self):
        return os.path.join(self.workdir, "regcache.log")

    @property
    def config_path(self):
        return os.path.join(self.workdir, "regcache.yaml")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def v2(self, path=""):
        return f"{self.url}/v2/{path}"

    def manifest_url(self, repo, ref):
        return f"{self.url}/v2/{repo}/manifests/{ref}"

    def blob_url(self, repo, digest):
        return f"{self.url}/v2/{repo}/blobs/{digest}"

    def docker_ref(self, repo, tag_or_digest):
        sep = "@" if ":" in tag_or_digest else ":"
        return f"docker://{self.host}/{repo}{sep}{tag_or_digest}"

    # -- lifecycle --------------------------------------------------------
    def argv(self):
        argv = [self.binary or regcache_bin(), "serve", "--listen", self.host,
                "--data", self.data_dir, "--admin-listen", f"{ports.LOOPBACK}:{self.admin_port}"]
        if self.pass_upstream_flag and self.upstream_url:
            argv += ["--upstream", self.upstream_url]
        if self.config is not None:
            argv += ["--config", self.config_path]
        return argv + self.extra_args

    def _write_config(self):
        cfg = copy.deepcopy(self.config)
        cfg.setdefault("server", {}).setdefault("listen", self.host)
        cfg.setdefault("storage", {}).setdefault("root", self.data_dir)
        yamlish.write(self.config_path, cfg)

    def start(self):
        if self.proc is not None and self.proc.running():
            raise RuntimeError("regcache already running")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="regcache-it-rc-")
        os.makedirs(self.workdir, exist_ok=True)
        if self.port is None:
            self.port = ports.free_port()
        if self.admin_port is None:
            self.admin_port = ports.free_port()
        if self.config is not None:
            self._write_config()
        with open(self.log_path, "a") as log:
            log.write(f"==== start #{self.starts + 1}: {' '.join(self.argv())}\n")
        self.proc = process.ManagedProcess(self.argv(), self.log_path, env=self.process_env())
        self.proc.start()
        self.starts += 1
        try:
            self._wait_ready()
        except BaseException:
            self.proc.kill9()
            raise
        return self

    def process_env(self):
        """The environment of the server and of the CLI run against it: the
        caller's `env` plus the clock offset file both read."""
        return dict(self.env if self.env is not None else os.environ,
                    REGCACHE_FAULT_CLOCK_FILE=self.clock_path)

    def advance_clock(self, seconds):
        """Moves this instance's wall clock (and its CLI's) forward: tag TTLs,
        max_stale and access times see the time pass, timeouts do not. Test
        builds only (`regcache version` says "fault injection")."""
        offset_ms = self.clock_offset_ms + round(seconds * 1000)
        scratch = self.clock_path + ".new"
        with open(scratch, "w") as f:
            f.write(str(offset_ms))
        os.replace(scratch, self.clock_path)
        self.clock_offset_ms = offset_ms

    def _wait_ready(self):
        self.proc.wait_ready("regcache", h.readiness_probe(self.url + "/v2/", (self.ready_status,)),
                             self.start_timeout, self.log_tail)

    def running(self):
        return self.proc is not None and self.proc.running()

    def stop(self, timeout=10):
        """SIGTERM, wait up to `timeout`, then SIGKILL.  Keeps the data dir.
        Returns the exit status (negative = killed by that signal)."""
        if self.proc is None:
            return None
        return self.proc.stop(timeout=timeout, sig=signal.SIGTERM)

    def kill9(self):
        """SIGKILL now (simulated crash).  Keeps the data dir."""
        if self.proc is None:
            return None
        return self.proc.kill9()

    def restart(self):
        """Stop if running, start again on the same port and data dir."""
        self.stop()
        return self.start()

    def close(self):
        """Stop and delete the temp dir (if this object created it)."""
        try:
            self.stop()
        finally:
            if self._own_workdir and self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- observation ----------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def log_tail(self, chars=6000):
        return self.log_text()[-chars:]

    def metrics_text(self):
        status, hdrs, body = h.request(self.url + "/metrics")
        if status != 200:
            raise AssertionError(f"GET /metrics -> {status}: {body[:300]!r}")
        return body.decode()

    def metrics(self):
        """{(name, frozenset(labels.items())): value} from GET /metrics."""
        return parse_prometheus(self.metrics_text())

    def metric(self, name, **labels):
        """Sum of the samples of `name` matching `labels` (0.0 if none)."""
        return metric_sum(self.metrics(), name, **labels)
