"""The container image: docker/Dockerfile built with buildah the way `make
image` builds it (scripts/build-image.sh: chroot isolation, vfs storage in
build/image/, debian:12 and debian:12-slim made with debootstrap where no
registry answers), then run.

The image's configuration says what docker and Kubernetes rely on (user
10001:10001, the entrypoint, port 5000, the cache volume, SIGTERM), and its
binary runs: `regcache version` is the release build, and the entrypoint
with its default arguments (the image's own /etc/regcache/regcache.yaml),
moved to free loopback ports with --listen and --admin-listen, answers /v2/
and /readyz as UID/GID 10001, then drains and exits 0 on SIGTERM. The runtime image's size is printed.

Builds the image (minutes: regcache is compiled inside it) and needs root.
ctest runs it once, from the non-sanitizer build (label `image`).
Run it:  cd tests/image && python3 -m unittest -v test_image
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from support import http, ports, process, skips  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_IMAGE = os.path.join(ROOT, "scripts", "build-image.sh")
IMAGE = "localhost/regcache:latest"
UID = 10001
# Within ctest's TIMEOUT of 3600 s for the whole test (tests/CMakeLists.txt).
BUILD_TIMEOUT = 3000


def missing_prerequisites():
    missing = [c for c in ("buildah", "debootstrap", "unshare", "curl") if shutil.which(c) is None]
    if os.geteuid() != 0:
        missing.append("root (buildah's chroot isolation and debootstrap)")
    return missing


def buildah(*args, timeout=120):
    """buildah ARGS on the image storage of `make image`; stdout as text."""
    result = process.run([BUILD_IMAGE, "buildah", *args], timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"buildah {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def ids_of(status_text, field):
    """The real, effective, saved and filesystem IDs of a /proc/<pid>/status field."""
    for line in status_text.splitlines():
        if line.startswith(field + ":"):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError(f"no {field} line in /proc/<pid>/status")


def session_process_named(sid, name):
    """The PID of the live process called `name` in session `sid`, or None."""
    for pid in process.group_members(sid):
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == name:
            return pid
    return None


@skips.requires("buildah, debootstrap and root", missing_prerequisites)
class ImageTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        build = process.run([BUILD_IMAGE], timeout=BUILD_TIMEOUT)
        elapsed = time.monotonic() - started
        if build.returncode != 0:
            raise AssertionError(f"scripts/build-image.sh exited {build.returncode} after {elapsed:.0f}s:\n"
                                 f"{build.stdout.decode(errors='replace')[-6000:]}\n"
                                 f"{build.stderr.decode(errors='replace')[-6000:]}")
        cls.image = json.loads(buildah("inspect", "--type", "image", IMAGE))
        size = buildah("images", "--format", "{{.Size}}", IMAGE).strip()
        print(f"\nimage {IMAGE}: built in {elapsed:.0f}s, size {size}", file=sys.stderr)
        cls.container = buildah("from", "--pull=never", IMAGE).strip()
        cls.tmp = tempfile.mkdtemp(prefix="regcache-image-")

    @classmethod
    def tearDownClass(cls):
        buildah("rm", cls.container)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_in_image(self, *argv, timeout=60):
        return buildah("run", "--isolation", "chroot", self.container, "--", *argv, timeout=timeout)

    def test_the_configuration_is_what_docker_and_kubernetes_rely_on(self):
        config = self.image["OCIv1"]["config"]
        self.assertEqual(config["User"], f"{UID}:{UID}")
        self.assertEqual(config["Entrypoint"], ["regcache", "serve"])
        self.assertEqual(config["Cmd"], ["--config", "/etc/regcache/regcache.yaml"])
        self.assertEqual(list(config["ExposedPorts"]), ["5000/tcp"])
        self.assertEqual(list(config["Volumes"]), ["/var/cache/regcache"])
        self.assertEqual(config["StopSignal"], "SIGTERM")

    def test_the_binary_is_the_release_build(self):
        version = self.run_in_image("regcache", "version").strip()
        self.assertRegex(version, r"^regcache \d+\.\d+\.\d+")
        self.assertNotIn("test build", version)

    def test_serve_answers_as_uid_10001_and_drains_on_sigterm(self):
        port, admin_port = ports.free_port(), ports.free_port()
        log_path = os.path.join(self.tmp, "serve.log")
        # The image's entrypoint and config, on free loopback ports; no --user,
        # as `docker run` gives none: the image's USER applies.
        server = process.ManagedProcess(
            [BUILD_IMAGE, "buildah", "run", "--isolation", "chroot", "--network", "host", self.container, "--",
             *self.image["OCIv1"]["config"]["Entrypoint"], *self.image["OCIv1"]["config"]["Cmd"],
             "--listen", f"{ports.LOOPBACK}:{port}", "--admin-listen", f"{ports.LOOPBACK}:{admin_port}"],
            log_path)
        server.start()

        def log_tail():
            with open(log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]

        try:
            base = f"http://{ports.LOOPBACK}:{port}"
            server.wait_ready("regcache in the image", http.readiness_probe(f"{base}/readyz", (200,)),
                              60, log_tail)
            status, _, _ = http.request(f"{base}/v2/")
            self.assertEqual(status, 200)

            pid = session_process_named(server.pid, "regcache")
            self.assertIsNotNone(pid, "no regcache process in the buildah run session")
            with open(f"/proc/{pid}/status", encoding="utf-8") as f:
                status_text = f.read()
            self.assertEqual(ids_of(status_text, "Uid"), [UID] * 4)
            self.assertEqual(ids_of(status_text, "Gid"), [UID] * 4)

            os.kill(pid, signal.SIGTERM)
            try:
                returncode = server.popen.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.fail(f"regcache did not exit within 40s of SIGTERM:\n{log_tail()}")
            self.assertEqual(returncode, 0, log_tail())
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
