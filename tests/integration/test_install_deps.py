"""scripts/install-deps.sh runs on users' machines (Kubernetes nodes among
them) before `make run` and `make test`: it must never stop, disable, kill or
reconfigure a service or process, and never install a Debian package over a
command the machine already has.

The script is read for any process or service control, then run for real
in a private PID namespace with stub `apt-get`, `dpkg-query`, `sudo` and
service managers first on PATH (they record and touch nothing), while a dummy
`containerd` process runs there and dummy `containerd` and `nginx` commands
exist: a `pkill containerd` would end the dummy, never a host process.

Run one:  python3 -m unittest -v test_install_deps    (needs no regcache)
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from support import skips

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "install-deps.sh")

# Commands that start, stop or reconfigure services, and that signal processes.
SERVICE_COMMANDS = (
    "systemctl", "service", "invoke-rc.d", "update-rc.d", "deb-systemd-invoke", "deb-systemd-helper",
    "start-stop-daemon", "initctl", "telinit", "shutdown", "reboot", "halt", "poweroff", "dpkg-reconfigure",
)
SIGNAL_COMMANDS = ("kill", "pkill", "killall", "skill", "snice", "fuser")
CONTROL_COMMANDS = SERVICE_COMMANDS + SIGNAL_COMMANDS

RECORDER = """#!/bin/sh
echo "{name} $*" >> "$STUB_LOG"
{tail}
"""


def code_of(script_text):
    """The script without comments (a `#` that starts a word, outside quotes)."""
    lines = []
    for line in script_text.splitlines():
        if line.lstrip().startswith("#!") and not lines:
            continue
        lines.append(re.sub(r"""(^|\s)#[^'"]*$""", "", line))
    return "\n".join(lines)


def write_executable(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o755)


class ScriptTextTests(unittest.TestCase):
    def test_the_script_controls_no_process_or_service(self):
        with open(SCRIPT, encoding="utf-8") as f:
            code = code_of(f.read())
        for command in CONTROL_COMMANDS:
            with self.subTest(command=command):
                self.assertNotRegex(code, rf"(?<![\w.-]){re.escape(command)}(?![\w.-])",
                                    f"install-deps.sh must not call {command}")

    def test_the_check_finds_control_where_it_is(self):
        planted = "set -e\n# systemctl in a comment is fine\nsudo systemctl disable --now containerd\n"
        self.assertRegex(code_of(planted), r"(?<![\w.-])systemctl(?![\w.-])")
        self.assertNotRegex(code_of("# pkill -x nginx\necho ok  # kill it\n"), r"(?<![\w.-])p?kill(?![\w.-])")


# Runs inside a fresh PID namespace: the dummy containerd is its only other
# process, so a pkill or killall in the script would find and end it (and
# nothing on the host). Prints the dummy's state after the script ran.
RUNNER = r"""
"$1" 600 &
dummy=$!
"$2" bench >"$3/stdout" 2>"$3/stderr"
echo $? >"$3/rc"
state=$(sed 's/.*) //' "/proc/$dummy/stat" 2>/dev/null | cut -d' ' -f1)
echo "${state:-gone}" >"$3/dummy-state"
kill "$dummy" 2>/dev/null || true
"""


def namespace_prefix():
    """unshare arguments for a private PID namespace, or None when not allowed."""
    prefix = ["unshare", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        prefix[1:1] = ["--user", "--map-root-user"]
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(prefix + ["true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


class ScriptRunTests(unittest.TestCase):
    """One real run of the bench profile (the largest package list)."""

    @classmethod
    def setUpClass(cls):
        prefix = namespace_prefix()
        if prefix is None:
            skips.cannot_run_class(cls, "a private PID namespace", "unshare --pid --mount-proc")
        cls.dir = tempfile.mkdtemp(prefix="install-deps-test-")
        stubs = os.path.join(cls.dir, "bin")
        os.mkdir(stubs)
        cls.log = os.path.join(cls.dir, "calls.log")
        open(cls.log, "w").close()
        # apt-get prints what it was asked on stdout too, to check the order
        # against the script's own announcement.
        write_executable(os.path.join(stubs, "apt-get"), RECORDER.format(
            name="apt-get", tail='echo "stub-apt-get $*"'))
        # No package is installed, so every wanted package without a present
        # command is "missing".
        write_executable(os.path.join(stubs, "dpkg-query"), RECORDER.format(name="dpkg-query", tail="exit 1"))
        write_executable(os.path.join(stubs, "sudo"), RECORDER.format(name="sudo", tail='exec "$@"'))
        # Service managers talk to the host's init whatever the namespace:
        # they are stubbed. Signals (kill, pkill, killall) stay real and can
        # only reach the namespace.
        for command in SERVICE_COMMANDS:
            write_executable(os.path.join(stubs, command), RECORDER.format(name=command, tail="exit 0"))
        write_executable(os.path.join(stubs, "nginx"), "#!/bin/sh\nexit 0\n")
        # A kubectl of another origin (Google Cloud SDK's package): Debian's
        # kubernetes-client would conflict with it.
        write_executable(os.path.join(stubs, "kubectl"), "#!/bin/sh\nexit 0\n")
        # The dummy containerd: a running process of that name, and the command.
        shutil.copy("/bin/sleep", os.path.join(stubs, "containerd"))
        env = dict(os.environ, PATH=stubs + os.pathsep + os.environ.get("PATH", ""), STUB_LOG=cls.log)
        subprocess.run(prefix + ["bash", "-c", RUNNER, "runner", os.path.join(stubs, "containerd"), SCRIPT, cls.dir],
                       env=env, check=True, timeout=60)

        def read(name):
            with open(os.path.join(cls.dir, name), encoding="utf-8") as f:
                return f.read()
        cls.returncode = int(read("rc"))
        cls.stdout, cls.stderr = read("stdout"), read("stderr")
        cls.dummy_state = read("dummy-state").strip()
        cls.calls = read("calls.log").splitlines()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def install_args(self):
        installs = [c.split()[1:] for c in self.calls if c.startswith("apt-get ") and " install " in c]
        self.assertEqual(len(installs), 1, self.calls)
        return [a for a in installs[0] if not a.startswith("-") and a != "install"]

    def test_the_script_succeeds(self):
        self.assertEqual(self.returncode, 0, self.stderr)

    def test_a_running_containerd_is_left_running(self):
        self.assertIn(self.dummy_state, ("S", "R"), "the dummy containerd process was stopped")

    def test_no_process_or_service_control_is_called(self):
        called = {c.split()[0] for c in self.calls}
        self.assertEqual(called & set(CONTROL_COMMANDS), set(), self.calls)

    def test_packages_of_commands_already_present_are_not_installed(self):
        args = self.install_args()
        self.assertNotIn("containerd", args)
        self.assertNotIn("nginx-light", args)
        self.assertNotIn("kubernetes-client", args)
        # dpkg-query says nothing is installed: the packages wanted for no
        # particular command are installed, which shows the install path ran.
        self.assertIn("build-essential", args)
        self.assertIn("libboost1.81-all-dev", args)

    def test_the_packages_are_announced_before_they_are_installed(self):
        out = self.stdout.splitlines()
        announced = [i for i, line in enumerate(out) if "will be installed:" in line]
        installed = [i for i, line in enumerate(out) if line.startswith("stub-apt-get ") and " install " in line]
        self.assertEqual(len(announced), 1, self.stdout)
        self.assertEqual(len(installed), 1, self.stdout)
        self.assertLess(announced[0], installed[0])
        listed = out[announced[0]].split("will be installed:", 1)[1].split()
        self.assertEqual(listed, self.install_args())


if __name__ == "__main__":
    unittest.main()
