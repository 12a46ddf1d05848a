import re

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.io import read_image, write_image

FAST = ["--max-iters", "5", "--crop-size", "16", "--device", "cpu", "--engine", "torch"]
FAST_ONNX = FAST[:-2]


@pytest.fixture
def lr_png(tmp_path, photo):
    hr = photo[:48, :48]
    write_image(tmp_path / "hr.png", hr)
    lr = np.round(np.clip(imresize(hr, 0.5), 0, 1) * 255) / 255
    write_image(tmp_path / "lr.png", lr)
    return tmp_path / "lr.png"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_fit_and_run_writes_output_and_scores(lr_png, tmp_path):
    out = tmp_path / "sr.png"
    r = run("fit-and-run", lr_png, "-o", out, *FAST, "--gt", tmp_path / "hr.png")
    assert r.exit_code == 0, r.output
    assert read_image(out).pixels.shape == (48, 48, 3)
    assert "5 iterations" in r.output and "Y-PSNR" in r.output


def test_alpha_is_upscaled_and_kept(tmp_path, photo):
    alpha = np.linspace(0, 1, 24 * 24).reshape(24, 24)
    write_image(tmp_path / "rgba.png", photo[:24, :24], alpha=alpha)
    r = run("fit-and-run", tmp_path / "rgba.png", "-o", tmp_path / "o.png", *FAST)
    assert r.exit_code == 0, r.output
    img = read_image(tmp_path / "o.png")
    assert img.alpha is not None and img.alpha.shape == (48, 48)
    np.testing.assert_allclose(img.alpha, np.clip(imresize(alpha, 2.0), 0, 1), atol=1 / 255)


def test_grayscale_stays_grayscale(tmp_path, photo):
    write_image(tmp_path / "g.png", photo[:24, :24, :1])
    r = run("fit-and-run", tmp_path / "g.png", "-o", tmp_path / "o.png", *FAST)
    assert r.exit_code == 0, r.output
    assert read_image(tmp_path / "o.png").pixels.shape == (48, 48, 1)


def _one_error_line(r):
    lines = [line for line in r.output.splitlines() if line.startswith("zssr-deploy: error")]
    return r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output


def test_existing_output_needs_overwrite(lr_png, tmp_path):
    out = tmp_path / "sr.png"
    out.write_bytes(b"keep me")
    r = run("fit-and-run", lr_png, "-o", out, *FAST)
    assert _one_error_line(r) and "already exists" in r.output
    assert out.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    "extra,match",
    [(["--scale", "1"], "greater than 1"), (["--scale", "0.5"], "greater than 1"), (["--scale", "40"], "too large"),
     (["--scale", "x"], "number")],
)
def test_bad_scale(lr_png, tmp_path, extra, match):
    r = run("fit-and-run", lr_png, "-o", tmp_path / "sr.png", *FAST, *extra)
    assert _one_error_line(r) and match in r.output
    assert not (tmp_path / "sr.png").exists()


def test_scale_too_large_for_image(tmp_path, photo):
    write_image(tmp_path / "s.png", photo[:12, :12])
    r = run("fit-and-run", tmp_path / "s.png", "-o", tmp_path / "o.png", *FAST, "--scale", "8")
    assert _one_error_line(r) and "too large" in r.output


def test_tiny_image(tmp_path, photo):
    write_image(tmp_path / "t.png", photo[:5, :5])
    r = run("fit-and-run", tmp_path / "t.png", "-o", tmp_path / "o.png", *FAST)
    assert _one_error_line(r) and "at least 8" in r.output
    assert not (tmp_path / "o.png").exists()


def test_bad_kernel_files(lr_png, tmp_path):
    (tmp_path / "k.png").write_bytes(b"abc")
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--kernel", tmp_path / "k.png")
    assert _one_error_line(r) and "unknown type" in r.output
    np.save(tmp_path / "k3.npy", np.ones((3, 3, 3)))
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--kernel", tmp_path / "k3.npy")
    assert _one_error_line(r) and "2-D" in r.output
    np.save(tmp_path / "big.npy", np.ones((40, 40)))
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--kernel", tmp_path / "big.npy")
    assert _one_error_line(r) and "larger than" in r.output
    assert not (tmp_path / "o.png").exists()


def test_unwritable_output(lr_png, tmp_path):
    r = run("fit-and-run", lr_png, "-o", tmp_path / "nope" / "o.png", *FAST)
    assert _one_error_line(r) and "does not exist" in r.output
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.xyz", *FAST)
    assert _one_error_line(r) and "extension" in r.output


def test_kernel_run_and_gradual_steps(lr_png, tmp_path):
    k = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(float)
    np.save(tmp_path / "k.npy", k)
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--kernel", tmp_path / "k.npy",
            "--preset", "given-kernel")
    assert r.exit_code == 0, r.output
    r = run("fit-and-run", lr_png, "-o", tmp_path / "g.png", *FAST, "--steps", "1.5,1.5;2,2", "--bp-iters", "2")
    assert r.exit_code == 0, r.output
    assert "(5, 5 per step)" in r.output


def test_fit_then_run_equals_fit_and_run(lr_png, tmp_path):
    """fit-and-run's final image comes through ONNX Runtime: 'fit' + 'run' reproduce it exactly."""
    r = run("fit-and-run", lr_png, "-o", tmp_path / "a.png", *FAST_ONNX, "--save-model", tmp_path / "a.onnx",
            "--tile", "24")
    assert r.exit_code == 0, r.output
    assert "CPUExecutionProvider" in r.output and (tmp_path / "a.onnx").exists()
    r = run("fit", lr_png, "-o", tmp_path / "b.onnx", *FAST_ONNX)
    assert r.exit_code == 0, r.output
    r = run("run", tmp_path / "b.onnx", lr_png, "-o", tmp_path / "b.png", "--provider", "cpu")
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(read_image(tmp_path / "a.png").pixels, read_image(tmp_path / "b.png").pixels)
    # the torch engine gives the same picture up to float32 rounding (8-bit output: at most one level)
    r = run("fit-and-run", lr_png, "-o", tmp_path / "c.png", *FAST)
    assert r.exit_code == 0, r.output
    diff = np.abs(read_image(tmp_path / "a.png").pixels - read_image(tmp_path / "c.png").pixels).max()
    assert diff <= 1 / 255 + 1e-6


def test_image_below_the_graph_minimum_runs_in_torch(tmp_path, photo):
    """At x4 the exported graph needs 14 LR pixels a side; a 12x12 image still gets its output (not a lost fit)."""
    write_image(tmp_path / "small.png", photo[:12, :12])
    r = run("fit-and-run", tmp_path / "small.png", "-o", tmp_path / "a.png", "--scale", 4, *FAST_ONNX,
            "--save-model", tmp_path / "a.onnx")
    assert r.exit_code == 0, r.output
    assert read_image(tmp_path / "a.png").pixels.shape == (48, 48, 3) and (tmp_path / "a.onnx").exists()
    # the fallback is the torch engine itself: the same pixels
    r = run("fit-and-run", tmp_path / "small.png", "-o", tmp_path / "b.png", "--scale", 4, *FAST)
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(read_image(tmp_path / "a.png").pixels, read_image(tmp_path / "b.png").pixels)
    # the saved model states its limit when run on that image directly
    r = run("run", tmp_path / "a.onnx", tmp_path / "small.png", "-o", tmp_path / "c.png", "--provider", "cpu")
    assert _one_error_line(r) and "at least 14 pixels" in r.output and not (tmp_path / "c.png").exists()


def test_save_model_exists(lr_png, tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"keep")
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST_ONNX, "--save-model", tmp_path / "m.onnx")
    assert _one_error_line(r) and "already exists" in r.output
    assert (tmp_path / "m.onnx").read_bytes() == b"keep" and not (tmp_path / "o.png").exists()


def test_tile_below_halo_fails_before_training(lr_png, tmp_path):
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST_ONNX, "--tile", "5")
    assert _one_error_line(r) and "halo" in r.output and "step 1/1" not in r.output


class _Stop(Exception):
    pass


def test_checkpoint_resumes_an_interrupted_fit(lr_png, tmp_path):
    """Stopped in its second step, fit-and-run --checkpoint resumes there and writes the uninterrupted image."""
    from zssr_deploy.api import Callbacks, upscale_image
    from zssr_deploy.runtime.run import Inference
    from zssr_deploy.trainers.config import build_config

    args = [*FAST, "--steps", "1.5;2", "--bp-iters", "1"]
    ref = tmp_path / "ref.png"
    assert run("fit-and-run", lr_png, "-o", ref, *args).exit_code == 0

    def stop_in_step_2(p):
        if p.step == 1:
            raise _Stop

    ckpt, out = tmp_path / "fit.ckpt", tmp_path / "sr.png"
    cfg = build_config("ideal", "2", steps="1.5;2", bp_iters="1", max_iters=5, crop_size=16, device="cpu")
    with pytest.raises(_Stop):  # the library call the CLI makes, with a progress callback that stops it
        upscale_image(lr_png, out, cfg, inference=Inference(engine="torch"), checkpoint=ckpt,
                      callbacks=Callbacks(progress=stop_in_step_2))
    assert ckpt.exists() and not out.exists()
    r = run("fit-and-run", lr_png, "-o", out, *args, "--checkpoint", ckpt)
    assert r.exit_code == 0, r.output
    assert not ckpt.exists()  # spent once the output is written
    np.testing.assert_array_equal(read_image(out).pixels, read_image(ref).pixels)


def test_bad_checkpoint_one_line_error(lr_png, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"junk")
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--checkpoint", bad)
    assert _one_error_line(r) and "not a readable zssr-deploy checkpoint" in r.output
    assert bad.read_bytes() == b"junk" and not (tmp_path / "o.png").exists()
    r = run("fit", lr_png, "-o", tmp_path / "m.onnx", *FAST[:-2], "--checkpoint", tmp_path / "nope" / "c.ckpt")
    assert _one_error_line(r) and "does not exist" in r.output


def test_steps_base_change_and_placement_reach_the_trainer(lr_png, tmp_path, monkeypatch):
    """--father-placement reaches the fit; --base-change sets the base-change factors of an explicit --steps
    schedule (none without it, even on the gradual preset at x4, whose own plan has one); a base change that
    fits no step is a one-line error."""
    import zssr_deploy.trainers.fitting as fitting

    seen = []
    real_fit = fitting.run_fit
    monkeypatch.setattr(fitting, "run_fit", lambda plan, *a, **k: (seen.append(plan.config), real_fit(plan, *a, **k))[1])
    args = ["fit-and-run", lr_png, *FAST, "--scale", "4", "--preset", "gradual", "--bp-iters", "1"]
    r = run(*args, "-o", tmp_path / "a.png", "--steps", "2;2,3;3,3;4")
    assert r.exit_code == 0, r.output
    assert seen[-1].scale_factors == ((2, 2), (2, 3), (3, 3), (4, 4)) and seen[-1].base_change_scales == ()
    assert seen[-1].father_placement == "paper"
    r = run(*args, "-o", tmp_path / "b.png", "--steps", "2;2,3;3,3;4", "--base-change", "2",
            "--father-placement", "released")
    assert r.exit_code == 0, r.output
    assert seen[-1].base_change_scales == (2.0,) and seen[-1].father_placement == "released"
    assert read_image(tmp_path / "b.png").pixels.shape == (96, 96, 3)
    # the base change changed the fit: the later steps start from the x2 output, not from the input
    assert not np.array_equal(read_image(tmp_path / "a.png").pixels, read_image(tmp_path / "b.png").pixels)
    n = len(seen)
    r = run(*args, "-o", tmp_path / "c.png", "--steps", "2;4", "--base-change", "3")
    assert _one_error_line(r) and "base change x3" in r.output and not (tmp_path / "c.png").exists()
    r = run(*args, "-o", tmp_path / "c.png", "--steps", "2;4", "--base-change", "two")
    assert r.exit_code == 2 and "--base-change" in r.output and len(seen) == n


def test_gray_alpha_stays_gray_alpha(tmp_path, photo):
    gray = photo[:24, :24].mean(axis=2, keepdims=True)
    write_image(tmp_path / "ga.png", gray, alpha=np.linspace(0, 1, 24 * 24).reshape(24, 24))
    r = run("fit-and-run", tmp_path / "ga.png", "-o", tmp_path / "o.png", *FAST)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.png").read_bytes()[25] == 4  # PNG colour type: gray + alpha
    img = read_image(tmp_path / "o.png")
    assert img.pixels.shape == (48, 48, 1) and img.alpha.shape == (48, 48)


def test_given_kernel_preset_without_a_kernel_is_refused(lr_png, tmp_path):
    r = run("fit-and-run", lr_png, "-o", tmp_path / "o.png", *FAST, "--preset", "given-kernel")
    assert r.exit_code == 2 and "--preset given-kernel needs a kernel" in r.output
    assert not (tmp_path / "o.png").exists()


def test_verbosity_works_after_the_subcommand_and_stays_in_the_package(lr_png, tmp_path):
    """-v/-vv after the subcommand raise only zssr_deploy's loggers; -q silences progress and warnings; without
    a terminal, progress is plain lines (no bar frames)."""
    import logging

    root, onnx_level = logging.getLogger().level, logging.getLogger("onnxscript").level
    r = run("fit-and-run", lr_png, "-o", tmp_path / "a.png", *FAST, "-vv")
    assert r.exit_code == 0, r.output
    log_lines = [ln for ln in r.output.splitlines() if ln.split(" ")[0] in ("DEBUG", "INFO", "WARNING", "ERROR")]
    assert any(ln.startswith("INFO zssr_deploy.") for ln in log_lines)
    assert all(ln.split(" ")[1].startswith("zssr_deploy") for ln in log_lines), log_lines
    assert logging.getLogger().level == root and logging.getLogger("onnxscript").level == onnx_level
    assert "step 1/1: 5/5 iterations" in r.output and "\r" not in r.output  # plain progress lines
    assert "last test: loss" in r.output
    q = run("-q", "fit-and-run", lr_png, "-o", tmp_path / "b.png", *FAST)
    assert q.exit_code == 0 and "step 1/1" not in q.output and "INFO" not in q.output
    assert q.output.startswith("wrote ")  # the result line stays
    run("fit-and-run", lr_png, "-o", tmp_path / "c.png", *FAST, "-q")
    assert logging.getLogger("zssr_deploy").level == logging.ERROR


def test_the_summary_gives_each_phase_and_the_second_export_is_cached(lr_png, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSR_DEPLOY_CACHE", str(tmp_path / "cache"))
    first = run("fit-and-run", lr_png, "-o", tmp_path / "a.png", *FAST_ONNX)
    second = run("fit-and-run", lr_png, "-o", tmp_path / "b.png", *FAST_ONNX, "--seed", "1")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    for r in (first, second):
        assert "exporting the fitted pipeline to ONNX" in r.output and "final inference" in r.output
        assert "inference: 1/1 tiles" in r.output  # a plain line for the tile progress (no terminal here)
        assert re.search(r"time: training [\d.]+ s, export [\d.]+ s.*inference [\d.]+ s, write [\d.]+ s; total", r.output)
    assert "(cached graph)" not in first.output and "(cached graph)" in second.output
