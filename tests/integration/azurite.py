"""A real Azurite for the Azure tests, started by scripts/azurite on a port of its own.

Each pytest session gets a free port, so parallel sessions (make check next to make check
SANITIZE=1) never share, or stop, each other's server.  The first start installs Azurite from
npm into scripts/.azurite/ (pinned version, local to the repository).
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from fiorun import BUILD, REPO, SANITIZE

SCRIPT = os.path.join(REPO, "scripts", "azurite")
ACCOUNT = "devstoreaccount1"
# Microsoft publishes this key for the storage emulators; it guards nothing, but the tests
# still check that it never shows up in fio's output.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    def __init__(self, port):
        self.port = port
        self.endpoint = "http://127.0.0.1:%d/%s" % (port, ACCOUNT)
        self.connection_string = ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
                                  "BlobEndpoint=%s;" % (ACCOUNT, KEY, self.endpoint))

    def _script(self, cmd, timeout):
        env = dict(os.environ, AZURITE_PORT=str(self.port))
        p = subprocess.run([SCRIPT, cmd], capture_output=True, text=True, env=env,
                           timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("scripts/azurite %s failed (rc=%d):\n%s%s"
                               % (cmd, p.returncode, p.stdout, p.stderr))

    def start(self):
        # the first start installs Azurite with npm
        self._script("start", timeout=900)

    def stop(self):
        self._script("stop", timeout=60)

    def env(self):
        """What the engine reads when no credential option is given."""
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}


def _tool():
    """tests/tools/az-tool.c built against this build's library (SAS and list())."""
    out = os.path.join(BUILD, "tools", "az-tool")
    src = os.path.join(REPO, "tests", "tools", "az-tool.c")
    lib = os.path.join(BUILD, "libfiodlio.a")
    if (os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(src)
            and os.path.getmtime(out) > os.path.getmtime(lib)):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    flags = ["-fsanitize=address,undefined"] if SANITIZE else []
    subprocess.run(["cc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
                    "-D_GNU_SOURCE", "-I" + os.path.join(REPO, "engine")] + flags +
                   ["-o", out + ".tmp", src, lib, "-luring", "-lcurl", "-lssl", "-lcrypto",
                    "-lyaml", "-lz", "-lpthread", "-lm"], check=True)
    os.replace(out + ".tmp", out)
    return out


@pytest.fixture(scope="session")
def azurite():
    missing = [t for t in ("node", "npm", "curl") if not shutil.which(t)]
    if missing:
        pytest.skip("Azurite needs %s (scripts/install-deps installs them)" % ", ".join(missing))
    server = Azurite(free_port())
    server.start()
    saved = {k: os.environ.get(k) for k in
             ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT",
              "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_BEARER_TOKEN")}
    for k in saved:
        os.environ.pop(k, None)
    os.environ.update(server.env())
    try:
        yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture(scope="session")
def az_tool(azurite):
    path = _tool()

    def run(*args, env=None, check=True):
        p = subprocess.run([path] + list(args), capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, **(env or {})))
        if check and p.returncode != 0:
            raise AssertionError("az-tool %s failed: %s" % (" ".join(args), p.stderr))
        return p
    return run


def wait_port_closed(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
