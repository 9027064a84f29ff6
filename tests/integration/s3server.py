"""The real S3 server the s3:// tests run against: Ceph's RADOS Gateway started by
scripts/s3-server, plus an nginx TLS proxy in front of it with a throwaway CA, so https://
is tested with verification on."""
import datetime
import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

from fiorun import BUILD, REPO

SCRIPT = os.path.join(REPO, "scripts", "s3-server")
PORT = int(os.environ.get("FIODLIO_S3_PORT", "7480"))
TLS_PORT = int(os.environ.get("FIODLIO_S3_TLS_PORT", "7443"))
DIR = os.environ.get("FIODLIO_S3_DIR",
                     os.path.join(os.environ.get("TMPDIR", "/tmp"), "fio-dlio-s3"))


def server_env():
    """The variables `scripts/s3-server env` prints, as a dict."""
    out = subprocess.run([SCRIPT, "env"], capture_output=True, text=True, check=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            env[k] = v
    return env


def ready(port=PORT):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def s3_get(path, query=()):
    """A SigV4-signed GET on the gateway (path-style), for tests that check what the engine
    stored; signed here, independently of the engine's signer."""
    env = server_env()
    url = urllib.parse.urlsplit(env["AWS_ENDPOINT_URL_S3"])
    region, akid, secret = env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], \
        env["AWS_SECRET_ACCESS_KEY"]
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    empty = hashlib.sha256(b"").hexdigest()
    q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                 for k, v in sorted(query))
    uri = urllib.parse.quote(path, safe="/-_.~")
    signed = "host;x-amz-content-sha256;x-amz-date"
    creq = "\n".join(["GET", uri, q, "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n"
                      % (url.netloc, empty, amz), signed, empty])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, signed, sig)
    req = urllib.request.Request(
        "%s://%s%s%s" % (url.scheme, url.netloc, uri, "?" + q if q else ""),
        headers={"x-amz-date": amz, "x-amz-content-sha256": empty, "Authorization": auth})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


class Gateway:
    """Starts the gateway (if this session has to) and stops what it started."""

    def __init__(self):
        self.started = False

    def start(self):
        if ready():
            return
        p = subprocess.run([SCRIPT, "start"], capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("scripts/s3-server start failed:\n" + p.stderr[-3000:])
        self.started = True

    def stop(self):
        if self.started:
            subprocess.run([SCRIPT, "stop"], capture_output=True, text=True, timeout=120)

    def rgw_pid(self):
        with open(os.path.join(DIR, "run", "client.rgw.a.pid")) as f:
            return int(f.read().strip())

    def purge(self, bucket):
        """Remove a test's bucket and its objects at once (--bypass-gc): the OSD keeps its data
        in RAM under a fixed cap, and a suite that left its objects behind would fill it."""
        subprocess.run(["radosgw-admin", "-c", os.path.join(DIR, "ceph.conf"), "bucket", "rm",
                        "--bucket=" + bucket, "--purge-objects", "--bypass-gc"],
                       capture_output=True, timeout=120)

    def kill_rgw(self):
        """SIGKILL the gateway: connections reset, the port refuses."""
        pid = self.rgw_pid()
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def restart_rgw(self, timeout=60):
        subprocess.run(["radosgw", "-c", os.path.join(DIR, "ceph.conf"), "-n", "client.rgw.a"],
                       check=True, capture_output=True, timeout=60)
        deadline = time.time() + timeout
        while not ready():
            if time.time() > deadline:
                raise RuntimeError("the gateway did not come back")
            time.sleep(0.2)


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
"""


class TlsProxy:
    """nginx terminating TLS on 127.0.0.1:TLS_PORT with a certificate from a test CA. The
    Host header is passed through unchanged, so SigV4 signatures still match."""

    def __init__(self):
        self.dir = os.path.join(BUILD, "test-data", "s3-tls")
        self.proc = None
        self.ca = os.path.join(self.dir, "ca.crt")

    def _ssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=self.dir)

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.dir, sub))
        self._ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", "/CN=fio-dlio test CA", "-keyout", "ca.key", "-out", "ca.crt")
        self._ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                  "-keyout", "server.key", "-out", "server.csr")
        with open(os.path.join(self.dir, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self._ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(d=self.dir, port=TLS_PORT, upstream=PORT))
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while True:
            p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                "--cacert", self.ca, "https://127.0.0.1:%d/" % TLS_PORT],
                               capture_output=True, text=True)
            if p.stdout == "200":
                return
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("nginx TLS proxy did not start: %s"
                                   % self.proc.stderr.read().decode(errors="replace")[-2000:])
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def endpoint(self):
        return "https://127.0.0.1:%d" % TLS_PORT
