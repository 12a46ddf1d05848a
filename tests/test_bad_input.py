"""The bad-input matrix: every case is a command a user might type with something wrong in it. Each must end
with one line on stderr naming the problem, exit status 2, nothing written or destroyed, and no training (a
few seconds at most). Grows with every bug found."""

import struct
import time
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.io import write_image


def _png_claiming(h: int, w: int) -> bytes:
    """A 68-byte PNG whose header claims h x w pixels (a decompression bomb)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def world(tmp_path_factory, exported):
    """Good and bad files side by side: images, kernels, a model, folders."""
    from zssr_deploy.samples import load_sample

    d = tmp_path_factory.mktemp("bad")
    img = load_sample("astronaut", 48)
    write_image(d / "ok.png", img)
    (d / "hr").mkdir()
    write_image(d / "hr" / "a.png", load_sample("astronaut", 64))
    (d / "bomb.png").write_bytes(_png_claiming(100000, 100000))
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (d / "empty.png").write_bytes(b"")
    (d / "notes.txt").write_text("not an image")
    write_image(d / "tiny.png", img[:5, :5])
    k = np.zeros((13, 13))
    k[6, 6], k[6, 7] = 1.0, -0.999
    np.save(d / "psf.npy", k)  # background-subtracted PSF: sums to 0.001
    np.save(d / "nan.npy", np.full((5, 5), np.nan))
    np.save(d / "cube.npy", np.ones((3, 3, 3)))
    np.save(d / "zero.npy", np.zeros((5, 5)))
    np.save(d / "huge.npy", np.ones((200, 200)))
    (d / "kernel.txt").write_text("1 2\n3")
    for folder in ("lrbad", "lrk"):
        (d / folder).mkdir()
    write_image(d / "lrbad" / "a.png", img[:20, :20])  # not the 32x32 its 64x64 HR image needs at x2
    write_image(d / "lrk" / "a.png", img[:32, :32])
    np.save(d / "lrk" / "a.kernel.npy", k)  # the negative-tap PSF as its "true" kernel
    (d / "bad.onnx").write_bytes(b"garbage")
    (d / "empty.onnx").write_bytes(b"")
    _, model = exported("x2")
    return d, model


# (command line with {d} for the folder and {m} for a good model, what the one line must say)
CASES = [
    # fit-and-run: inputs
    ("fit-and-run {d}/missing.png -o {d}/o.png", "does not exist"),
    ("fit-and-run {d}/bomb.png -o {d}/o.png", "header claims 100000x100000"),
    ("fit-and-run {d}/corrupt.png -o {d}/o.png", "not a readable image"),
    ("fit-and-run {d}/empty.png -o {d}/o.png", "empty file"),
    ("fit-and-run {d}/notes.txt -o {d}/o.png", "not a readable image"),
    ("fit-and-run {d}/tiny.png -o {d}/o.png", "needs at least"),
    ("fit-and-run {d}/ok.png -o {d}/ok.png", "already exists"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --overwrite -o {d}/ok.png", "is the input"),
    ("fit-and-run {d}/ok.png -o {d}/o.xyz", "o.xyz"),
    ("fit-and-run {d}/ok.png -o {d}/nofolder/o.png", "nofolder"),
    ("fit-and-run {d}/ok.png -o /proc/o.png", "does not take new files"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --steps a;b", "--steps"),
    ("fit {d}/ok.png -o /proc/m.onnx", "does not take new files"),
    # fit-and-run: settings
    ("fit-and-run {d}/ok.png -o {d}/o.png --seed -1", "--seed"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --noise-std nan", "--noise-std"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --noise-std -1", "--noise-std"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --crop-size 3", "--crop-size"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --max-iters 0", "--max-iters"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --scale 0", "scale"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --scale -2", "scale"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --scale abc", "scale"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --scale 1.0001", "scale"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --scale 7/3,1", "scale"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --device tpu", "device"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --gpu 7", "GPU"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --tile 1", "halo"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --preset nope", "nope"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --gt {d}/tiny.png", "--gt"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --save-model {d}/m.txt", "m.txt"),
    # kernels
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/psf.npy", "negative taps"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/nan.npy", "NaN"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/cube.npy", "2-D"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/zero.npy", "sum"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/huge.npy", "kernel"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/kernel.txt", "kernel"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/missing.npy", "does not exist"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel {d}/ok.png", "kernel"),
    ("fit-and-run {d}/ok.png -o {d}/o.png --kernel estimate --kernel-estimator magic", "magic"),
    # fit
    ("fit {d}/ok.png -o {d}/m.png", "m.png"),
    ("fit {d}/bomb.png -o {d}/m.onnx", "header claims"),
    ("fit {d}/ok.png -o {d}/m.onnx --static-shape 0,0", "static"),
    ("fit {d}/ok.png -o {d}/m.onnx --static-shape abc", "static"),
    # run
    ("run {d}/bad.onnx {d}/ok.png -o {d}/o.png", "not a loadable ONNX model"),
    ("run {d}/empty.onnx {d}/ok.png -o {d}/o.png", "empty"),
    ("run {d}/missing.onnx {d}/ok.png -o {d}/o.png", "does not exist"),
    ("run {m} {d}/bomb.png -o {d}/o.png", "header claims"),
    ("run {m} {d}/corrupt.png -o {d}/o.png", "not a readable image"),
    ("run {m} {d}/ok.png -o {d}/ok.png", "already exists"),
    ("run {m} {d}/ok.png -o {d}/ok.png --overwrite", "is the input"),
    ("run {m} {d}/ok.png -o {d}/o.png --tile 2", "halo"),
    ("run {m} {d}/ok.png -o {d}/o.png --provider tensorrt", "tensorrt"),
    ("run {m} {d}/ok.png -o {d}/o.png --gpu 9", "GPU 9 does not exist"),
    ("run {m} {d}/ok.png -o {d}/o.png --threads 0", "threads"),
    ("run {m} {d}/hr -o /proc/out", "does not take new files"),
    ("run {m} {d}/hr -o {d}/ok.png", "is a file"),
    # estimate-kernel
    ("estimate-kernel {d}/ok.png -o {d}/k.npy --scale 0.01", "factors above 1"),
    ("estimate-kernel {d}/ok.png -o {d}/k.npy --scale 100", "up to 8"),
    ("estimate-kernel {d}/tiny.png -o {d}/k.npy", "at least 32 pixels"),
    ("estimate-kernel {d}/bomb.png -o {d}/k.npy", "header claims"),
    ("estimate-kernel {d}/ok.png -o {d}/k.png", "k.png"),
    ("estimate-kernel {d}/ok.png -o {d}/k.npy --png {d}/ok.png", "already exists"),
    # degrade
    ("degrade {d}/hr -o {d}/hr --overwrite", "is the HR folder"),
    ("degrade {d}/hr -o {d}/nofolder", "does not exist"),
    ("degrade {d}/hr -o {d}/lr --scale 3", "--scale"),
    ("degrade {d}/missing -o {d}", "missing"),
    # evaluate
    ("evaluate {d}/hr --upscaler magic", "magic"),
    ("evaluate {d}/hr --scale 1.5", "whole"),
    ("evaluate {d}/hr --upscaler zssr --kernel true", "--lr"),
    ("evaluate {d}/hr --upscaler bicubic --kernel estimate", "--kernel"),
    ("evaluate {d}/hr --upscaler bicubic --max-kernel-variance 2", "--max-kernel-variance"),
    ("estimate-kernel {d}/ok.png -o {d}/k.npy --max-kernel-variance -1", "--max-kernel-variance"),
    ("evaluate {d}/hr --resume", "--json"),
    ("evaluate {d}/hr --baseline {d}/notes.txt", "not a results JSON"),
    ("evaluate {d}/missing", "missing"),
    ("evaluate {d}/hr --lr {d}/lrbad --upscaler zssr --json {d}/r.json", "the LR image is 20x20x3"),
    ("evaluate {d}/hr --lr {d}/lrk --upscaler zssr --kernel true --json {d}/r.json", "negative taps"),
]


@pytest.mark.parametrize("line,says", CASES, ids=[c[0].split()[0] + ": " + c[0].split(" ", 2)[-1][:60] for c in CASES])
def test_a_bad_command_line_is_one_line_exit_2_and_writes_nothing(world, line, says):
    d, model = world
    before = {p: p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}
    (d / "lr").mkdir(exist_ok=True)
    args = line.format(d=d, m=model).split()
    t0 = time.perf_counter()
    r = CliRunner().invoke(main, args)
    seconds = time.perf_counter() - t0
    errors = [x for x in r.output.splitlines() if "rror" in x]
    assert r.exit_code == 2, (r.exit_code, r.output[-2000:])
    assert "Traceback" not in r.output and len(errors) == 1 and says in errors[0], r.output[-2000:]
    after = {p: p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}
    assert after == before, set(after) ^ set(before)  # nothing written, nothing replaced, nothing removed
    assert seconds < 20, seconds  # before any training (an import of torch is the slow part)


def test_the_matrix_is_large():
    assert len(CASES) >= 60


def test_a_uint8_array_is_refused_by_the_api_not_clipped(photo):
    """``fit()`` on a 0-255 uint8 array: once it was clipped to [0, 1] (the output 89 % white); now it is refused
    with the conversion to make."""
    from zssr_deploy.errors import InvalidImageError
    from zssr_deploy.trainers.config import ZSSRConfig
    from zssr_deploy.trainers.fitting import fit

    with pytest.raises(InvalidImageError, match=r"uint8 array; .*astype\(np.float32\) / 255"):
        fit((photo * 255).astype(np.uint8), ZSSRConfig(max_iters=1, device="cpu"))


def test_a_negative_tap_kernel_is_refused_in_seconds(world):
    """The background-subtracted PSF once became a 12005x12005 kernel and the fit hung at 8.3 GB."""
    d, _ = world
    t0 = time.perf_counter()
    r = CliRunner().invoke(main, ["fit-and-run", str(d / "ok.png"), "-o", str(d / "o.png"), "--kernel", str(d / "psf.npy")])
    assert r.exit_code == 2 and "negative taps cancel" in r.output and time.perf_counter() - t0 < 5
