"""A front door to a real registry that behaves like some public registries:
it requires Basic credentials, answers blob GETs with a 307 to another host
(blob storage), and can fail the first requests with a 503.

    front = Front(registry_url, storage_url, creds=("u", "p"), fail_first=1).start()
    front.url  ...  front.stop()
"""

import base64
import http.client
import http.server
import threading
import urllib.parse

from . import ports


class Front:
    def __init__(self, registry_url, storage_url, creds=None, fail_first=0):
        self.registry = urllib.parse.urlsplit(registry_url)
        self.storage_url = storage_url.rstrip("/")
        self.creds = creds
        self.fail_first = fail_first
        self.failed = 0
        self.redirects = 0
        self._lock = threading.Lock()
        self._server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.answer()

            def do_GET(self):
                self.answer()

            def reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def answer(self):
                with front._lock:
                    fail = front.failed < front.fail_first
                    front.failed += fail
                if fail:
                    return self.reply(503, [("Retry-After", "1")], b"try again")
                if front.creds:
                    want = "Basic " + base64.b64encode(":".join(front.creds).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self.reply(401, [("WWW-Authenticate", 'Basic realm="front"')], b"{}")
                if "/blobs/" in self.path and self.command == "GET":
                    with front._lock:
                        front.redirects += 1
                    return self.reply(307, [("Location", front.storage_url + self.path + "?signature=abc")])
                conn = http.client.HTTPConnection(front.registry.hostname, front.registry.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
                    conn.request(self.command, self.path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    keep = [(k, v) for k, v in resp.getheaders()
                            if k.lower() not in ("content-length", "connection", "transfer-encoding")]
                    self.send_response(resp.status)
                    for k, v in keep:
                        self.send_header(k, v)
                    self.send_header("Content-Length", resp.getheader("Content-Length", str(len(body))))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                finally:
                    conn.close()

        self._server = http.server.ThreadingHTTPServer((ports.LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
