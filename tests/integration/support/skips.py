"""The one way an integration test says it cannot run here.

Outside CI a test whose environment lacks something (containerd, the right to
mount a tmpfs, a fault-injection build...) is skipped, and the skip is
appended to the file named by REGCACHE_SKIP_LOG (ctest sets it to
<build dir>/skipped-tests.txt; `make test` prints it at the end). In CI
(CI=true) the same test fails instead, naming what is missing: a green CI run
has run every test.

    from support import skips

    @skips.requires("containerd", ctd.missing_binaries)   # on a class or a test method
    class ContainerdPullTests(...): ...

    if disk is None:
        skips.cannot_run(self, "a tmpfs mount", "needs root or CAP_SYS_ADMIN")
"""
import functools
import os
import unittest

SKIP_LOG_ENV = "REGCACHE_SKIP_LOG"


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _message(what, detail):
    return f"{what} is missing" + (f" ({detail})" if detail else "")


def _record(test_id, message):
    path = os.environ.get(SKIP_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{test_id}: {message}\n")


def _refuse(test_id, message):
    """Fails in CI; elsewhere records the skip and skips."""
    if in_ci():
        raise AssertionError(f"CI=true and {test_id} cannot run: {message}")
    _record(test_id, message)
    raise unittest.SkipTest(message)


def cannot_run(test, what, detail=""):
    """Ends `test` (a running TestCase) because `what` is not available."""
    _refuse(test.id(), _message(what, detail))


def cannot_run_class(cls, what, detail=""):
    """The same from a TestCase class's setUpClass: none of its tests can run."""
    _refuse(f"{cls.__module__}.{cls.__qualname__}", _message(what, detail))


def requires(what, missing):
    """Decorates a TestCase class or a test method: `missing()` returns what
    is absent (an empty value when everything is there). On a class the check
    runs before setUpClass, so nothing is set up for tests that cannot run."""
    def decorate(target):
        if isinstance(target, type):
            set_up_class = target.__dict__.get("setUpClass")

            @classmethod
            def checked_set_up_class(cls):
                detail = missing()
                if detail:
                    cannot_run_class(cls, what, _describe(detail))
                if set_up_class is not None:
                    set_up_class.__func__(cls)
                else:
                    super(target, cls).setUpClass()

            target.setUpClass = checked_set_up_class
            return target

        @functools.wraps(target)
        def checked(self, *args, **kwargs):
            detail = missing()
            if detail:
                cannot_run(self, what, _describe(detail))
            return target(self, *args, **kwargs)

        return checked

    return decorate


def _describe(detail):
    if isinstance(detail, (list, tuple, set)):
        return ", ".join(str(d) for d in detail)
    return "" if detail is True else str(detail)
