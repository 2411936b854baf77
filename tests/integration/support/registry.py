"""A real CNCF docker-registry (distribution 2.8) on loopback.

    with Registry() as reg:              # or reg.start() ... reg.stop()
        reg.url                          # http://127.0.0.1:PORT
        reg.reset_log_marker()
        ...
        reg.requests("GET", "/blobs/")   # access-log entries since the marker

Access log: distribution 2.8 writes one Apache "combined" line per request
(gorilla handlers.CombinedLoggingHandler) to stderr once the handler has
returned, e.g.

    127.0.0.1 - - [27/Nov/2026:19:04:24 +0000] "GET /v2/foo/manifests/x HTTP/1.1" 404 91 "" "curl/7.88.1"

next to logrus text lines (time="..." level=info msg="response completed" ...),
which are ignored here.  The path includes the query string.  Because a line
is written only after the response was sent, `requests()` first "settles" the
log: it sends a sentinel GET /v2/?regcache-test-sentinel=<uuid> and waits
until that line shows up; sentinel lines are never returned.
"""

import collections
import os
import re
import shutil
import tempfile
import time
import urllib.parse
import uuid

from . import http as h
from . import ports
from . import process
from . import yamlish

REGISTRY_BIN = os.environ.get("DOCKER_REGISTRY_BIN", "/usr/bin/docker-registry")
SENTINEL_PARAM = "regcache-test-sentinel"

LogEntry = collections.namedtuple(
    "LogEntry", "method path status size remote user user_agent raw")

_ACCESS_LINE = re.compile(
    r'^(?P<remote>\S+) \S+ (?P<user>\S+) \[[^\]]+\] '
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" '
    r'(?P<status>\d{3}) (?P<size>\d+|-) "(?P<referer>[^"]*)" "(?P<ua>[^"]*)"\s*$')


def parse_access_line(line):
    """Parse one combined-log line; None if it is not an access-log line."""
    m = _ACCESS_LINE.match(line)
    if not m:
        return None
    size = m.group("size")
    return LogEntry(m.group("method"), m.group("path"), int(m.group("status")),
                    0 if size == "-" else int(size), m.group("remote"),
                    m.group("user"), m.group("ua"), line)


def make_htpasswd(users, path):
    """Write a bcrypt htpasswd file with `htpasswd -Bbn` (distribution accepts
    only bcrypt)."""
    lines = []
    for user, password in users.items():
        res = process.run(["htpasswd", "-Bbn", user, password], timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"htpasswd failed: {res.stderr.decode(errors='replace')}")
        lines.append(res.stdout.decode().strip())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Registry(ports.LoopbackServer):
    def __init__(self, htpasswd_users=None, proxy_remote_url=None,
                 proxy_username=None, proxy_password=None, port=None,
                 extra_config=None, start_timeout=20, keep_dir=False):
        self.htpasswd_users = dict(htpasswd_users or {})
        self.proxy_remote_url = proxy_remote_url
        self.proxy_username = proxy_username
        self.proxy_password = proxy_password
        self.port = port
        self.extra_config = extra_config or {}
        self.start_timeout = start_timeout
        self.keep_dir = keep_dir
        self.workdir = None
        self.proc = None
        self._marker = 0

    # -- paths -----------------------------------------------------------
    @property
    def storage_dir(self):
        return os.path.join(self.workdir, "storage")

    @property
    def log_path(self):
        return os.path.join(self.workdir, "registry.log")

    @property
    def config_path(self):
        return os.path.join(self.workdir, "config.yml")

    @property
    def creds(self):
        """(user, password) of the first htpasswd user, or None."""
        if not self.htpasswd_users:
            return None
        return next(iter(self.htpasswd_users.items()))

    def auth_headers(self):
        import base64
        if not self.creds:
            return {}
        token = base64.b64encode(("%s:%s" % self.creds).encode()).decode()
        return {"Authorization": "Basic " + token}

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- lifecycle -------------------------------------------------------
    def _config(self):
        cfg = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text",
                    "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": self.storage_dir},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": uuid.uuid4().hex},
        }
        if self.htpasswd_users:
            htpasswd = os.path.join(self.workdir, "htpasswd")
            make_htpasswd(self.htpasswd_users, htpasswd)
            cfg["auth"] = {"htpasswd": {"realm": "regcache-test", "path": htpasswd}}
        if self.proxy_remote_url:
            proxy = {"remoteurl": self.proxy_remote_url}
            if self.proxy_username:
                proxy["username"] = self.proxy_username
                proxy["password"] = self.proxy_password or ""
            cfg["proxy"] = proxy
        for key, value in self.extra_config.items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key].update(value)
            else:
                cfg[key] = value
        return cfg

    def start(self):
        if self.proc is not None and self.proc.running():
            raise RuntimeError("registry already running")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="regcache-it-registry-")
            os.makedirs(self.storage_dir)
        if self.port is None:
            self.port = ports.free_port()
        try:
            yamlish.write(self.config_path, self._config())
            self.proc = process.ManagedProcess(
                [REGISTRY_BIN, "serve", self.config_path], self.log_path).start()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._marker = 0
        self.reset_log_marker()
        return self

    def _wait_ready(self):
        # With htpasswd the registry is up once it asks for credentials.
        ready = (200, 401) if self.htpasswd_users else (200,)
        self.proc.wait_ready("docker-registry", h.readiness_probe(self.url + "/v2/", ready),
                             self.start_timeout, lambda: self.log_text()[-4000:])

    def stop(self, remove=True):
        """Stop the process (SIGTERM, then SIGKILL) and delete the temp dir."""
        try:
            if self.proc is not None:
                self.proc.stop(timeout=10)
        finally:
            if remove and self.workdir and not self.keep_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- log -------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def _read_complete(self, start):
        """(complete lines from byte offset `start`, offset after them)."""
        with open(self.log_path, "rb") as f:
            f.seek(start)
            data = f.read()
        end = data.rfind(b"\n")
        if end < 0:
            return [], start
        return data[:end].decode("utf-8", "replace").split("\n"), start + end + 1

    def settle(self, timeout=10):
        """Make sure every request answered so far is in the access log."""
        token = uuid.uuid4().hex
        h.request(f"{self.url}/v2/?{SENTINEL_PARAM}={token}", timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            lines, _ = self._read_complete(self._marker)
            if any(token in line for line in lines):
                # A handler that finished a moment before the sentinel was
                # answered may still be writing its line.
                time.sleep(0.05)
                return
            if time.monotonic() > deadline:
                raise TimeoutError("sentinel request never reached the access log")
            time.sleep(0.02)

    def reset_log_marker(self):
        """Forget every request so far: requests() only returns later ones."""
        self.settle()
        _, self._marker = self._read_complete(self._marker)

    def requests(self, method=None, path_contains=None, status=None, settle=True):
        """Access-log entries since start / the last reset_log_marker().

        Filters: method (e.g. "GET"), path_contains (substring of the path
        incl. query), status (int).  Sentinel requests are excluded."""
        if settle:
            self.settle()
        lines, _ = self._read_complete(self._marker)
        out = []
        for line in lines:
            entry = parse_access_line(line)
            if entry is None or SENTINEL_PARAM in entry.path:
                continue
            if method is not None and entry.method != method:
                continue
            if path_contains is not None and path_contains not in entry.path:
                continue
            if status is not None and entry.status != status:
                continue
            out.append(entry)
        return out

    def blob_gets(self, digest, settle=True):
        """GET requests for /blobs/<digest> since the marker.  In a loop,
        settle() once and pass settle=False."""
        return self.requests("GET", f"/blobs/{digest}", settle=settle)

    # -- storage ---------------------------------------------------------
    def blob_path(self, digest):
        algo, _, hexpart = digest.partition(":")
        return os.path.join(self.storage_dir, "docker", "registry", "v2", "blobs",
                            algo, hexpart[:2], hexpart, "data")

    def corrupt_blob(self, digest, offset=0):
        """Flip one byte of the stored blob (its digest no longer matches)."""
        path = self.blob_path(digest)
        with open(path, "r+b") as f:
            f.seek(offset)
            b = f.read(1)
            f.seek(offset)
            f.write(bytes([b[0] ^ 0xFF]))

    def repo_url(self, repo, kind, ref):
        return f"{self.url}/v2/{repo}/{kind}/{urllib.parse.quote(ref, safe=':')}"
