"""The batch report, opened in a real browser (Debian's headless Chromium, installed by `make test`)."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.io import write_image

from .conftest import FAST

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium (apt-get install chromium)")
    return path


def browse(page, tmp_path, *args):
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def scored_batch(tmp_path, photo):
    """LR images and their HR ground truths (one sub-folder deep), so the report has scores."""
    for name, (y, x) in {"a": (0, 0), "b": (30, 40), "sub/c": (48, 10)}.items():
        hr = photo[y : y + 48, x : x + 48]
        for folder, img in (("hr", hr), ("lr", np.clip(imresize(hr, 0.5), 0, 1))):
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            write_image(tmp_path / folder / f"{name}.png", img)
    (tmp_path / "lr" / "broken.png").write_bytes(b"not a png")
    write_image(tmp_path / "hr" / "broken.png", photo[:48, :48])
    return tmp_path


def test_the_report_renders_in_chromium_with_every_image(scored_batch, tmp_path):
    report = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["fit-and-run", str(scored_batch / "lr"), "-o", str(tmp_path / "out"), "-r", *FAST,
                                  "--gt", str(scored_batch / "hr"), "--report", str(report)])
    assert r.exit_code == 1, r.output  # broken.png failed; the others are reported
    dom = browse(report, tmp_path, "--virtual-time-budget=5000", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    # 3 crops per fitted image, no kernel pictures (bicubic assumed); the page counts what the browser decoded
    assert 'data-images="9"' in body and 'data-broken="0"' in body
    rows = re.findall(r"<tr(?: class=\"failed\")?><td>([^<]+)</td>", dom.stdout)
    assert rows == ["a.png", "b.png", "broken.png", "sub/c.png"]
    psnrs = [float(v) for v in re.findall(r"<td>(\d\d\.\d\d)</td>", dom.stdout)]
    assert len(psnrs) == 3 and all(20 < p < 60 for p in psnrs)
    assert dom.stdout.count('aria-label="training curves"') == 3
    shot = tmp_path / "report.png"
    taken = browse(report, tmp_path, "--window-size=1000,1400", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_given_kernel_is_pictured(tmp_path, photo):
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", photo[:24, :24])
    y, x = np.mgrid[-4:5, -4:5]
    np.save(tmp_path / "k.npy", np.exp(-(x**2 + y**2) / (2 * 1.2**2)))
    report = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["fit-and-run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST,
                                  "--kernel", str(tmp_path / "k.npy"), "--preset", "given-kernel", "--report", str(report)])
    assert r.exit_code == 0, r.output
    dom = browse(report, tmp_path, "--virtual-time-budget=5000", "--dump-dom")
    assert 'data-images="4"' in dom.stdout and 'data-broken="0"' in dom.stdout and 'alt="kernel"' in dom.stdout


def test_an_estimated_kernel_shows_its_confidence(tmp_path):
    """A folder fitted with ``--kernel estimate``: the manifest records the estimate's confidence, and the report
    shows it in the table and beside the kernel's picture."""
    import json

    from zssr_deploy.blind.recurrence import gaussian_kernel
    from zssr_deploy.imageops.degrade import degrade
    from zssr_deploy.samples import load_sample

    (tmp_path / "in").mkdir()
    lr = degrade(load_sample("astronaut", 160), gaussian_kernel(1.5, 1.0, 30.0, 13), 2)
    write_image(tmp_path / "in" / "a.png", np.clip(lr, 0, 1))
    report = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["fit-and-run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST,
                                  "--kernel", "estimate", "--preset", "given-kernel", "--report", str(report)])
    assert r.exit_code == 0, r.output
    line = json.loads((tmp_path / "out" / "zssr-manifest.jsonl").read_text().splitlines()[-1])
    assert line["kernel"]["source"] == "estimated" and 0.5 <= line["kernel"]["confidence"] <= 1.0, line["kernel"]
    dom = browse(report, tmp_path, "--virtual-time-budget=5000", "--dump-dom")
    shown = f"estimated (recurrence, confidence {line['kernel']['confidence']:.2f})"
    assert f"<td>{shown}</td>" in dom.stdout and f'<p class="finding">{shown}</p>' in dom.stdout
    assert 'alt="kernel"' in dom.stdout and 'data-broken="0"' in dom.stdout


def test_the_report_states_its_settings_and_shows_only_what_it_has(tmp_path, photo):
    """Without ground truths: no Y-PSNR/SSIM columns; the settings and totals above the table (scale, iterations
    cap, version, date, total time); one panel with its own labelled axis per training curve; an image with
    transparency shows its upscaled alpha."""
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", photo[:24, :24])
    alpha = np.tile(np.linspace(0, 1, 24, dtype=np.float32), (24, 1))
    write_image(tmp_path / "in" / "b.png", photo[30:54, 40:64], alpha=alpha)
    report = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["fit-and-run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST,
                                  "--report", str(report)])
    assert r.exit_code == 0, r.output
    dom = browse(report, tmp_path, "--virtual-time-budget=5000", "--dump-dom").stdout
    assert "Y-PSNR" not in dom and "SSIM" not in dom
    settings = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", dom))
    assert settings["scale"] == "x2" and settings["iterations cap"] == "20 per step"
    assert settings["images"] == "2 done, 0 failed" and settings["total time"].endswith("s of fitting and inference")
    assert {"zssr-deploy", "written", "kernel", "device", "inference", "seed"} <= set(settings)
    for name in ("loss (L1), log scale", "reconstruction error (MSE), log scale", "learning rate, log scale"):
        assert dom.count(name) == 2  # one panel per image
    assert dom.count('alt="alpha"') == 1 and 'data-broken="0"' in dom


def test_a_report_inside_the_output_folder_is_the_batchs_own(tmp_path, photo):
    """``--report OUT/report.html`` with OUT not made yet is accepted (the batch makes OUT), and the same command
    run again replaces its own report instead of refusing it; a report elsewhere keeps the no-overwrite rule."""
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", photo[:24, :24])
    out = tmp_path / "out"
    cmd = ["fit-and-run", str(tmp_path / "in"), "-o", str(out), *FAST, "--report", str(out / "report.html")]
    for _ in range(2):
        r = CliRunner().invoke(main, cmd)
        assert r.exit_code == 0, r.output
        assert (out / "report.html").stat().st_size > 1000
    (tmp_path / "elsewhere.html").write_text("mine")
    r = CliRunner().invoke(main, [*cmd[:-1], str(tmp_path / "elsewhere.html")])
    assert r.exit_code == 2 and "already exists" in r.output and (tmp_path / "elsewhere.html").read_text() == "mine"
