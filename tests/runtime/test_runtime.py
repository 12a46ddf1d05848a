import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from zssr_deploy.errors import ConfigError, ModelError, ProviderError
from zssr_deploy.io import read_image, write_image
from zssr_deploy.runtime import ZSSRModel, available_providers, plan_tiles

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("uniform", [False, True], ids=["cpu-tiles", "gpu-tiles"])
@pytest.mark.parametrize("name,tile", [("x2", 23), ("x2", 37), ("x1.5", 27), ("x2x1.5", 30), ("kernel", 29)])
def test_tiled_equals_whole_image(exported, name, tile, uniform, rng, monkeypatch):
    """Tiles that split the image unevenly (67x53 LR) give the whole-image output within 1e-6; so do a GPU's
    one-shape tiles (``uniform_tiles``, forced here on the CPU provider), one shape at integer factors."""
    _, path = exported(name)
    model = ZSSRModel(path, provider="cpu")
    img = rng.random((67, 53, 3)).astype(np.float32)
    whole = model.run(img)
    calls, shapes, forward = [], set(), model._forward
    model.uniform_tiles = uniform
    monkeypatch.setattr(model, "_forward", lambda chw: shapes.add(chw.shape) or forward(chw))
    tiled = model.run_tiled(img, tile=max(tile, model.metadata.halo), progress=lambda d, t: calls.append((d, t)))
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() <= 1e-6, np.abs(tiled - whole).max()
    assert len(calls) > 1 and calls[-1][0] == calls[-1][1]
    if uniform and name in ("x2", "kernel"):
        assert len(shapes) == 1, shapes


def test_tile_plan_covers_output_once():
    plan = plan_tiles((67, 53), 20, 5, (1.5, 2.0), (2, 1))
    cover = np.zeros((101, 106), int)
    for t in plan:
        cover[t.dst[0] : t.dst[1], t.dst[2] : t.dst[3]] += 1
        assert t.src[0] % 2 == 0 and (67 - t.src[1]) % 2 == 0  # region grid aligned with the image's
    assert (cover == 1).all()


def test_tile_smaller_than_halo(exported):
    _, path = exported("x2")
    model = ZSSRModel(path, provider="cpu")
    with pytest.raises(ConfigError, match="smaller than the model's halo"):
        model.run_tiled(np.zeros((40, 40, 3), np.float32), tile=model.metadata.halo - 1)


def test_truncated_model(exported, tmp_path):
    _, path = exported("x2")
    data = Path(path).read_bytes()
    (tmp_path / "t.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        ZSSRModel(tmp_path / "t.onnx", provider="cpu")
    (tmp_path / "e.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        ZSSRModel(tmp_path / "e.onnx", provider="cpu")
    with pytest.raises(ModelError, match="does not exist"):
        ZSSRModel(tmp_path / "none.onnx", provider="cpu")


def test_onnx_that_is_not_ours(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(tmp_path / "r.onnx"))
    with pytest.raises(ModelError, match="not a zssr-deploy model"):
        ZSSRModel(tmp_path / "r.onnx", provider="cpu")


def test_incompatible_format_version(exported, tmp_path):
    _, path = exported("x4")
    m = onnx.load(str(path))
    for p in m.metadata_props:
        if p.key == "zssr.format_version":
            p.value = "99"
    onnx.save(m, str(tmp_path / "v.onnx"))
    with pytest.raises(ModelError, match="format version 99"):
        ZSSRModel(tmp_path / "v.onnx", provider="cpu")


@pytest.mark.skipif("CUDAExecutionProvider" in available_providers(), reason="CUDA is available here")
def test_unavailable_provider(exported):
    _, path = exported("x4")
    with pytest.raises(ProviderError, match="not available"):
        ZSSRModel(path, provider="cuda")
    with pytest.raises(ProviderError, match="not available"):
        ZSSRModel(path, provider="tensorrt")


def test_auto_provider_prefers_gpus_and_keeps_cpu_last(exported):
    """auto asks for TensorRT, CUDA and CPU in that order, of those this ONNX Runtime has; the session runs
    on them in that order (never on another provider, never with CPU first while a GPU provider runs)."""
    _, path = exported("x4")
    order = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    wanted = [p for p in order if p in available_providers()]
    model = ZSSRModel(path, provider="auto")
    assert model.providers == [p for p in wanted if p in model.providers] and model.providers[-1] == order[-1]
    assert model.on_gpu == (model.providers[0] != "CPUExecutionProvider")
    if wanted == ["CPUExecutionProvider"]:  # a CPU-only ONNX Runtime: nothing else, even if it lists others
        assert model.providers == wanted and not model.on_gpu
    assert ZSSRModel(path, provider="cpu").providers == ["CPUExecutionProvider"]


BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is made unimportable for this test")
sys.meta_path.insert(0, _NoTorch())
"""


def test_runtime_and_run_command_without_torch(exported, tmp_path, photo):
    _, path = exported("x2")
    write_image(tmp_path / "in.png", photo[:30, :34])
    code = BLOCK_TORCH + f"""
try:
    import torch
except ImportError:
    pass
else:
    raise SystemExit("torch still importable")
import zssr_deploy.runtime
from zssr_deploy.cli import main
main(["run", {str(path)!r}, {str(tmp_path / 'in.png')!r}, "-o", {str(tmp_path / 'out.png')!r}, "--tile", "24",
      "--provider", "cpu"], standalone_mode=False)
assert "torch" not in sys.modules
print("OK")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr
    assert read_image(tmp_path / "out.png").pixels.shape == (60, 68, 3)


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node or npm is missing")
def test_node_runs_the_model_unchanged(exported, tmp_path, rng):
    """examples/node/run.js (onnxruntime-node) against Python's ONNX Runtime, within 1e-5."""
    example = ROOT / "examples" / "node"
    if not (example / "node_modules" / "onnxruntime-node").is_dir():
        # a plain `npm ci`, as a user types it (examples/node/.npmrc skips the CUDA download script)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=example, check=True, capture_output=True, timeout=600)
    _, path = exported("x2x1.5")
    img = rng.random((21, 26, 3)).astype(np.float32)
    img.tofile(tmp_path / "in.f32")
    r = subprocess.run(["node", str(example / "run.js"), str(path), str(tmp_path / "in.f32"), "21", "26", "3",
                        str(tmp_path / "out.f32")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    oh, ow, oc = map(int, r.stdout.split())
    node_out = np.fromfile(tmp_path / "out.f32", np.float32).reshape(oh, ow, oc)
    py_out = ZSSRModel(path, provider="cpu").run(img)
    assert node_out.shape == py_out.shape
    assert np.abs(node_out - py_out).max() <= 1e-5


def test_run_command_errors(exported, tmp_path, photo):
    from click.testing import CliRunner

    from zssr_deploy.cli import main

    _, path = exported("x2")
    write_image(tmp_path / "in.png", photo[:30, :30])
    r = CliRunner().invoke(main, ["run", str(path), str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"),
                                  "--tile", "3"])
    assert r.exit_code == 2 and "halo" in r.output and not (tmp_path / "o.png").exists()
    (tmp_path / "bad.onnx").write_bytes(b"garbage")
    r = CliRunner().invoke(main, ["run", str(tmp_path / "bad.onnx"), str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and "not a loadable ONNX model" in r.output


def test_run_takes_a_folder_and_mirrors_it(exported, tmp_path, photo):
    """One model, many images: each output equals the single-image command's; a bad image is reported, the
    others written, exit 1; existing outputs are refused before any image."""
    from click.testing import CliRunner

    from zssr_deploy.cli import main

    _, path = exported("x2")
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_image(tmp_path / "in" / "a.png", photo[:30, :30])
    write_image(tmp_path / "in" / "sub" / "b.png", photo[40:70, 20:50])
    (tmp_path / "in" / "sub" / "bad.png").write_bytes(b"not a png")
    r = CliRunner().invoke(main, ["run", str(path), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-r",
                                  "--provider", "cpu", "--suffix", "_x2"])
    assert r.exit_code == 1 and "2 written, 1 failed" in r.output and "sub/bad.png: error" in r.output
    single = CliRunner().invoke(main, ["run", str(path), str(tmp_path / "in" / "sub" / "b.png"), "-o",
                                       str(tmp_path / "b.png"), "--provider", "cpu"])
    assert single.exit_code == 0
    assert (tmp_path / "out" / "sub" / "b_x2.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    again = CliRunner().invoke(main, ["run", str(path), str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-r",
                                      "--provider", "cpu", "--suffix", "_x2"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_tiles_are_balanced_and_uniform_on_request():
    """Tiles of at most N pixels, as equal as they can be (2048 in tiles of at most 1408: two of 1024, not 1408 +
    640); ``uniform`` gives every region one shape for a GPU, still covering the output once."""
    plan = plan_tiles((2048, 100), 1408, 40, (2.0, 2.0), (1, 1))
    assert sorted({t.dst[1] - t.dst[0] for t in plan}) == [2048]  # 1024 LR rows each -> 2048 HR rows
    for hw, scale, align in [((67, 53), (2.0, 2.0), (1, 1)), ((300, 170), (2.0, 2.0), (1, 1)), ((67, 53), (1.5, 2.0), (2, 1))]:
        plain, even = plan_tiles(hw, 20, 5, scale, align), plan_tiles(hw, 20, 5, scale, align, uniform=True)
        assert [t.dst for t in plain] == [t.dst for t in even]
        shapes = {(t.src[1] - t.src[0], t.src[3] - t.src[2]) for t in even}
        assert len(shapes) == 1 or align != (1, 1), shapes
        assert len({(t.src[1] - t.src[0], t.src[3] - t.src[2]) for t in plain}) > 1


def test_bound_buffers_are_reused_per_shape_and_never_aliased(exported, rng):
    """A pass copies into buffers bound once per input shape (a GPU's one-shape tiles bind once); what it returns
    is the caller's own array (a later pass does not overwrite it); every pass equals ONNX Runtime's plain run;
    passes from several threads at once give what they give one at a time."""
    _, path = exported("x2")
    model = ZSSRModel(path, provider="cpu")
    plain = lambda chw: model.session.run(None, {model.input_name: chw[None]})[0][0]  # noqa: E731
    a, b = (rng.random((3, 20, 24)).astype(np.float32) for _ in range(2))
    out_a = model._forward(a)
    first = model._bound
    out_b = model._forward(b)
    assert model._bound is first  # the same shape: bound once
    np.testing.assert_array_equal(out_a, plain(a))  # not overwritten by the pass of b
    np.testing.assert_array_equal(out_b, plain(b))
    c = rng.random((3, 17, 31)).astype(np.float32)
    np.testing.assert_array_equal(model._forward(c), plain(c))
    assert model._bound is not first and model._bound.shape == (1, 3, 17, 31)

    from concurrent.futures import ThreadPoolExecutor

    imgs = [rng.random((h, w, 3)).astype(np.float32) for h, w in ((20, 24), (17, 31), (20, 24), (26, 19))] * 2
    alone = [model.run(i) for i in imgs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(model.run, imgs))
    for x, y in zip(alone, together):
        np.testing.assert_array_equal(x, y)
