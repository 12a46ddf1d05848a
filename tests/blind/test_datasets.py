"""Blind-SR folders end to end through the CLI: degrade, score given LR images with true or no kernels,
estimate a kernel, fit with an estimated kernel."""

import json

import numpy as np
from click.testing import CliRunner

from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.cli import main
from zssr_deploy.imageops.kernels import kernel_spread, load_kernel
from zssr_deploy.io import read_image, write_image
from zssr_deploy.runtime import ZSSRModel


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(r):
    lines = [x for x in r.output.splitlines() if x.startswith("zssr-deploy: error")]
    return r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output


def _hr_folder(tmp_path, photo):
    hr = tmp_path / "hr"
    hr.mkdir()
    write_image(hr / "a.png", photo[:64, :60])
    write_image(hr / "b.png", photo[8:72, 16:80, :1])  # gray stays gray
    return hr


def test_degrade_writes_lr_images_and_true_kernels(tmp_path, photo):
    hr, lr = _hr_folder(tmp_path, photo), tmp_path / "lr"
    lr.mkdir()
    r = run("degrade", hr, "-o", lr, "--seed", "3")
    assert r.exit_code == 0, r.output
    assert read_image(lr / "a.png").pixels.shape == (32, 30, 3) and read_image(lr / "b.png").pixels.shape == (32, 32, 1)
    k = true_kernel(lr, "a")
    np.testing.assert_allclose(load_kernel(lr / "a.kernel.mat"), k)
    assert k.shape == (11, 11) and json.loads((lr / "degrade.json").read_text())["images"] == ["a", "b"]
    before = (lr / "a.png").read_bytes()
    r = run("degrade", hr, "-o", lr, "--seed", "4")
    assert one_error_line(r) and "already exists" in r.output and (lr / "a.png").read_bytes() == before
    x4 = tmp_path / "x4"
    x4.mkdir()
    assert run("degrade", hr, "-o", x4, "--scale", "4", "--seed", "3").exit_code == 0
    assert true_kernel(x4, "a").shape == (31, 31) and read_image(x4 / "a.png").pixels.shape == (16, 15, 3)


def test_evaluate_given_lr_images_with_true_or_no_kernel(tmp_path, photo):
    hr, lr = _hr_folder(tmp_path, photo), tmp_path / "lr"
    lr.mkdir()
    assert run("degrade", hr, "-o", lr).exit_code == 0
    r = run("evaluate", hr, "--lr", lr, "--json", tmp_path / "bic.json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "bic.json").read_text())["settings"] == {"lr": str(lr)}
    fast = ["--upscaler", "zssr", "--max-iters", "3", "--device", "cpu", "--preset", "given-kernel"]
    r = run("evaluate", hr, "--lr", lr, *fast, "--kernel", "true", "--json", tmp_path / "true.json")
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "true.json").read_text())
    assert data["settings"]["kernel"] == "true" and [i["name"] for i in data["images"]] == ["a", "b"]
    r = run("evaluate", hr, *fast, "--kernel", "true")  # no LR folder, no true kernels
    assert one_error_line(r) and "--lr" in r.output
    (lr / "b.png").unlink()
    r = run("evaluate", hr, "--lr", lr)
    assert one_error_line(r) and "no LR image for b" in r.output


def test_estimate_kernel_and_fit_with_the_estimate(tmp_path, photo):
    """Both estimators through the CLI: KernelGAN (few iterations) and the default patch-recurrence search; the
    estimate goes into the fit, its summary and the model's metadata; images too small for each are refused."""
    lr = tmp_path / "lr.png"
    write_image(lr, photo[:72, :80])
    r = run("estimate-kernel", lr, "-o", tmp_path / "k.npy", "--png", tmp_path / "k.png", "--kernel-iters", "30",
            "--kernel-estimator", "kernelgan")
    assert r.exit_code == 0, r.output
    assert "kernel estimation: 60/60 iterations" in r.output and "\r" not in r.output  # plain lines
    assert "(KernelGAN, runs agree to" in r.output
    k = np.load(tmp_path / "k.npy")
    assert k.ndim == 2 and abs(k.sum() - 1) < 1e-9 and read_image(tmp_path / "k.png").pixels.shape[2] == 1
    r = run("estimate-kernel", lr, "-o", tmp_path / "k2.npy")  # the default: patch recurrence
    assert r.exit_code == 0, r.output
    assert "(patch recurrence" in r.output and ", confidence 0." in r.output
    assert abs(np.load(tmp_path / "k2.npy").sum() - 1) < 1e-9
    r = run("estimate-kernel", lr, "-o", tmp_path / "k3.npy", "--max-kernel-variance", "0")  # no cap
    assert r.exit_code == 0 and "width capped" not in r.output, r.output
    r = run("estimate-kernel", lr, "-o", tmp_path / "k4.npy", "--max-kernel-variance", "0.25")  # below this estimate
    assert r.exit_code == 0, r.output
    assert "width capped (spread x0." in r.output and kernel_spread(np.load(tmp_path / "k4.npy")) < 0.51
    r = run("fit-and-run", lr, "-o", tmp_path / "sr.png", "--kernel", "estimate", "--preset", "given-kernel",
            "--max-iters", "3", "--device", "cpu", "--save-model", tmp_path / "m.onnx")
    assert r.exit_code == 0, r.output
    assert ("kernel: estimated" in r.output or "kernel: bicubic" in r.output) and "patch recurrence" in r.output
    training = ZSSRModel(tmp_path / "m.onnx").metadata.training
    assert training["kernel_estimate"]["source"] in ("estimated", "bicubic (estimate rejected)")
    assert training["kernel_estimate"]["method"] == "recurrence"
    assert {"detail", "seconds", "confidence"} <= set(training["kernel_estimate"])
    assert f"confidence {training['kernel_estimate']['confidence']:.2f}" in r.output  # the closing summary
    write_image(tmp_path / "tiny.png", photo[:60, :80])
    r = run("estimate-kernel", tmp_path / "tiny.png", "-o", tmp_path / "t.npy", "--kernel-estimator", "kernelgan")
    assert one_error_line(r) and "at least 64 pixels" in r.output and not (tmp_path / "t.npy").exists()
    write_image(tmp_path / "tinier.png", photo[:30, :80])
    r = run("estimate-kernel", tmp_path / "tinier.png", "-o", tmp_path / "t.npy")
    assert one_error_line(r) and "at least 32 pixels" in r.output and not (tmp_path / "t.npy").exists()
