"""Loopback port helpers."""

import socket
import time

LOOPBACK = "127.0.0.1"


# Ports free_port handed out in this process: the kernel may offer the same
# ephemeral port twice in a row (seen: a regcache's admin port equal to its
# registry port), so one is never handed out again.
_handed_out = set()


class LoopbackServer:
    """What a fixture of a server on loopback port `self.port` is reached at."""

    @property
    def host(self):
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"


def free_port(host=LOOPBACK):
    """Return a TCP port that was free on `host` a moment ago (bind to port 0),
    and that this process has not been given before.

    There is an unavoidable race between closing this probe socket and the
    child binding it; the kernel does not hand out a port it just gave
    immediately again to another binder, so in practice it holds.
    """
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port that was not handed out already")


def port_is_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host, port, timeout=10.0, alive=None):
    """Wait until something accepts TCP connections on host:port.

    `alive`, if given, is a callable returning False when the process that
    should open the port has died; waiting then stops early.
    Raises TimeoutError (or RuntimeError if `alive()` turned False).
    """
    deadline = time.monotonic() + timeout
    while True:
        if port_is_open(host, port):
            return
        if alive is not None and not alive():
            raise RuntimeError(f"process died before listening on {host}:{port}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
        time.sleep(0.05)
