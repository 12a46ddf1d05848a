"""The library entry points behind the CLI: settings in one config, checks before the fit, the same pixels
through ONNX Runtime as through torch."""

import numpy as np
import pytest

from zssr_deploy.api import Callbacks, fit_model, upscale_image
from zssr_deploy.blind.config import KernelSource, kernel_source
from zssr_deploy.errors import ConfigError, KernelError, ModelError, OutputError, ProviderError
from zssr_deploy.evaluate import ZSSRUpscaler
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.io import read_image, write_image
from zssr_deploy.journey import ModelExport
from zssr_deploy.runtime.run import Inference, run_model
from zssr_deploy.trainers.config import build_config

CFG = build_config("ideal", 2, max_iters=4, crop_size=16, device="cpu", precision="fp32", bp_iters="1")


@pytest.fixture
def lr_png(tmp_path, photo):
    write_image(tmp_path / "lr.png", imresize(photo, 0.5)[:20, :22])
    return tmp_path / "lr.png"


def test_onnx_and_torch_engines_give_the_same_image(lr_png, tmp_path):
    """The final inference through the exported graph equals the torch module's (float32: 1e-5), and the
    report says how the fit went."""
    steps = []
    a = upscale_image(lr_png, tmp_path / "a.png", CFG, inference=Inference(engine="torch"),
                      callbacks=Callbacks(on_step=lambda ev: steps.append((ev.index, ev.phase))))
    b = upscale_image(lr_png, tmp_path / "b.png", CFG, save_model=tmp_path / "m.onnx")
    assert steps == [(0, "start"), (0, "end")]
    assert a.providers == ["torch"] and b.providers[-1] == "CPUExecutionProvider" and a.model_path is None
    assert b.model_path == tmp_path / "m.onnx" and b.model_path.stat().st_size > 0
    assert a.iterations == b.iterations == [4] and a.precision == "fp32"
    pa, pb = read_image(a.output_path).pixels, read_image(b.output_path).pixels
    assert pa.shape == (40, 44, 3)
    assert np.abs(pa - pb).max() <= 1 / 255  # the same float image within 1e-5, then rounded to 8 bit
    path, providers = run_model(tmp_path / "m.onnx", lr_png, tmp_path / "c.png")
    np.testing.assert_array_equal(read_image(path).pixels, pb)  # run = fit-and-run's own inference


def test_everything_checkable_fails_before_training(lr_png, tmp_path):
    """Paths, kernel, settings and the tile are checked before the first iteration (no progress reported)."""
    calls = []
    cb = Callbacks(progress=calls.append)
    (tmp_path / "taken.png").write_bytes(b"x")
    write_image(tmp_path / "gt.png", np.zeros((41, 44, 3)))  # the output will be 40x44
    given_kernel = build_config("given-kernel", 2, max_iters=4, crop_size=16, device="cpu")
    cases = [
        (OutputError, dict(output_path=tmp_path / "taken.png")),
        (OutputError, dict(save_model=tmp_path / "m.txt")),
        (ConfigError, dict(inference=Inference(tile=3))),
        (ConfigError, dict(output_path=lr_png, overwrite=True)),  # the input itself: never, even with overwrite
        (ProviderError, dict(inference=Inference(provider="cuda"))),  # no CUDA here (CI has no GPU)
        (ConfigError, dict(gt_path=tmp_path / "gt.png")),
        (ConfigError, dict(config=given_kernel)),  # given-kernel without a kernel
    ]
    original = lr_png.read_bytes()
    for err, kw in cases:
        kw = {"output_path": tmp_path / "o.png", "config": CFG, **kw}
        with pytest.raises(err):
            upscale_image(lr_png, callbacks=cb, **kw)
    assert lr_png.read_bytes() == original
    with pytest.raises(KernelError, match="does not exist"):  # a kernel file is read before any work
        kernel_source(tmp_path / "missing.npy")
    np.save(tmp_path / "k3.npy", np.ones((3, 3, 3)))
    with pytest.raises(KernelError, match="2-D"):  # validated once, by the fit's plan
        upscale_image(lr_png, tmp_path / "o.png", CFG, kernel=kernel_source(tmp_path / "k3.npy"), callbacks=cb)
    with pytest.raises(ConfigError, match="engine"):
        Inference(engine="tensorflow")
    with pytest.raises(ConfigError, match="array"):
        KernelSource("given")
    assert calls == [] and not (tmp_path / "o.png").exists()
    assert (tmp_path / "taken.png").read_bytes() == b"x"


def test_a_write_error_after_the_fit_keeps_the_result(lr_png, tmp_path):
    """The output folder disappears during the fit: one OutputError that says where the result went."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def vanish(event) -> None:
        if event.phase == "end":
            out_dir.rmdir()

    with pytest.raises(OutputError, match="the result was saved to") as err:
        upscale_image(lr_png, out_dir / "o.png", CFG, inference=Inference(engine="torch"), callbacks=Callbacks(on_step=vanish))
    rescued = str(err.value).split("saved to ")[1].split("'")[1]
    assert read_image(rescued).pixels.shape == (40, 44, 3)


def test_network_only_model_is_a_model_error_for_run(lr_png, tmp_path):
    path, iters, _ = fit_model(lr_png, tmp_path / "net.onnx", CFG, export=ModelExport(network_only=True))
    assert iters == [4]
    with pytest.raises(ModelError, match="network-only"):
        run_model(path, lr_png, tmp_path / "o.png")
    assert not (tmp_path / "o.png").exists()


def test_upscaler_for_evaluation_checks_its_scale(photo):
    up = ZSSRUpscaler(CFG)
    lr = imresize(photo, 0.5)[:16, :16].astype(np.float32)
    assert up(lr, 2).shape == (32, 32, 3) and up.last_fit["iterations"] == [4]
    with pytest.raises(ConfigError, match="x3"):
        up(lr, 3)
