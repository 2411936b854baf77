"""A real containerd (1.6 on Debian 12) with its own directories, driven by ctr.

    with Containerd() as ctd:                       # or ctd.start() ... ctd.close()
        hosts_dir = write_hosts_toml(tmp, registry.host, rc.url, server=registry.url)
        ctd.pull(f"{registry.host}/library/app:v1", hosts_dir)
        ctd.content_digests(), ctd.images(), ctd.snapshot_keys()

Each instance runs `containerd --config <tmp>/config.toml` with root, state,
temp dir and gRPC/ttrpc sockets under its own temp dir, so it never touches
the host's /var/lib/containerd or /run/containerd and a new instance starts
with an empty content store.  The generated config disables every plugin a
pull does not need (CRI, the runtimes and task service, cgroup monitoring,
/opt installer, the other snapshotters): containerd then boots in ~30 ms,
opens no TCP port and starts no child process.  Images are unpacked with the
`native` snapshotter (plain directory copies: no overlay mounts needed).
Output goes to <tmp>/containerd.log.

ctr is the client: `ctr --address <sock> -n <namespace> ...`.  Pulls read
registry hosts from `--hosts-dir DIR`; containerd 1.6 looks a registry
`host:port` up as DIR/host_port_/hosts.toml, then DIR/host:port/hosts.toml,
then DIR/_default/hosts.toml (write_hosts_toml uses the first form).
"""

import hashlib
import json
import os
import shutil
import tempfile

from . import process

CONTAINERD_BIN = os.environ.get("CONTAINERD_BIN", "/usr/bin/containerd")
CTR_BIN = os.environ.get("CTR_BIN", "/usr/bin/ctr")
NAMESPACE = "regcache-test"
SNAPSHOTTER = "native"

# Loaded anyway: content, metadata (bolt), native snapshotter, walking
# differ, gc, events and the gRPC services ctr uses for pull, images,
# content, snapshots, leases, namespaces and version.
DISABLED_PLUGINS = (
    "io.containerd.grpc.v1.cri",
    "io.containerd.internal.v1.opt",            # would create /opt/containerd
    "io.containerd.internal.v1.restart",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.monitor.v1.cgroups",
    "io.containerd.runtime.v1.linux",
    "io.containerd.runtime.v2.task",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.grpc.v1.tasks",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.snapshotter.v1.zfs",
)


def missing_binaries():
    """The containerd / ctr executables that are not installed (empty = all there)."""
    return [b for b in (CONTAINERD_BIN, CTR_BIN) if not os.access(b, os.X_OK)]


def host_dir_name(registry_host):
    """containerd's first hosts-dir candidate for `host:port`: `host_port_`."""
    host, sep, port = registry_host.rpartition(":")
    return f"{host}_{port}_" if sep else registry_host


def write_hosts_toml(hosts_dir, registry_host, mirror_url, server=None,
                     capabilities=("pull", "resolve"), ca=None, client=None, header=None):
    """Write hosts_dir/<host_dir_name(registry_host)>/hosts.toml naming
    `mirror_url` as the one [host] (a mirror: containerd adds ?ns=<registry>)
    and `server` as the fallback tried after it (None: the registry itself).
    An https:// mirror may name the `ca` file that signed its certificate and
    a `client` (certificate file, key file) pair to present; `header` ({name:
    value}) is sent with every request to the mirror (e.g. Authorization).
    Returns hosts_dir, for `ctr images pull --hosts-dir`."""
    lines = []
    if server is not None:
        lines.append(f"server = {json.dumps(server)}")
    lines.append(f"[host.{json.dumps(mirror_url)}]")
    lines.append(f"  capabilities = {json.dumps(list(capabilities))}")
    if ca is not None:
        lines.append(f"  ca = {json.dumps(ca)}")
    if client is not None:
        lines.append(f"  client = [{json.dumps(list(client))}]")
    if header:
        lines.append(f"  [host.{json.dumps(mirror_url)}.header]")
        lines += [f"    {json.dumps(name)} = {json.dumps(value)}" for name, value in header.items()]
    path = os.path.join(hosts_dir, host_dir_name(registry_host), "hosts.toml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return hosts_dir


def chain_ids(diff_ids):
    """The chain ID of each layer (OCI image-spec config.md): the keys under
    which containerd commits the unpacked layers' snapshots."""
    out = []
    for diff_id in diff_ids:
        if out:
            diff_id = "sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest()
        out.append(diff_id)
    return out


class CtrError(RuntimeError):
    pass


class Containerd:
    def __init__(self, start_timeout=20):
        self.start_timeout = start_timeout
        self.workdir = None
        self.proc = None

    # -- paths -----------------------------------------------------------
    @property
    def address(self):
        """The gRPC socket (ctr --address)."""
        return os.path.join(self.workdir, "containerd.sock")

    @property
    def root(self):
        return os.path.join(self.workdir, "root")

    @property
    def log_path(self):
        return os.path.join(self.workdir, "containerd.log")

    @property
    def config_path(self):
        return os.path.join(self.workdir, "config.toml")

    def _config(self):
        def q(value):
            return json.dumps(value)  # a TOML basic string for these ASCII paths

        return "\n".join([
            "version = 2",
            f"root = {q(self.root)}",
            f"state = {q(os.path.join(self.workdir, 'state'))}",
            f"temp = {q(os.path.join(self.workdir, 'tmp'))}",
            f"disabled_plugins = {q(list(DISABLED_PLUGINS))}",
            "[grpc]",
            f"  address = {q(self.address)}",
            "[ttrpc]",
            f"  address = {q(self.address + '.ttrpc')}",
            "[debug]",
            '  address = ""',
            "[metrics]",
            '  address = ""',
        ]) + "\n"

    # -- lifecycle -------------------------------------------------------
    def start(self):
        if self.proc is not None and self.proc.running():
            raise RuntimeError("containerd already running")
        self.workdir = tempfile.mkdtemp(prefix="regcache-it-containerd-")
        os.makedirs(os.path.join(self.workdir, "tmp"))
        with open(self.config_path, "w") as f:
            f.write(self._config())
        self.proc = process.ManagedProcess(
            [CONTAINERD_BIN, "--config", self.config_path], self.log_path).start()
        try:
            self._wait_ready()
        except BaseException:
            self.proc.kill9()
            raise
        return self

    def _wait_ready(self):
        self.proc.wait_ready("containerd", self._answers, self.start_timeout, self.log_tail)

    def _answers(self):
        if not os.path.exists(self.address):
            return "no socket yet"
        res = process.run([CTR_BIN, "--address", self.address, "version"], timeout=10)
        return None if res.returncode == 0 else res.stderr.decode(errors="replace").strip()

    def stop(self):
        """SIGTERM, 10 s, then SIGKILL.  Returns the exit status."""
        if self.proc is None:
            return None
        return self.proc.stop(timeout=10)

    def close(self):
        """Stop and delete the temp dir (root, state, sockets, log)."""
        try:
            self.stop()
        finally:
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- ctr -------------------------------------------------------------
    def ctr(self, *args, timeout=60):
        """`ctr --address <sock> -n NAMESPACE <args>` → stdout (str); CtrError
        with ctr's output and the tail of containerd's log on failure."""
        argv = [CTR_BIN, "--address", self.address, "-n", NAMESPACE] + [str(a) for a in args]
        res = process.run(argv, timeout=timeout)
        if res.returncode != 0:
            raise CtrError(f"{' '.join(argv)} failed (exit {res.returncode}):\n"
                           f"{res.stdout.decode(errors='replace')[-3000:]}"
                           f"{res.stderr.decode(errors='replace')[-3000:]}\n"
                           f"---- containerd log ----\n{self.log_tail()}")
        return res.stdout.decode(errors="replace")

    def pull(self, ref, hosts_dir, platform="linux/amd64", timeout=60):
        """`ctr images pull --hosts-dir DIR --snapshotter native --platform P REF`:
        fetches the index, the platform's manifest, config and layers, and
        unpacks the layers into the native snapshotter."""
        return self.ctr("images", "pull", "--hosts-dir", hosts_dir, "--snapshotter", SNAPSHOTTER,
                        "--platform", platform, ref, timeout=timeout)

    def images(self):
        """{ref: (media type, digest)} from `ctr images ls`."""
        out = {}
        for line in self.ctr("images", "ls").splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3:
                out[fields[0]] = (fields[1], fields[2])
        return out

    def content_digests(self):
        """Digests in the content store (`ctr content ls -q`)."""
        return set(self.ctr("content", "ls", "-q").split())

    def snapshot_keys(self, kind="Committed"):
        """Keys of the native snapshotter's snapshots of `kind`; a committed
        layer's key is its chain ID."""
        out = set()
        for line in self.ctr("snapshots", "--snapshotter", SNAPSHOTTER, "ls").splitlines()[1:]:
            fields = line.split()
            if fields and fields[-1] == kind:
                out.add(fields[0])
        return out

    # -- observation -----------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def log_tail(self, chars=6000):
        return self.log_text()[-chars:]
