"""Folder batches through the CLI: mirrored tree, manifest, resume, failures, refusals, --jobs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.io import read_image

from .conftest import FAST, outputs


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def manifest(folder):
    return [json.loads(line) for line in (folder / "zssr-manifest.jsonl").read_text().splitlines()]


def test_a_folder_batch_mirrors_the_tree_and_a_rerun_skips_finished_images(photo_folder, tmp_path):
    out = tmp_path / "out"
    r = run("fit-and-run", photo_folder, "-o", out, "-r", *FAST)
    assert r.exit_code == 0, r.output
    assert "3 done, 0 skipped (done before), 0 failed" in r.output
    assert "2 hidden or non-image file(s) skipped" in r.output
    assert sorted(outputs(out)) == ["a.png", "b.png", "sub/c.png"]
    assert read_image(out / "sub" / "c.png").pixels.shape == (48, 48, 3)
    done = [rec for rec in manifest(out) if rec["status"] == "done"]
    assert [d["image"] for d in done] == ["a.png", "b.png", "sub/c.png"]
    assert all(d["iterations"] == [20] and len(d["sha256"]) == 64 and d["curves"] for d in done)
    first = outputs(out)

    again = run("fit-and-run", photo_folder, "-o", out, "-r", *FAST)
    assert again.exit_code == 0 and "0 done, 3 skipped (done before)" in again.output
    assert outputs(out) == first

    other_seed = run("fit-and-run", photo_folder, "-o", out, "-r", *FAST, "--seed", "5")
    assert other_seed.exit_code == 0 and "3 done, 0 skipped" in other_seed.output  # settings changed: re-run


def test_a_bad_image_is_recorded_and_the_batch_goes_on(photo_folder, tmp_path):
    (photo_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    r = run("fit-and-run", photo_folder, "-o", out, *FAST)
    assert r.exit_code == 1, r.output
    assert "2 done, 0 skipped (done before), 1 failed" in r.output
    failed = [rec for rec in manifest(out) if rec["status"] == "failed"]
    assert [f["image"] for f in failed] == ["broken.png"] and "broken.png" in failed[0]["error"]
    assert sorted(outputs(out)) == ["a.png", "b.png"]


def test_outputs_that_are_not_the_batchs_are_not_overwritten(photo_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"someone's file")
    r = run("fit-and-run", photo_folder, "-o", out, *FAST)
    assert r.exit_code == 2 and "1 output(s) exist and are not from this batch" in r.output
    assert (out / "b.png").read_bytes() == b"someone's file" and not (out / "zssr-manifest.jsonl").exists()
    assert run("fit-and-run", photo_folder, "-o", out, *FAST, "--overwrite").exit_code == 0


def test_refusals_come_before_any_fit(photo_folder, tmp_path):
    r = run("fit-and-run", photo_folder, "-o", photo_folder, *FAST, "--suffix", "")
    assert r.exit_code == 2 and "would overwrite its own input" in r.output
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "o", *FAST, "--save-model", tmp_path / "m.onnx")
    assert r.exit_code == 2 and "--save-model apply to one image" in r.output
    r = run("fit-and-run", photo_folder / "a.png", "-o", tmp_path / "o.png", *FAST, "--jobs", "2")
    assert r.exit_code == 2 and "--jobs apply to a folder or glob" in r.output
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "o", *FAST, "--gt", tmp_path / "nowhere")
    assert r.exit_code == 2 and "no ground truth for 'a.png'" in r.output
    assert not (tmp_path / "o" / "zssr-manifest.jsonl").exists()


def test_two_jobs_give_the_same_files_as_one(photo_folder, tmp_path):
    assert run("fit-and-run", photo_folder, "-o", tmp_path / "one", "-r", *FAST).exit_code == 0
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "two", "-r", *FAST[:-2], "--jobs", "2", "--threads", "2")
    assert r.exit_code == 0, r.output
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")


def _cli(*args):
    return subprocess.Popen([sys.executable, "-c", "from zssr_deploy.cli import main; main()", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(folder, predicate, proc, timeout=120):
    path, t0 = folder / "zssr-manifest.jsonl", time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.exists() and predicate([json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]):
            return
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the batch")


def test_a_killed_batch_resumed_equals_an_uninterrupted_one(photo_folder, tmp_path):
    """Killed (SIGKILL, no clean-up) right after an image is recorded, and again in the middle of a fit."""
    slow = [*FAST, "--max-iters", "300"]
    assert run("fit-and-run", photo_folder, "-o", tmp_path / "whole", "-r", *slow).exit_code == 0
    out = tmp_path / "killed"
    proc = _cli("fit-and-run", photo_folder, "-o", out, "-r", *slow)
    _wait_for(out, lambda recs: any(r["status"] == "done" for r in recs), proc)
    os.kill(proc.pid, signal.SIGKILL)  # between images
    proc.wait()
    proc = _cli("fit-and-run", photo_folder, "-o", out, "-r", *slow)
    _wait_for(out, lambda recs: sum(r["status"] == "started" for r in recs) >= 3, proc)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of a fit
    proc.wait()
    assert len(outputs(out)) < 3
    r = run("fit-and-run", photo_folder, "-o", out, "-r", *slow)
    assert r.exit_code == 0, r.output
    assert outputs(out) == outputs(tmp_path / "whole")  # same bytes, no partial or temporary files


def test_outputs_beside_their_inputs_get_a_scale_suffix(photo_folder):
    r = run("fit-and-run", photo_folder, "-o", photo_folder, *FAST)
    assert r.exit_code == 0, r.output
    assert (photo_folder / "a_x2.png").is_file() and (photo_folder / "b_x2.png").is_file()
    assert read_image(photo_folder / "a.png").pixels.shape == (24, 24, 3)  # the inputs untouched


def test_a_decompression_bomb_is_one_failed_record_not_the_end_of_the_batch(photo_folder, tmp_path, exported):
    """A 68-byte PNG whose header claims 100000x100000 pixels once raised an uncaught cv2.error that ended the
    whole batch at that image (--jobs 1 and 2, and `run` on a folder): now it is that image's failed record, named,
    and the other images are done; a re-run gets past it."""
    from tests.test_bad_input import _png_claiming

    (photo_folder / "bomb.png").write_bytes(_png_claiming(100000, 100000))
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = run("fit-and-run", photo_folder, "-o", out, *FAST, "--jobs", jobs)
        assert r.exit_code == 1 and "2 done, 0 skipped (done before), 1 failed" in r.output, r.output
        failed = [rec for rec in manifest(out) if rec["status"] == "failed"]
        assert [f["image"] for f in failed] == ["bomb.png"] and "claims 100000x100000" in failed[0]["error"]
    r = run("run", exported("x2")[1], photo_folder, "-o", tmp_path / "ran")
    assert r.exit_code == 1 and "bomb.png" in r.output and "Traceback" not in r.output, r.output
    assert sorted(p.name for p in (tmp_path / "ran").glob("*.png")) == ["a.png", "b.png"]


def _alive_in_group(pgid: int) -> list[str]:
    """Processes of a process group that are still running (zombies, which hold nothing, left out)."""
    alive = []
    for stat in __import__("pathlib").Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(text[: text.rindex(")") + 1])
    return alive


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_driver_leaves_no_worker_behind(photo_folder, tmp_path, how):
    """``kill`` (SIGTERM) or SIGKILL to the driver of a ``--jobs 2`` batch while both workers train: within a few
    seconds no process of the batch is left (they once trained on at 100 % CPU, then blocked for good). SIGTERM
    ends the driver as Ctrl-C does (exit 130, the manifest kept); SIGKILL cannot be caught, so each worker watches
    its driver and ends when it is gone. Their temporary files go with them (TMPDIR is watched)."""
    out, temp = tmp_path / "out", tmp_path / "temp"
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "from zssr_deploy.cli import main; main()", "fit-and-run",
                             str(photo_folder), "-o", str(out), "-r", *FAST, "--max-iters", "100000", "--jobs", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(temp)})
    _wait_for(out, lambda recs: sum(r["status"] == "started" for r in recs) >= 2, proc)
    time.sleep(1.0)  # both workers in their fits
    assert len(_alive_in_group(proc.pid)) >= 3  # the driver and its two workers
    os.kill(proc.pid, how)
    code = proc.wait(timeout=30)
    assert code == (130 if how == signal.SIGTERM else -signal.SIGKILL)
    t0 = time.monotonic()
    while _alive_in_group(proc.pid) and time.monotonic() - t0 < 10:
        time.sleep(0.2)
    assert not _alive_in_group(proc.pid), _alive_in_group(proc.pid)
    assert not list(temp.iterdir())  # no temporary file of the images in flight left behind
    assert all(json.loads(x)["status"] in ("started", "done") for x in (out / "zssr-manifest.jsonl").read_text().splitlines())


def test_a_failed_image_is_said_once_and_opencv_stays_quiet(photo_folder, tmp_path):
    """A corrupt PNG in a batch: one line names it (not a warning and then the progress line), and OpenCV's own
    log lines ("[ERROR:0@4.2] global grfmt_png.cpp ...", written straight to the stderr descriptor) are gone."""
    (photo_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    r = subprocess.run([sys.executable, "-c", "from zssr_deploy.cli import main; main()", "fit-and-run", str(photo_folder),
                        "-o", str(tmp_path / "out"), *FAST], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    text = r.stdout + r.stderr
    assert sum("broken.png" in line for line in text.splitlines()) == 1, text
    assert "[ERROR" not in text and "[ WARN" not in text and "grfmt" not in text, text


def test_a_packed_batch_gives_the_lone_fits_pixels_with_its_manifest_and_resume(photo_folder, tmp_path):
    """``--pack 3`` fits the three images together (shared grouped convolutions): same pixels as one at a time to
    within one 8-bit level (the float outputs agree to 1e-4, tests/trainers/test_packed.py), same iteration
    records; a bad image fails alone before the pack trains; a re-run skips all; the ONNX engine path too."""
    (photo_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert run("fit-and-run", photo_folder, "-o", tmp_path / "one", "-r", *FAST).exit_code == 1
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "pack", "-r", *FAST, "--pack", "4")
    assert r.exit_code == 1 and "3 done, 0 skipped (done before), 1 failed" in r.output, r.output
    lone, packed = outputs(tmp_path / "one"), outputs(tmp_path / "pack")
    assert sorted(packed) == sorted(lone) == ["a.png", "b.png", "sub/c.png"]
    for name in lone:
        a = read_image(tmp_path / "one" / name).pixels
        b = read_image(tmp_path / "pack" / name).pixels
        assert abs(a - b).max() <= 1 / 255 + 1e-6, name
    recs = {m["image"]: m for m in manifest(tmp_path / "pack") if m["status"] != "started"}
    assert recs["broken.png"]["status"] == "failed" and all(recs[n]["iterations"] == [20] for n in lone)
    again = run("fit-and-run", photo_folder, "-o", tmp_path / "pack", "-r", *FAST, "--pack", "4")
    assert "0 done, 3 skipped (done before), 1 failed" in again.output
    onnx = [a for a in FAST if a not in ("--engine", "torch")]
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "onnx", *onnx, "--pack", "2")
    assert "2 done, 0 skipped (done before), 1 failed" in r.output, r.output


def test_pack_is_a_batch_option(photo_folder, tmp_path):
    r = run("fit-and-run", photo_folder / "a.png", "-o", tmp_path / "o.png", *FAST, "--pack", "2")
    assert r.exit_code == 2 and "--pack apply to a folder or glob" in r.output
    r = run("fit-and-run", photo_folder, "-o", tmp_path / "o", *FAST, "--pack", "0")
    assert r.exit_code == 2 and "--pack" in r.output


def test_a_pack_that_fails_in_training_fails_its_images_and_a_bad_one_alone(photo, monkeypatch):
    """Through ``process_pack``: an unreadable image is its own failed result before the pack trains; an error
    inside the pack's training (here a simulated CUDA out-of-memory after the first image finished) fails the
    images still in it, each with that one-line error, and keeps the finished one."""
    import zssr_deploy.trainers.packed as packed
    from zssr_deploy.batch.worker import ImageTask, process_pack
    from zssr_deploy.io import encode_image
    from zssr_deploy.runtime.run import Inference
    from zssr_deploy.trainers.config import ZSSRConfig

    real = packed.packed_fits

    def failing(plans, *args, **kwargs):
        fits = real(plans, *args, **kwargs)
        yield next(fits)
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore details")

    monkeypatch.setattr(packed, "packed_fits", failing)
    cfg = ZSSRConfig(crop_size=16, max_iters=20, device="cpu")
    png = [encode_image(photo[i * 20 : i * 20 + 24, :24], ".png") for i in range(3)]
    tasks = [ImageTask(image=f"{n}.png", data=d, out_suffix=".png", config=cfg, inference=Inference(engine="torch"))
             for n, d in zip("abc", png)]
    tasks.insert(1, ImageTask(image="bad.png", data=b"not a png", out_suffix=".png", config=cfg,
                              inference=Inference(engine="torch")))
    results = {r.image: r for r in process_pack(tasks)}
    assert results["bad.png"].status == "failed"
    done = [n for n in "abc" if results[f"{n}.png"].status == "done"]
    failed = [results[f"{n}.png"] for n in "abc" if results[f"{n}.png"].status == "failed"]
    assert len(done) == 1 and len(failed) == 2
    assert all(f.error == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB" for f in failed)
