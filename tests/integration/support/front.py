"""A front door to a real registry that behaves like some public registries:
it can require Basic credentials, answer blob GETs with a 307 to another host
(blob storage), fail the first requests with a 503, report a pull quota in
Docker Hub's RateLimit headers, rate-limit every request with a 429, and
serve the OCI 1.1 referrers API that docker-registry lacks.

    front = Front(registry_url, storage_url, creds=("u", "p"), fail_first=1).start()
    front.url  ...  front.stop()
    front = Front(registry_url, quota=(100, 42)).start()   # RateLimit-Limit 100, -Remaining 42
    front.rate_limited = True                               # from now on: 429 + Retry-After
    front = Front(registry_url, referrers={"/v2/<repo>/referrers/<digest>": [descriptor, ...]}).start()
        # GET of that path: an image index of those descriptors, filtered by
        # ?artifactType= (then with OCI-Filters-Applied: artifactType)
"""

import base64
import http.client
import http.server
import json
import threading
import urllib.parse

from . import http as h


class Front:
    QUOTA_WINDOW = 21600  # Docker Hub's: six hours

    def __init__(self, registry_url, storage_url=None, creds=None, fail_first=0, quota=None, referrers=None):
        self.registry = urllib.parse.urlsplit(registry_url)
        self.storage_url = storage_url.rstrip("/") if storage_url else None
        self.quota = quota
        self.rate_limited = False
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests it was answering at once
        self.creds = creds
        self.referrers = referrers or {}
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
                self.counted(self.answer)

            def do_GET(self):
                self.counted(self.answer)

            def counted(self, answer):
                with front._lock:
                    front.in_flight += 1
                    front.peak_in_flight = max(front.peak_in_flight, front.in_flight)
                self.still_counted = True
                try:
                    answer()
                finally:
                    self.uncount()

            def uncount(self):
                # Called before the last byte of the answer goes out: once the
                # client has the whole answer it may rightly send its next
                # request, which must not find this one still counted.
                if self.still_counted:
                    self.still_counted = False
                    with front._lock:
                        front.in_flight -= 1

            def reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_body(body)

            def send_body(self, body):
                """Ends the head and sends the body (none for HEAD)."""
                if self.command == "HEAD" or not body:
                    self.uncount()
                    self.end_headers()
                    return
                self.end_headers()
                self.wfile.write(body[:-1])
                self.wfile.flush()
                self.uncount()
                self.wfile.write(body[-1:])

            def quota_headers(self, remaining=None):
                if not front.quota:
                    return []
                limit, left = front.quota
                left = left if remaining is None else remaining
                return [("RateLimit-Limit", f"{limit};w={front.QUOTA_WINDOW}"),
                        ("RateLimit-Remaining", f"{left};w={front.QUOTA_WINDOW}")]

            def referrers_index(self, target):
                wanted = urllib.parse.parse_qs(target.query).get("artifactType", [""])[0]
                manifests = [d for d in front.referrers[target.path]
                             if not wanted or d.get("artifactType") == wanted]
                body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                   "manifests": manifests}).encode()
                headers = [("Content-Type", "application/vnd.oci.image.index.v1+json")]
                if wanted:
                    headers.append(("OCI-Filters-Applied", "artifactType"))
                self.reply(200, headers, body)

            def answer(self):
                with front._lock:
                    fail = front.failed < front.fail_first
                    front.failed += fail
                if fail:
                    return self.reply(503, [("Retry-After", "1")], b"try again")
                if front.rate_limited:
                    body = (b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull '
                            b'rate limit."}]}')
                    return self.reply(429, [("Retry-After", "3600"), ("Content-Type", "application/json")]
                                      + self.quota_headers(remaining=0), body)
                if front.creds:
                    want = "Basic " + base64.b64encode(":".join(front.creds).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self.reply(401, [("WWW-Authenticate", 'Basic realm="front"')], b"{}")
                target = urllib.parse.urlsplit(self.path)
                if target.path in front.referrers and self.command == "GET":
                    return self.referrers_index(target)
                if front.storage_url and "/blobs/" in self.path and self.command == "GET":
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
                    for k, v in keep + self.quota_headers():
                        self.send_header(k, v)
                    self.send_header("Content-Length", resp.getheader("Content-Length", str(len(body))))
                    self.send_body(body)
                finally:
                    conn.close()

        self._server = h.serve_in_thread(Handler)
        return self

    def stop(self):
        h.stop_server(self._server)
        self._server = None
