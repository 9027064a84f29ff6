"""Two "hosts": dlio2fio --hosts job files run through fio's client/server mode
against two fio servers on 127.0.0.1, and scripts/dlio-report merges the ranks of
both servers from the client's output."""
import json
import os
import signal
import socket
import subprocess
import time

import fiorun
from fiorun import check_result

DLIO2FIO = os.path.join(fiorun.BUILD, "dlio2fio")
REPORT = os.path.join(fiorun.REPO, "scripts", "dlio-report")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, cwd, env):
    p = subprocess.Popen([fiorun.FIO, "--server=ip:127.0.0.1,%d" % port], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError("fio --server exited: " + p.stderr.read())
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return p
        time.sleep(0.1)
    p.kill()
    raise RuntimeError("fio --server on port %d did not start" % port)


def test_two_servers_one_run(workdir):
    jobs = os.path.join(workdir, "jobs")
    os.makedirs(jobs)
    p = subprocess.run([DLIO2FIO, "--ranks", "4", "--hosts", "h1,h2", "-o", jobs + "/",
                        "--config-dir", os.path.join(fiorun.REPO, "jobfiles"),
                        "workload=unet3d_h100", "--data-folder",
                        "file://" + os.path.join(workdir, "data"),
                        "--output", os.path.join(workdir, "out"),
                        "++workload.workflow.generate_data=True",
                        "++workload.workflow.checkpoint=False",
                        "++workload.dataset.num_files_train=16",
                        "++workload.dataset.record_length_bytes=65536",
                        "++workload.dataset.record_length_bytes_stdev=0",
                        "++workload.reader.batch_size=2", "++workload.train.epochs=2",
                        "++workload.train.computation_time=0.002"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(jobs)) == ["h1.fio", "h2.fio"]
    text = open(os.path.join(jobs, "h2.fio")).read()
    assert "dlio_rank_base=2" in text and "numjobs=2" in text

    env = dict(fiorun.fio_env(), FIODLIO_ENGINE=fiorun.ENGINE)
    ports = [free_port(), free_port()]
    servers = [start_server(port, workdir, env) for port in ports]
    try:
        p = subprocess.run([fiorun.FIO, "--output-format=json",
                            "--client=ip:127.0.0.1,%d" % ports[0], os.path.join(jobs, "h1.fio"),
                            "--client=ip:127.0.0.1,%d" % ports[1], os.path.join(jobs, "h2.fio")],
                           capture_output=True, text=True, timeout=300, cwd=workdir, env=env)
    finally:
        for s in servers:
            s.send_signal(signal.SIGTERM)
        for s in servers:
            try:
                s.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.kill()
    assert p.returncode == 0, p.stderr
    assert "got signal" not in p.stdout + p.stderr
    doc = json.loads(p.stdout[p.stdout.find("\n{\n") + 1:])
    stats = [c for c in doc["client_stats"] if c["jobname"] != "All clients"]
    # a server that could not parse its job drops it silently: count the jobs
    assert sorted(c["jobname"] for c in stats) == ["generate"] * 4 + ["train"] * 4
    assert all(c["error"] == 0 for c in stats)
    assert sum(c["read"]["io_bytes"] for c in stats if c["jobname"] == "train") > 0

    out = os.path.join(workdir, "client.out")
    with open(out, "w") as f:
        f.write(p.stdout)
    rep = os.path.join(workdir, "rep.json")
    r = subprocess.run([REPORT, out, "--json", rep], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    merged = json.load(open(rep))["train"]
    assert merged["num_accelerators"] == 4 and merged["ranks_expected"] == 4
    assert len(merged["metric"]["train_au_percentage"]) == 2
    assert "Number of Simulated Accelerators: 4" in r.stdout
    # each host's own summary speaks only for its two ranks, and says so
    assert "covers the 2 ranks of this job on this host" in p.stdout
