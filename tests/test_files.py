"""Output files: the one pre-check and the atomic write every output goes through."""

import os

import pytest

from zssr_deploy.errors import CheckpointError, ImageWriteError, OutputError
from zssr_deploy.files import check_model_path, check_output_path, write_bytes_atomic
from zssr_deploy.io import check_image_path


def test_checks_name_the_problem_with_the_callers_error(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"old")
    with pytest.raises(OutputError, match="already exists"):
        check_model_path(tmp_path / "x.onnx", overwrite=False)
    assert check_model_path(tmp_path / "x.onnx", overwrite=True) == tmp_path / "x.onnx"
    with pytest.raises(OutputError, match="extension"):
        check_model_path(tmp_path / "x.png", overwrite=False)
    with pytest.raises(ImageWriteError, match="extension"):
        check_image_path(tmp_path / "x.onnx", overwrite=False)
    with pytest.raises(CheckpointError, match="does not exist"):
        check_output_path(tmp_path / "no" / "c.ckpt", True, error=CheckpointError)
    with pytest.raises(OutputError, match="is a folder"):
        check_output_path(tmp_path, True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="not writable"):
        check_output_path(ro / "a.json", False)


def test_atomic_write_never_replaces_without_overwrite(tmp_path):
    p = tmp_path / "r.json"
    write_bytes_atomic(p, b"one", overwrite=False)
    with pytest.raises(OutputError, match="already exists"):
        write_bytes_atomic(p, b"two", overwrite=False)
    assert p.read_bytes() == b"one"
    write_bytes_atomic(p, b"three", overwrite=True)
    assert p.read_bytes() == b"three"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.json"]  # no temporary file left behind
