"""DLIO training on storage slower than the accelerator: the engine's AU and samples/s
against DLIO's formulas (SPEC 11.2) evaluated for that bandwidth.

The storage is an HTTP server on 127.0.0.1 (S3 path-style, anonymous) serving the
generated files, each response paced at a fixed rate from its first byte: byte k leaves
no earlier than k / RATE seconds after the request, so a transfer of S bytes takes S / RATE.
nginx's limit_rate (tests/integration/test_dlio_train.py uses it where only a coarse
slowdown matters) sends the first output buffer of each response unthrottled: with nginx
1.22, a 64 KiB response at 512 KiB/s took 64 ms, not 125 ms, and the head start depends on
nginx's buffer settings.

The model, one rank (so the step barrier waits for no one): W loader workers each read a
whole batch, B samples one after another, each sample one GET of the whole file of S bytes,
so a worker delivers a batch every T = B·S/RATE.  With prefetch_factor 2 each worker
always has its next batch requested, so the W workers stay busy and batches arrive in
groups of W at T, 2T, ...  I/O-bound (W·c < T, c = computation_time): the accelerator takes
a group's batches back to back as it arrives.  With N = M·W steps, step 0 ends at T + c
and the last at M·T + W·c; DLIO leaves step 0 out of the block time, so
    time = (M-1)·T + (W-1)·c,
    AU = 100·(N-1)·c / time,
    samples/s = (N-2)·B / time.
With T = 0.4 s and requests on 127.0.0.1 taking about a millisecond, request overheads are
below 1 % of the transfer time; the test allows 5 %."""
import http.server
import json
import os
import threading
import time
import urllib.parse

import pytest

from fiorun import run

RATE = 330000  # bytes/s per response


class PacedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root, rate):
        super().__init__(("127.0.0.1", 0), PacedHandler)
        self.root, self.rate = os.path.realpath(root), rate
        self.lock = threading.Lock()
        self.active = self.most_active = 0
        self.gets = []  # (path, bytes sent)


class PacedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # paced small writes must not wait for the client's delayed ACK (Nagle)
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.answer(False)

    def do_GET(self):
        self.answer(True)

    def answer(self, body):
        srv = self.server
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        path = os.path.realpath(os.path.join(srv.root, rel))
        if not path.startswith(srv.root + os.sep) or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            data = f.read()
        status, first = 200, 0
        rng = self.headers.get("Range")
        if rng:  # bytes=a-b
            a, b = rng.split("=", 1)[1].split("-")
            first, last = int(a), min(int(b), len(data) - 1)
            data, status = data[first:last + 1], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (
                first, first + len(data) - 1, os.path.getsize(path)))
        self.end_headers()
        if not body:
            return
        with srv.lock:
            srv.active += 1
            srv.most_active = max(srv.most_active, srv.active)
        try:
            t0 = time.monotonic()
            for a in range(0, len(data), 4096):
                piece = data[a:a + 4096]
                wait = t0 + (a + len(piece)) / srv.rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.wfile.write(piece)
        finally:
            with srv.lock:
                srv.active -= 1
                srv.gets.append((rel, len(data)))


@pytest.fixture
def paced_server(workdir):
    srv = PacedServer(workdir, RATE)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(timeout=10)


def test_io_bound_au_and_throughput_follow_the_bandwidth(workdir, paced_server):
    W, B, N, c = 2, 2, 16, 0.05
    yaml = os.path.join(workdir, "w.yaml")
    with open(yaml, "w") as f:
        f.write("""model:
  name: iobound
framework: pytorch
workflow:
  generate_data: False
  train: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: %d
  num_samples_per_file: 1
  record_length_bytes: 65536
reader:
  data_loader: pytorch
  batch_size: %d
  read_threads: %d
  prefetch_size: %d
train:
  epochs: 1
  computation_time: %g
metric:
  au: 0.9
""" % (N * B, B, W, 2 * W, c))
    data = os.path.join(workdir, "data")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--rw=write"])
    sizes = {os.path.getsize(os.path.join(data, "train", n))
             for n in os.listdir(os.path.join(data, "train"))}
    assert len(sizes) == 1
    S = sizes.pop()
    out = os.path.join(workdir, "out")
    res = run(["--uri=s3://data", "--s3_endpoint=http://127.0.0.1:%d" % paced_server.server_port,
               "--s3_anonymous=1", "--s3_region=us-east-1", "--dlio_phase=train",
               "--dlio_workload=" + yaml, "--rw=read", "--dlio_output=" + out])
    # the premises: one whole-file GET per sample, W of them at a time
    assert sorted(paced_server.gets) == sorted(
        ("data/train/" + n, S) for n in os.listdir(os.path.join(data, "train")))
    assert paced_server.most_active == W
    T = B * S / RATE
    assert W * c < T / 2  # clearly I/O-bound
    M = N // W
    time_ = (M - 1) * T + (W - 1) * c
    au = 100 * (N - 1) * c / time_
    tput = (N - 2) * B / time_
    m = json.load(open(os.path.join(out, "summary.json")))["metric"]
    print("I/O-bound: AU %.2f %% (DLIO's formula %.2f), %.2f samples/s (%.2f)" % (
        m["train_au_mean_percentage"], au, m["train_throughput_mean_samples_per_second"], tput))
    assert "epoch 1: %d steps" % N in res.stdout
    assert m["train_au_mean_percentage"] == pytest.approx(au, rel=0.05), (au, tput)
    assert m["train_throughput_mean_samples_per_second"] == pytest.approx(tput, rel=0.05)
    assert m["train_au_meet_expectation"] == "fail"
