"""ctest's entry point for one integration test module.

    python3 run_module.py test_pull_through

Runs the module with unittest (verbose). When REGCACHE_SANITIZER_REPORTS names
a directory (the sanitizer build, see tests/integration/CMakeLists.txt), every
process the tests start writes its AddressSanitizer / UndefinedBehaviorSanitizer
/ LeakSanitizer report there instead of to its log; the run fails if any
appeared, printing them, even when the test that started the process passed
(a leak is only reported when the process exits).
"""
import glob
import os
import shutil
import sys
import unittest


def sanitizer_reports(directory):
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            out.append((path, f.read()))
    return out


def main(module):
    reports_dir = os.environ.get("REGCACHE_SANITIZER_REPORTS")
    if reports_dir:
        shutil.rmtree(reports_dir, ignore_errors=True)
        os.makedirs(reports_dir)
    program = unittest.main(module=None, argv=[sys.argv[0], "-v", module], exit=False)
    ok = program.result.wasSuccessful()
    if reports_dir:
        for path, text in sanitizer_reports(reports_dir):
            print(f"\n---- sanitizer report {path} ----\n{text}----", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
