"""Run the real fio with the fio-dlio engine and judge the result strictly.

fio exits 0 even when a forked job died on a signal (only stderr says "got
signal") and reports some failures only in the JSON, so every run is checked
on all three: exit status, stderr and each job's "error".
"""
import json
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("FIODLIO_BUILD", os.path.join(REPO, "build"))
ENGINE = os.path.join(BUILD, "fio-dlio.so")
FIO = os.environ.get("FIO", "fio")
SANITIZE = os.environ.get("FIODLIO_SANITIZE", "0") == "1"

CRASH_RE = re.compile(r"got signal|Assertion .* failed|AddressSanitizer|UndefinedBehaviorSanitizer|"
                      r"runtime error:|Segmentation fault|symbol lookup error")


class FioFailed(AssertionError):
    pass


def fio_env():
    """The environment fio runs in (with the ASan runtime preloaded under SANITIZE=1)."""
    return _env()


def _env():
    env = dict(os.environ)
    if SANITIZE:
        # fio itself is not instrumented: preload the ASan runtime for the engine.
        libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        env["LD_PRELOAD"] = libasan
        # fio's own allocations are never freed at exit; leaks are checked by the unit tests.
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def parse_json(stdout):
    """fio's JSON document: it starts at a line that is just "{" (engine and server
    messages, some holding braces themselves, may come first)."""
    start = 0 if stdout.startswith("{") else stdout.find("\n{\n") + 1
    if start <= 0 and not stdout.startswith("{"):
        raise FioFailed("fio printed no JSON:\n" + stdout)
    return json.loads(stdout[start:])


def check_result(rc, stdout, stderr, expect_error=False):
    """Return fio's JSON; raise FioFailed unless the outcome is the expected one."""
    crash = CRASH_RE.search(stderr) or CRASH_RE.search(stdout)
    if crash:
        raise FioFailed("fio job crashed (%r) rc=%d\nstderr:\n%s" % (crash.group(0), rc, stderr))
    data = parse_json(stdout) if stdout.startswith("{") or "\n{\n" in stdout else None
    errors = [j.get("error", 0) for j in (data or {}).get("jobs", [])]
    failed = rc != 0 or any(errors) or data is None
    if expect_error:
        if not failed:
            raise FioFailed("fio succeeded but an error was expected\nstderr:\n" + stderr)
        return data
    if failed:
        raise FioFailed("fio failed: rc=%d job errors=%s\nstderr:\n%s\nstdout:\n%s"
                        % (rc, errors, stderr, stdout[-4000:]))
    return data


class Result:
    def __init__(self, rc, stdout, stderr, data):
        self.rc, self.stdout, self.stderr, self.data = rc, stdout, stderr, data

    @property
    def jobs(self):
        return self.data["jobs"]


def run(args, expect_error=False, engine=None, jobfile=None, timeout=600, cwd=None):
    """Run fio with the engine; args are job options as '--key=value' strings."""
    engine = engine or ENGINE
    cmd = [FIO, "--output-format=json"]
    if jobfile:
        cmd.append(jobfile)
    else:
        cmd += ["--name=job", "--ioengine=external:" + engine] + list(args)
    if cwd is None:
        # fio drops verify state files into its working directory on failures
        cwd = os.path.join(BUILD, "test-data")
        os.makedirs(cwd, exist_ok=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=cwd)
    data = check_result(p.returncode, p.stdout, p.stderr, expect_error)
    return Result(p.returncode, p.stdout, p.stderr, data)


def run_raw(cmd, timeout=120):
    p = subprocess.run([FIO] + cmd, capture_output=True, text=True, timeout=timeout, env=_env())
    return p.returncode, p.stdout, p.stderr
