"""Round trips torch -> ONNX -> ONNX Runtime. Tolerance: 1e-5 max absolute difference (float32 graphs)."""

import json

import numpy as np
import onnx
import pytest
import torch

from tests.conftest import PIPELINE_CASES, make_net
from zssr_deploy.errors import ConfigError, ScaleError
from zssr_deploy.exporters import export_network, export_pipeline
from zssr_deploy.models.pipeline import ZSSRPipeline
from zssr_deploy.runtime import ZSSRModel

ALLOWED_OPS = {"Add", "Cast", "Clip", "Concat", "Conv", "Div", "Expand", "Gather", "GreaterOrEqual", "Less", "Max",
               "Min", "Mul", "Range", "Relu", "Reshape", "Round", "Shape", "Slice", "Split", "Squeeze", "Sub",
               "Transpose", "Where", "Unsqueeze", "Constant", "Identity", "Neg", "Floor", "Ceil", "Mod", "Equal",
               "ConstantOfShape", "And", "Greater"}


def torch_run(pipe, img):
    with torch.no_grad():
        return pipe(torch.from_numpy(img).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("name", sorted(PIPELINE_CASES))
def test_onnx_runtime_matches_torch(exported, name, rng):
    pipe, path = exported(name)
    model = ZSSRModel(path, provider="cpu")
    for hw in [(23, 31), (40, 26)]:  # sizes other than the export example, odd and even
        img = rng.random(hw + (3,)).astype(np.float32)
        ref = torch_run(pipe, img)
        out = model.run(img)
        assert out.shape == ref.shape
        assert np.abs(out - ref).max() <= 1e-5, (name, hw, np.abs(out - ref).max())


def test_graph_is_checked_and_uses_supported_ops_only(exported):
    for name in ("x2", "kernel"):
        _, path = exported(name)
        m = onnx.load(str(path))
        onnx.checker.check_model(m, full_check=True)
        ops = {n.op_type for n in m.graph.node}
        assert "Resize" not in ops
        assert ops <= ALLOWED_OPS, ops - ALLOWED_OPS


def test_metadata(exported):
    pipe, path = exported("x2x1.5")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["zssr.format_version"] == "1" and props["zssr.kind"] == "pipeline"
    assert json.loads(props["zssr.scale"]) == [2.0, 1.5]
    assert json.loads(props["zssr.ensemble"]) == [0, 2, 4, 6]
    assert json.loads(props["zssr.align"]) == [1, 2]
    assert int(props["zssr.bp_iters"]) == 2 and int(props["zssr.halo"]) > 0
    assert json.loads(props["zssr.training"]) == {"iterations": 0}
    assert json.loads(props["zssr.kernel"]) == "cubic"
    _, kpath = exported("kernel")
    kprops = {p.key: p.value for p in onnx.load(str(kpath)).metadata_props}
    k = np.array(json.loads(kprops["zssr.kernel"]))
    assert k.ndim == 2 and abs(k.sum() - 1) < 1e-3


def test_network_only_export(tmp_path, rng):
    net = make_net()
    path = export_network(net, tmp_path / "net.onnx", (2.0, 2.0))
    model = ZSSRModel(path, provider="cpu")
    assert model.metadata.kind == "network" and model.metadata.halo == 8
    x = rng.random((30, 37, 3)).astype(np.float32)
    with torch.no_grad():
        ref = torch.clamp(torch.from_numpy(x).permute(2, 0, 1)[None] + net(torch.from_numpy(x).permute(2, 0, 1)[None]), 0, 1)
    np.testing.assert_allclose(model.run(x), ref[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_scale_without_small_fraction_needs_static_shape(tmp_path):
    pipe = ZSSRPipeline(make_net(), (2.37, 2.37), bp_iters=0, ensemble=False)
    with pytest.raises(ScaleError, match="static shape"):
        export_pipeline(pipe, tmp_path / "m.onnx")


def test_a_static_shape_below_the_minimum_side_is_a_config_error(tmp_path):
    """A shape problem names the option, and is not a ScaleError."""
    pipe = ZSSRPipeline(make_net(), (2.0, 2.0), bp_iters=1, ensemble=False)
    with pytest.raises(ConfigError, match="--static-shape 4,4 is below"):
        export_pipeline(pipe, tmp_path / "m.onnx", static_shape=(4, 4))


def test_static_shape_export(tmp_path, rng):
    pipe = ZSSRPipeline(make_net(), (2.0, 2.0), bp_iters=1, ensemble=False)
    path = export_pipeline(pipe, tmp_path / "s.onnx", static_shape=(24, 28))
    model = ZSSRModel(path, provider="cpu")
    assert model.metadata.static_shape == (24, 28)
    img = rng.random((24, 28, 3)).astype(np.float32)
    np.testing.assert_allclose(model.run(img), torch_run(pipe, img), atol=1e-5)


def test_no_overwrite(tmp_path):
    from zssr_deploy.errors import ImageWriteError, OutputError

    (tmp_path / "m.onnx").write_bytes(b"keep")
    with pytest.raises(OutputError, match="already exists") as err:
        export_network(make_net(), tmp_path / "m.onnx", (2.0, 2.0))
    assert not isinstance(err.value, ImageWriteError)  # a model is not an image
    assert (tmp_path / "m.onnx").read_bytes() == b"keep"


def test_tiny_fit_round_trip(tmp_path, photo):
    """Fit, export, check, run in ONNX Runtime, compare with the torch pipeline the trainer produced."""
    from zssr_deploy.exporters import training_summary
    from zssr_deploy.trainers import ZSSRConfig, fit

    lr = photo[:26, :30]
    res = fit(lr, ZSSRConfig(max_iters=10, crop_size=16, back_projection_iters=(2,), device="cpu"))
    path = export_pipeline(res.pipeline, tmp_path / "fit.onnx", training_summary(res.steps, res.seconds, "fp32", "cpu"))
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    model = ZSSRModel(path, provider="cpu")
    assert model.metadata.training["iterations"] == 10
    assert np.abs(model.run(lr) - res.output).max() <= 1e-5
