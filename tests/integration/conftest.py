import os
import shutil
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fiorun  # noqa: E402


def pytest_configure(config):
    if not os.path.exists(fiorun.ENGINE):
        raise pytest.UsageError("engine not built: %s (run make)" % fiorun.ENGINE)


@pytest.fixture
def workdir():
    """A directory on a disk file system (O_DIRECT needs one; /tmp may be tmpfs)."""
    base = os.environ.get("FIODLIO_TEST_DIR", os.path.join(fiorun.BUILD, "test-data"))
    d = os.path.join(base, uuid.uuid4().hex[:12])
    os.makedirs(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# CI has every prerequisite: a skipped test there is a failure.
_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("FIODLIO_CI") == "1" and _skipped:
        print("\nCI does not allow skipped tests: " + ", ".join(_skipped))
        session.exitstatus = 1
