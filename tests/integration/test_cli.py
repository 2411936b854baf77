"""The regcache command line: version, help, configuration errors.

Run one:  REGCACHE_BIN=build/regcache python3 -m unittest -v test_cli
"""

import os
import subprocess
import tempfile
import unittest

from support.regcache import regcache_bin


def run(*args, timeout=20):
    return subprocess.run([regcache_bin(), *args], capture_output=True, text=True, timeout=timeout)


class CliTests(unittest.TestCase):
    def test_version(self):
        res = run("version")
        self.assertEqual(res.returncode, 0)
        self.assertRegex(res.stdout, r"^regcache \d+\.\d+\.\d+")

    def test_help_documents_every_serve_flag(self):
        res = run("serve", "--help")
        self.assertEqual(res.returncode, 0)
        for flag in ("--config", "--listen", "--data", "--upstream", "--log-level"):
            self.assertIn(flag, res.stdout)
        top = run("--help")
        self.assertEqual(top.returncode, 0)
        self.assertIn("serve", top.stdout)
        self.assertIn("version", top.stdout)

    def test_config_errors_name_the_key_and_exit_non_zero(self):
        cases = {
            "server:\n  idle_timeout: 5x\n": "server.idle_timeout",
            "server:\n  listne: 1\n": "server.listne",
            "log:\n  level: loud\n": "log.level",
            "upstreams:\n  - name: a.io\n    url: ftp://a.io\n": "url",
        }
        with tempfile.TemporaryDirectory() as d:
            for text, key in cases.items():
                path = os.path.join(d, "c.yaml")
                with open(path, "w") as f:
                    f.write(text)
                res = run("serve", "--config", path, "--data", os.path.join(d, "data"))
                self.assertNotEqual(res.returncode, 0, text)
                self.assertIn(key, res.stderr, text)
                self.assertFalse(os.path.exists(os.path.join(d, "data", "index")),
                                 "nothing may be created when the config is invalid")

    def test_bad_upstream_flag_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            res = run("serve", "--upstream", "registry.example", "--data", d)
            self.assertNotEqual(res.returncode, 0)
            self.assertIn("--upstream", res.stderr)


if __name__ == "__main__":
    unittest.main()
