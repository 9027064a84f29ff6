"""The load-time ABI guard refuses engines built for another fio."""
import os

import pytest

from fiorun import BUILD, run, run_raw, check_result, FioFailed


@pytest.mark.parametrize("variant,what", [
    ("wrongversion", "built for fio-0.0-test, but this is fio-"),
    ("wrongoffset", "its option 'iodepth' is at offset"),
])
def test_mismatched_build_refuses_to_load(tmp_path, variant, what):
    so = os.path.join(BUILD, "test", "fio-dlio-%s.so" % variant)
    assert os.path.exists(so), "make integration builds " + so
    rc, out, err = run_raw(["--name=a", "--ioengine=external:" + so, "--filename=" +
                            str(tmp_path / "x"), "--rw=write", "--size=64k"])
    assert rc != 0
    assert "fio-dlio: refusing to load" in err
    assert what in err
    assert "rebuild" in err
    assert "got signal" not in err
    assert not (tmp_path / "x").exists()


def test_harness_catches_crashed_job_with_exit_0():
    ok = '{"jobs": [{"error": 0}]}'
    check_result(0, ok, "")
    with pytest.raises(FioFailed):
        check_result(0, ok, "fio: pid=123, got signal=11\n")
    with pytest.raises(FioFailed):
        check_result(0, '{"jobs": [{"error": 5}]}', "")
    with pytest.raises(FioFailed):
        check_result(1, ok, "")
