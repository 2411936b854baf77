"""A fault-injecting TCP relay between regcache and an upstream.

    relay = Relay(upstream_port, cut_after=8 * MiB, cut_connections=1)
    relay.start()            # listens on relay.port (loopback)
    ...
    relay.stop()

Every accepted connection is relayed to 127.0.0.1:<upstream_port>. With
`cut_after` set, the first `cut_connections` connections (None = all) whose
upstream-to-client bytes pass `cut_after` are closed right there, mid-response.
`cut` counts how many were cut. `delay` holds every response chunk back
that many seconds (a stalled upstream). With `trickle_after` set, each
connection's response bytes past that many go on `trickle_bytes` at a time,
one piece every `trickle_interval` seconds (an upstream that trickles, never
silent long enough for a read timeout); `trickle_bytes=0` stops them there
(an upstream that stalls mid-body).
"""

import socket
import threading
import time

from . import ports


class Relay:
    def __init__(self, upstream_port, cut_after=None, cut_connections=None, server_tls=None, delay=0.0,
                 trickle_after=None, trickle_bytes=1, trickle_interval=0.1):
        self.upstream_port = upstream_port
        self.server_tls = server_tls  # an ssl.SSLContext: terminate TLS towards regcache
        self.client_bytes = bytearray()  # everything clients sent, to inspect their headers
        self.delay = delay  # seconds to hold every response chunk back
        self.cut_after = cut_after
        self.cut_connections = cut_connections
        self.cut = 0
        self.trickle_after = trickle_after
        self.trickle_bytes = trickle_bytes
        self.trickle_interval = trickle_interval
        self.port = None
        self._lock = threading.Lock()
        self._listener = None
        self._stopping = threading.Event()
        self._threads = []
        self._sockets = []

    @property
    def url(self):
        # TLS certificates made by support/tls.py name "localhost".
        return f"https://localhost:{self.port}" if self.server_tls else f"http://127.0.0.1:{self.port}"

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((ports.LOOPBACK, 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stopping.set()
        # shutdown() wakes the thread blocked in accept(); close() alone would
        # leave the kernel socket listening until accept() returns.
        for end in (lambda: self._listener.shutdown(socket.SHUT_RDWR), self._listener.close):
            try:
                end()
            except OSError:
                pass
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _should_cut(self):
        with self._lock:
            if self.cut_connections is not None and self.cut >= self.cut_connections:
                return False
            self.cut += 1
            return True

    def _trickle(self, dst, data, sent):
        """Sends `data` (response bytes from offset `sent`) at the trickle's
        pace, then holds the connection until the relay stops."""
        fast = max(0, self.trickle_after - sent)
        dst.sendall(data[:fast])
        rest = data[fast:]
        while rest and self.trickle_bytes and not self._stopping.is_set():
            time.sleep(self.trickle_interval)
            dst.sendall(rest[: self.trickle_bytes])
            rest = rest[self.trickle_bytes:]
        self._stopping.wait()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        try:
            if self.server_tls is not None:
                client.settimeout(10)
                client = self.server_tls.wrap_socket(client, server_side=True)
                client.settimeout(None)
            upstream = socket.create_connection((ports.LOOPBACK, self.upstream_port), timeout=10)
        except OSError:  # ssl.SSLError is one: a refused handshake ends here
            client.close()
            return
        with self._lock:
            self._sockets += [client, upstream]
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, src, dst, is_response):
        sent = 0
        try:
            while True:
                data = src.recv(256 * 1024)
                if not data:
                    break
                if not is_response:
                    with self._lock:
                        self.client_bytes += data
                if is_response and self.delay:
                    time.sleep(self.delay)
                if is_response and self.cut_after is not None and sent + len(data) > self.cut_after:
                    if self._should_cut():
                        dst.sendall(data[: max(0, self.cut_after - sent)])
                        break
                if is_response and self.trickle_after is not None and sent + len(data) > self.trickle_after:
                    self._trickle(dst, data, sent)
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
