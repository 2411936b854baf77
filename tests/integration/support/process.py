"""Child processes that never outlive the tests.

Every child runs in its own session / process group (so a signal reaches
everything it spawned) and, by default, gets PR_SET_PDEATHSIG=SIGKILL so it
dies even when the Python test runner is killed by a ctest timeout.
PDEATHSIG fires when the *thread* that forked the child exits: start
long-lived processes from the main thread.

All live children are tracked; an atexit hook kills any that a test forgot.
"""

import atexit
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
import time

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # pragma: no cover - non-Linux
    _prctl = None

_live_lock = threading.Lock()
_live = {}  # pid -> ManagedProcess


def _child_setup():
    # Runs in the forked child before exec: keep it minimal.
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _child_setup_no_pdeathsig():
    os.setsid()


def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    # state is the field after the ")" that closes comm
    state = stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3]
    return state not in (b"Z", b"X")


def group_members(pgid):
    """PIDs of live (non-zombie) processes whose process group is `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(b")") + 2:].split()
        # rest[0]=state rest[1]=ppid rest[2]=pgrp
        if int(rest[2]) == pgid and rest[0] not in (b"Z", b"X"):
            members.append(int(entry))
    return members


class ManagedProcess:
    """A child process with its own process group and a log file.

    stdout and stderr both go to `log_path` (appended, so restarts keep
    history).
    """

    def __init__(self, argv, log_path, env=None, cwd=None, die_with_parent=True):
        self.argv = [str(a) for a in argv]
        self.log_path = str(log_path)
        self.env = env
        self.cwd = cwd
        self.die_with_parent = die_with_parent
        self.popen = None
        self.returncode = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        if self.running():
            raise RuntimeError(f"already running: pid {self.pid}")
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                preexec_fn=_child_setup if self.die_with_parent else _child_setup_no_pdeathsig,
                close_fds=True,
            )
        self.returncode = None
        with _live_lock:
            _live[self.popen.pid] = self
        return self

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, name, probe, timeout, log_tail):
        """Poll probe() every 50 ms: it returns None once the service answers,
        else a short description of what it saw.  RuntimeError if the process
        exits, TimeoutError after `timeout` s; both carry log_tail()."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{name} exited with {self.popen.returncode} during startup:\n{log_tail()}")
            last = probe()
            if last is None:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{name} not ready after {timeout}s ({last}):\n{log_tail()}")

    def _signal_group(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self, timeout):
        try:
            self.returncode = self.popen.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _forget(self):
        with _live_lock:
            _live.pop(self.popen.pid, None)

    def _kill_stragglers(self):
        # Anything the child spawned that is still in its group.
        deadline = time.monotonic() + 5
        while group_members(self.popen.pid) and time.monotonic() < deadline:
            self._signal_group(signal.SIGKILL)
            time.sleep(0.02)

    def stop(self, timeout=10.0, sig=signal.SIGTERM):
        """Send `sig` to the group, wait up to `timeout`, then SIGKILL.

        Returns the exit status (negative signal number if killed by one)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._signal_group(sig)
            if not self._reap(timeout):
                self._signal_group(signal.SIGKILL)
                self._reap(30)
        else:
            self.returncode = self.popen.returncode
        self._kill_stragglers()
        self._forget()
        return self.returncode

    def kill9(self):
        """SIGKILL the whole group at once (a crash), reap it."""
        if self.popen is None:
            return None
        self._signal_group(signal.SIGKILL)
        self._reap(30)
        self._kill_stragglers()
        self._forget()
        return self.returncode


def live_processes():
    with _live_lock:
        return list(_live.values())


@atexit.register
def _kill_all_live():
    for proc in live_processes():
        try:
            proc.kill9()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def run(argv, timeout, env=None, cwd=None, input=None):
    """Run a short-lived command in its own process group; on timeout the whole
    group is killed.  Returns subprocess.CompletedProcess with bytes output."""
    argv = [str(a) for a in argv]
    p = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        preexec_fn=_child_setup,
        close_fds=True,
    )
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        raise subprocess.TimeoutExpired(argv, timeout, output=out, stderr=err)
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)
