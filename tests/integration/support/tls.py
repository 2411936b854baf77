"""A throwaway certificate authority for TLS tests, made with the openssl CLI.

    pki = TestPki(directory)
    pki.ca_cert                       # PEM of the CA
    pki.server_cert, pki.server_key   # for "localhost" and 127.0.0.1, signed by the CA
    pki.client_cert, pki.client_key   # a client certificate signed by the CA
    pki.server_context(require_client_cert=False) -> ssl.SSLContext
    pki.issue("name", "/CN=x", ext_text) -> (cert path, key path)   # another one, valid 2 days
    pki.issue_expired("name", "/CN=x", ext_text) -> (cert path, key path)  # expired in 2020
"""

import os
import ssl
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class TestPki:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        p = lambda name: os.path.join(directory, name)  # noqa: E731
        self.ca_cert, self.ca_key = p("ca.pem"), p("ca.key")
        self.server_cert, self.server_key = p("server.pem"), p("server.key")
        self.client_cert, self.client_key = p("client.pem"), p("client.key")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=regcache test CA",
                 "-keyout", self.ca_key, "-out", self.ca_cert, cwd=directory)
        with open(p("server.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._issue("server", "/CN=localhost", p("server.ext"))
        self.server_ext = p("server.ext")
        with open(p("client.ext"), "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        self._issue("client", "/CN=regcache", p("client.ext"))
        self.client_ext = p("client.ext")

    def _issue(self, name, subject, extfile):
        key, csr, cert = (os.path.join(self.dir, f"{name}.{x}") for x in ("key", "csr", "pem"))
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr, cwd=self.dir)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key, "-CAcreateserial",
                 "-days", "2", "-extfile", extfile, "-out", cert, cwd=self.dir)

    def server_context(self, require_client_cert=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_cert)
        return ctx

    def issue(self, name, subject, extfile):
        """A further certificate signed by the CA: <dir>/<name>.pem and .key."""
        self._issue(name, subject, extfile)
        return os.path.join(self.dir, f"{name}.pem"), os.path.join(self.dir, f"{name}.key")

    def issue_expired(self, name, subject, extfile):
        """A certificate signed by the CA that expired long ago (`openssl x509`
        of OpenSSL 3.0 cannot backdate; `openssl ca` can)."""
        key, csr, cert = (os.path.join(self.dir, f"{name}.{x}") for x in ("key", "csr", "pem"))
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr, cwd=self.dir)
        db, serial = os.path.join(self.dir, f"{name}.db"), os.path.join(self.dir, f"{name}.serial")
        open(db, "w").close()
        with open(serial, "w") as f:
            f.write("1000\n")
        config = os.path.join(self.dir, f"{name}.cnf")
        with open(config, "w") as f:
            f.write(f"[ca]\ndefault_ca = test\n[test]\ndatabase = {db}\nserial = {serial}\n"
                    f"new_certs_dir = {self.dir}\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                    "[any]\ncommonName = supplied\n")
        _openssl("ca", "-batch", "-config", config, "-cert", self.ca_cert, "-keyfile", self.ca_key, "-notext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                 "-extfile", extfile, "-in", csr, "-out", cert, cwd=self.dir)
        return cert, key
