"""DLIO's checkpoint-only benchmark through the engine (dlio_phase=checkpoint): the
folders, file names and per-rank sizes of a (tiny) llama transformer, computed
here from DLIO's formulas, written and read back."""
import os

import pytest

from fiorun import run

V, H, F, HEADS, KV_HEADS, L = 1000, 256, 1024, 8, 8, 4


def params():
    kv = (H // HEADS) * KV_HEADS
    return 2 * V * H + L * (2 * H + H * (H + 2 * kv) + H * H + 3 * H * F) + H


def layer_elems(sf):
    kv = (H // HEADS) * KV_HEADS
    per = [H, H * (H + 2 * kv), H * H, H, 2 * H * F, H * F]
    return 2 * (H * V // sf) + H // sf + L * sum(x // sf for x in per)


def expected(ranks, zero):
    """{relative path: bytes} of checkpoint 1 for TP=PP=1, fp16 model, fp32 optimizer."""
    out = {}
    n = params() // ranks
    for r in range(ranks):
        out["global_epoch1_step1/zero_pp_rank_%d_mp_rank_0_optim_states.pt" % r] = \
            3 * (n + 5 * H) * 4
        if zero == 3:
            out["global_epoch1_step1/zero_pp_rank_%d_mp_rank_0_model_states.pt" % r] = \
                layer_elems(ranks) * 2
    if zero == 1:
        out["global_epoch1_step1/model_0_model_states.pt"] = layer_elems(1) * 2
    return out


def workload(tmp, zero, nwrite, nread):
    path = os.path.join(tmp, "c.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: llama_tiny
  type: transformer
  model_datatype: fp16
  optimizer_datatype: fp32
  num_layers: %d
  parallelism:
    tensor: 1
    pipeline: 1
    zero_stage: %d
  transformer:
    vocab_size: %d
    hidden_size: %d
    ffn_hidden_size: %d
    num_attention_heads: %d
    num_kv_heads: %d
framework: pytorch
workflow:
  generate_data: False
  train: False
  checkpoint: True
checkpoint:
  checkpoint_folder: ckpt
  time_between_checkpoints: 0.05
  num_checkpoints_write: %d
  num_checkpoints_read: %d
""" % (L, zero, V, H, F, HEADS, KV_HEADS, nwrite, nread))
    return path


def checkpoint(workdir, yaml, ranks, extra=(), expect_error=False):
    return run(["--uri=file://" + workdir, "--dlio_checkpoint_uri=file://" +
                os.path.join(workdir, "ckpt"), "--dlio_phase=checkpoint",
                "--dlio_workload=" + yaml, "--dlio_ranks=%d" % ranks, "--numjobs=%d" % ranks,
                "--iodepth=4", "--dlio_write_size=1m", "--buffer_pattern=0x5a"] + list(extra),
               expect_error=expect_error)


def listing(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


@pytest.mark.parametrize("ranks,zero", [(1, 1), (2, 1), (2, 3), (1, 3)])
def test_layout_write_then_read(workdir, ranks, zero):
    yaml = workload(workdir, zero, 2, 2)
    res = checkpoint(workdir, yaml, ranks)
    exp = expected(ranks, zero)
    got = listing(os.path.join(workdir, "ckpt"))
    for k, v in list(exp.items()):
        exp[k.replace("step1", "step2")] = v
    assert got == exp
    total = sum(exp.values())
    written = sum(j["write"]["io_bytes"] for j in res.jobs)
    read = sum(j["read"]["io_bytes"] for j in res.jobs)
    assert written == total and read == total
    # the payload is fio's write buffer (here a pattern), every byte of it
    blob = open(os.path.join(workdir, "ckpt", sorted(exp)[0]), "rb").read()
    assert blob == b"\x5a" * len(blob)
    assert "saved checkpoint 2" in res.stdout and "loaded checkpoint 2" in res.stdout
    assert "[METRIC] rank 0 save_checkpoint: 2 checkpoints" in res.stdout


def test_fsync_is_a_choice(workdir):
    yaml = workload(workdir, 1, 1, 0)
    res = checkpoint(workdir, yaml, 1)
    assert res.jobs[0]["sync"]["lat_ns"]["N"] == 0 and "not fsynced" in res.stdout
    res = checkpoint(workdir, yaml, 1, ["--dlio_checkpoint_fsync=1"])
    assert res.jobs[0]["sync"]["lat_ns"]["N"] == 2  # one per file
    assert ", fsynced" in res.stdout


def test_reading_checkpoints_that_were_never_written(workdir):
    yaml = workload(workdir, 1, 0, 1)
    res = checkpoint(workdir, yaml, 1, expect_error=True)
    assert "does not exist" in res.stderr and "num_checkpoints_write" in res.stderr


def train_workload(tmp, ckpt_lines):
    path = os.path.join(tmp, "tc.yaml")
    with open(path, "w") as f:
        f.write("""model:
  name: unet3d
  model_size_bytes: 3000000
framework: pytorch
workflow:
  generate_data: False
  train: True
  checkpoint: True
dataset:
  data_folder: data/
  format: npz
  num_files_train: 16
  num_samples_per_file: 1
  record_length_bytes: 65536
reader:
  data_loader: pytorch
  batch_size: 2
  read_threads: 2
train:
  epochs: 3
  computation_time: 0.001
checkpoint:
  checkpoint_folder: ckpt
%s
metric:
  au: 0.5
""" % ckpt_lines)
    return path


@pytest.mark.parametrize("lines,folders,blocks", [
    # epoch mode: after epochs 1 and 3; the folder's step is the epoch's 8 steps + 1;
    # the save is after the epoch's one block
    ("  checkpoint_after_epoch: 1\n  epochs_between_checkpoints: 2",
     ["global_epoch1_step9", "global_epoch3_step9"], 1),
    # step mode: after steps 3 and 6 of every epoch, each save ending a block: steps
    # 1-3, 4-6 and 7-8
    ("  steps_between_checkpoints: 3",
     ["global_epoch%d_step%d" % (e, s) for e in (1, 2, 3) for s in (3, 6)], 3),
    # after steps 4 and 8: the block after the last save has no step and is no block
    ("  steps_between_checkpoints: 4",
     ["global_epoch%d_step%d" % (e, s) for e in (1, 2, 3) for s in (4, 8)], 2),
])
def test_checkpoints_during_training(workdir, lines, folders, blocks):
    import datetime
    import json

    yaml = train_workload(workdir, lines)
    data = os.path.join(workdir, "data")
    out = os.path.join(workdir, "out")
    run(["--uri=file://" + data, "--dlio_phase=generate", "--dlio_workload=" + yaml,
         "--rw=write"])
    res = run(["--uri=file://" + data, "--dlio_phase=train", "--dlio_workload=" + yaml,
               "--dlio_checkpoint_uri=file://" + os.path.join(workdir, "ckpt"),
               "--rw=read", "--dlio_write_size=1m", "--dlio_output=" + out])
    # DLIO's blocks (SPEC 9.2, 11.2): a step-mode save closes the block and the next
    # one starts after it, so no save lies inside a block's wall time
    stats = json.load(open(os.path.join(out, "0_per_epoch_stats.json")))

    def t(s):
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f")

    for e in ("1", "2", "3"):
        names = sorted(k for k in stats[e] if k.startswith("block"))
        assert names == ["block%d" % (k + 1) for k in range(blocks)], stats[e]
        spans = [(t(stats[e][b]["start"]), t(stats[e][b]["end"])) for b in names]
        assert all(a <= b for a, b in spans)
        # the save between two blocks (3 MB written, opened and closed) takes > 1 us
        assert all(spans[k][1] < spans[k + 1][0] for k in range(blocks - 1))
        assert t(stats[e]["start"]) <= spans[0][0] and spans[-1][1] <= t(stats[e]["end"])
    got = listing(os.path.join(workdir, "ckpt"))
    # unet3d is not a transformer: rank 0 saves the model_size_bytes tensor
    assert got == {f + "/model_states-0.pt": 3000000 for f in folders}
    assert res.jobs[0]["write"]["io_bytes"] == 3000000 * len(folders)
    assert "saved checkpoint %d during training" % len(folders) in res.stdout
    assert "epoch 3: 8 steps" in res.stdout
