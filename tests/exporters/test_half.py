"""The network in half precision (``--fp16``): eager bfloat16 and an exported float16 graph against float32."""

import numpy as np
import onnx
import pytest
import torch

from zssr_deploy.exporters import export_pipeline
from zssr_deploy.exporters.cache import export_pipeline_cached, graph_key
from zssr_deploy.runtime import ZSSRModel

from ..conftest import make_pipeline


@pytest.fixture(scope="module")
def lr():
    return np.random.default_rng(3).random((30, 34, 3), dtype=np.float32)


def _eager(pipe, lr):
    with torch.no_grad():
        return pipe(torch.from_numpy(lr.transpose(2, 0, 1).copy())[None])[0].numpy().transpose(1, 2, 0)


def test_bfloat16_network_stays_close_and_leaves_the_trained_one_alone(lr):
    """bfloat16 keeps 8 bits of mantissa, but only the network's residual goes through it and back-projection
    pulls the result back to the LR image: the output moves by at most 2e-3, 2e-4 on the mean (measured on an
    AMD EPYC: 2.9e-4 and 4.0e-5); the float32 pipeline's weights are untouched."""
    pipe = make_pipeline("x2")
    before = [c.weight.clone() for c in pipe.net.layers]
    half = pipe.half_for("cpu")
    assert half.net_dtype == torch.bfloat16 and pipe.net_dtype is None and half is not pipe
    a, b = _eager(pipe, lr), _eager(half, lr)
    assert b.dtype == np.float32 and b.shape == a.shape
    assert np.abs(a - b).max() < 2e-3 and np.abs(a - b).mean() < 2e-4
    assert all(torch.equal(w, c.weight) and c.weight.dtype == torch.float32 for w, c in zip(before, pipe.net.layers))
    assert pipe.with_net_dtype(None) is pipe and pipe.with_net_dtype(torch.float32) is pipe


def test_a_float16_graph_takes_and_gives_float32_and_runs_close_to_float32(lr, tmp_path):
    """The export of ``half_for("cuda")``: float16 network weights, float32 input and output, every resize
    float32; ONNX Runtime (CPU here, CUDA where it matters) gives the float32 pipeline's pixels to 2e-4
    (measured 1.5e-5)."""
    pipe = make_pipeline("x2")
    path = export_pipeline(pipe.half_for("cuda"), tmp_path / "half.onnx")
    model = onnx.load(str(path))
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert [i.type.tensor_type.elem_type for i in model.graph.input] == [f32]
    assert [o.type.tensor_type.elem_type for o in model.graph.output] == [f32]
    net = {i.name: i.data_type for i in model.graph.initializer if i.name.startswith("net.")}
    assert len(net) == 8 and set(net.values()) == {f16}
    out = ZSSRModel(path, provider="cpu").run(lr)
    assert np.abs(out - _eager(pipe, lr)).max() < 2e-4


def test_the_float16_graph_is_cached_beside_the_float32_one(lr, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSR_DEPLOY_CACHE", str(tmp_path / "cache"))
    pipe = make_pipeline("x2")
    half = pipe.half_for("cuda")
    assert graph_key(half) != graph_key(pipe)
    first, cached = export_pipeline_cached(half, tmp_path / "a.onnx")
    assert not cached
    again, cached = export_pipeline_cached(half, tmp_path / "b.onnx")
    assert cached
    np.testing.assert_array_equal(ZSSRModel(again, provider="cpu").run(lr), ZSSRModel(first, provider="cpu").run(lr))


@pytest.mark.parametrize("engine", ["onnx", "torch"])
def test_fit_and_run_fp16_gives_the_float32_pixels_within_a_level(photo, tmp_path, engine, caplog):
    """``fit-and-run --fp16`` on the CPU: the torch engine runs the network in bfloat16 (the 8-bit output within
    one level of the float32 run's, the same fit: training is untouched); the ONNX engine keeps the float32 graph
    (ONNX Runtime's CPU float16 kernels are slower: 6.3 s against 4.9 s for 128^2, one thread) and says so."""
    from click.testing import CliRunner

    from zssr_deploy.cli import main
    from zssr_deploy.io import read_image, write_image

    write_image(tmp_path / "in.png", photo[:32, :40])
    args = ["fit-and-run", str(tmp_path / "in.png"), "--max-iters", "20", "--crop-size", "16", "--device", "cpu",
            "--engine", engine, "--threads", "1", "--provider", "cpu"]
    for name, extra in (("full", []), ("half", ["--fp16"])):
        r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / f"{name}.png"), *extra])
        assert r.exit_code == 0, r.output
    full, half = (read_image(tmp_path / f"{n}.png").pixels for n in ("full", "half"))
    assert full.shape == half.shape == (64, 80, 3) and np.abs(full - half).max() <= 1 / 255 + 1e-6
    if engine == "onnx":
        np.testing.assert_array_equal(full, half)
        assert "no GPU provider here, so the float32 graph runs" in caplog.text


def test_fit_fp16_exports_a_float16_graph_and_refuses_the_network_alone(photo, tmp_path):
    from click.testing import CliRunner

    from zssr_deploy.cli import main
    from zssr_deploy.io import write_image

    write_image(tmp_path / "in.png", photo[:32, :40])
    args = ["fit", str(tmp_path / "in.png"), "--max-iters", "10", "--crop-size", "16", "--device", "cpu", "--fp16"]
    r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "m.onnx"), "--network-only"])
    assert r.exit_code == 2 and "not with --network-only" in r.output and not (tmp_path / "m.onnx").exists()
    r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "m.onnx")])
    assert r.exit_code == 0, r.output
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert {i.data_type for i in model.graph.initializer if i.name.startswith("net.")} == {onnx.TensorProto.FLOAT16}
