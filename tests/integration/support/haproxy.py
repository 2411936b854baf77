"""A real HAProxy (Debian's haproxy 2.6) on loopback, running a shipped config.

    lb = Haproxy(shipped_text, {"regcache-0": "127.0.0.1:4001", ...})
    lb.start()                      # waits until every server is UP
    lb.host, lb.url                 # the `frontend registry` listener
    lb.server_status("regcache-1")  # "UP", "DOWN", "MAINT", ... (stats CSV)
    lb.wait_status("regcache-1", "DOWN", timeout=20)
    lb.requests(since=offset)       # access-log entries: which server got what
    lb.stop()

The config is the shipped file with only its addresses replaced: each
`bind :PORT` gets a free loopback port (`frontend registry` is `url`, the
frontend with the stats page is `monitoring_url`) and the `server` lines
become one line per given server, named as given, in the given order (a
server's place on a consistent-hash ring follows its order). Everything
else (hashing rules, health checks, retries) runs as shipped.

HAProxy runs in the foreground (-db) in its own process group and logs to
stdout (`log stdout format raw`), which goes to the log file; with
`option httplog` a request line reads

    127.0.0.1:41234 [06/Dec/2026:00:50:01.123] registry regcache/regcache-2 0/0/0/1/1 200 1234 - - ---- 3/3/0/0/0 0/0 "GET /v2/x/blobs/sha256:... HTTP/1.1"
"""

import collections
import csv
import io
import os
import re
import shutil
import tempfile
import time
import uuid

from . import http as h
from . import ports
from . import process

HAPROXY_BIN = os.environ.get("HAPROXY_BIN", "/usr/sbin/haproxy")
SENTINEL_PARAM = "regcache-test-sentinel"

# redispatched: HAProxy retried the request on another server (a "+" before
# the retry count, the last of the five connection counters).
LogEntry = collections.namedtuple("LogEntry", "frontend backend server status method path redispatched raw")

_REQUEST_LINE = re.compile(
    r'^\S+ \[[^\]]+\] (?P<frontend>\S+) (?P<backend>[^/\s]+)/(?P<server>\S+) \S+ '
    r'(?P<status>-?\d+) \S+ \S+ \S+ \S+ (?P<counters>\S+) \S+ '
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+"\s*$')
_BIND = re.compile(r"(?m)^(\s*)bind\s+:(\d+)\s*$")
_SERVER = re.compile(r"(?m)^(\s*)server\s+\S+\s+\S+.*\n")


def missing():
    """What this machine lacks to run HAProxy (empty when nothing)."""
    return [] if os.access(HAPROXY_BIN, os.X_OK) else [f"{HAPROXY_BIN} (Debian package haproxy)"]


def loopback_config(shipped, listen_ports, servers):
    """`shipped` with each `bind :P` on 127.0.0.1:listen_ports[P] and its
    `server` lines replaced by one per (name, host:port) of `servers`."""
    def bind(m):
        return f"{m.group(1)}bind {ports.LOOPBACK}:{listen_ports[int(m.group(2))]}"

    text, binds = _BIND.subn(bind, shipped)
    if binds != len(listen_ports):
        raise AssertionError(f"the shipped config binds {binds} ports, expected {sorted(listen_ports)}")
    found = list(_SERVER.finditer(text))
    if not found:
        raise AssertionError("the shipped config has no server line")
    indent = found[0].group(1)
    lines = "".join(f"{indent}server {name} {address}\n" for name, address in servers.items())
    return text[:found[0].start()] + lines + _SERVER.sub("", text[found[0].start():])


def parse_request_line(line):
    """One `option httplog` line; None for anything else (health-check and
    state-change messages)."""
    m = _REQUEST_LINE.match(line)
    if not m:
        return None
    return LogEntry(m.group("frontend"), m.group("backend"), m.group("server"), int(m.group("status")),
                    m.group("method"), m.group("path"), m.group("counters").split("/")[-1].startswith("+"), line)


class Haproxy(ports.LoopbackServer):
    REGISTRY_PORT = 5000    # `frontend registry` in the shipped config
    MONITORING_PORT = 8404  # `frontend monitoring`: /healthz, /readyz, /stats

    def __init__(self, shipped_config, servers, backend="regcache", start_timeout=20):
        self.shipped_config = shipped_config
        self.servers = dict(servers)
        self.backend = backend
        self.start_timeout = start_timeout
        self.port = None
        self.monitoring_port = None
        self.workdir = None
        self.proc = None

    @property
    def monitoring_url(self):
        return f"http://{ports.LOOPBACK}:{self.monitoring_port}"

    @property
    def config_path(self):
        return os.path.join(self.workdir, "haproxy.cfg")

    @property
    def log_path(self):
        return os.path.join(self.workdir, "haproxy.log")

    def start(self):
        self.workdir = tempfile.mkdtemp(prefix="regcache-it-haproxy-")
        self.port = ports.free_port()
        self.monitoring_port = ports.free_port()
        with open(self.config_path, "w") as f:
            f.write(loopback_config(self.shipped_config,
                                    {self.REGISTRY_PORT: self.port, self.MONITORING_PORT: self.monitoring_port},
                                    self.servers))
        check = process.run([HAPROXY_BIN, "-c", "-f", self.config_path], timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c rejects the config:\n{check.stdout.decode()}{check.stderr.decode()}")
        # The working directory is the temp dir: nothing is written there, but
        # a relative path in the config could not reach the repository.
        self.proc = process.ManagedProcess([HAPROXY_BIN, "-db", "-f", self.config_path], self.log_path,
                                           cwd=self.workdir).start()
        try:
            self.proc.wait_ready("haproxy", h.readiness_probe(self.monitoring_url + "/healthz", (200,)),
                                 self.start_timeout, self.log_tail)
            for name in self.servers:
                self.wait_status(name, "UP", self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        try:
            if self.proc is not None:
                self.proc.stop(timeout=10)
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    # -- state -------------------------------------------------------------
    def stats(self):
        """{server name: row} of the backend, from the stats page's CSV."""
        status, _, body = h.request(self.monitoring_url + "/stats;csv", timeout=10)
        if status != 200:
            raise AssertionError(f"GET /stats;csv -> {status}: {body[:300]!r}")
        rows = csv.DictReader(io.StringIO(body.decode().lstrip("# ")))
        return {r["svname"]: r for r in rows if r["pxname"] == self.backend and r["svname"] in self.servers}

    def server_status(self, name):
        """"UP", "DOWN", "MAINT", "UP 1/2" (going down), "DOWN 1/2" (coming up)..."""
        return self.stats()[name]["status"]

    def wait_status(self, name, want, timeout):
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.server_status(name)
            if seen == want:
                return
            time.sleep(0.1)
        raise TimeoutError(f"haproxy server {name} is {seen!r}, not {want!r}, after {timeout}s:\n{self.log_tail()}")

    # -- log ---------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def log_tail(self, chars=6000):
        return self.log_text()[-chars:]

    def log_offset(self):
        """Where the log ends now: requests(since=...) returns what follows."""
        return os.path.getsize(self.log_path)

    def _read_log(self, since):
        with open(self.log_path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def settle(self, since, timeout=10):
        """Make sure every response sent so far is in the log: HAProxy writes a
        request's line when its stream ends, a moment after the client may
        have read the response. A sentinel request's line shows up after them."""
        token = uuid.uuid4().hex
        h.request(f"{self.monitoring_url}/healthz?{SENTINEL_PARAM}={token}", timeout=timeout)
        deadline = time.monotonic() + timeout
        while token not in self._read_log(since):
            if time.monotonic() > deadline:
                raise TimeoutError("haproxy's log never showed the sentinel request")
            time.sleep(0.02)

    def requests(self, since=0, frontend="registry"):
        """Request lines of `frontend` logged after byte offset `since`, once
        every response sent so far is logged (settle)."""
        self.settle(since)
        text = self._read_log(since)
        out = []
        for line in text.splitlines():
            entry = parse_request_line(line)
            if entry is not None and entry.frontend == frontend:
                out.append(entry)
        return out
