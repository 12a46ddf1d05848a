"""Score the authors' released ZSSR code under this project's RGB protocol, image by image.

    python benchmarks/speed/released_code.py DATA/Set14 out.json face foreman ... \\
        --port-dir PORT --tf-python PORT_VENV/bin/python [--gradual] [--seed 0]
    python benchmarks/speed/released_code.py --table out.json [more.json ...]     # Markdown rows and the mean
    python benchmarks/speed/released_code.py --end-to-end DATA/Set5/bird.png --json out.json \
        --port-dir PORT --tf-python PORT_VENV/bin/python [--seed 0]        # wall time, side by side
    python benchmarks/speed/released_code.py --end-to-end-table out.json          # its runs (one per seed) and means

``--end-to-end``: the released code and ``zssr-deploy fit-and-run`` (defaults, ``--threads 1``) started at the
same moment on the same LR PNG (rgb protocol), one core each, each timed from command start to its output
file written (process exit); ours runs twice in a row, with an empty export cache and then a warm one, while
the released code runs once. Both outputs are scored against the HR image; the ``lscpu`` model is recorded.

Why: the Set14 acceptance number (33.00) rests on the released README's claim, and the released code is
TensorFlow 1 / Python 2, which this project does not ship or import. So the code is run as the authors wrote
it, in its own interpreter, and only the scoring is ours: the LR input and the score come from
``zssr_deploy.evaluate.score_image`` (the same function ``zssr-deploy evaluate`` uses), so the upscaler is
the only difference from ``zssr-deploy evaluate --method zssr``.

``PORT`` is a directory holding the released ``imresize.py`` and a module ``released_zssr.py`` with the
released ``ZSSR`` class, ``Config`` and the X2 gradual config as ``gradual_conf()``, converted to Python 3 and
``tensorflow.compat.v1`` (docs/BENCHMARKS.md lists the conversion; the authors' code is not part of this
repository). ``ZSSR(lr, conf, seed=...)`` must seed numpy and the TF graph, ``run()`` returns the float SR
image and ``log`` lists per scale step ``{"scale", "iterations", "lr_drops_at"}``.

The released network has 3 input channels and no 1-channel path: a single-channel image (Set14 bridge) is
repeated to 3 channels and the channel mean of the output is scored. Results are kept per image in ``out.json``
(an image already there is skipped, so a run can be resumed). The worker half of this file
(``--worker``) runs inside the port's interpreter and imports only numpy and the port.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def worker(lr_path: str, sr_path: str, log_path: str, gradual: bool, seed: int) -> None:
    """Inside the port's interpreter: run the released code on one LR image (.npy, float HxWx3 in [0, 1])."""
    from released_zssr import ZSSR, Config, gradual_conf  # the port, on PYTHONPATH

    conf = gradual_conf() if gradual else Config()
    lr = np.load(lr_path).astype(np.float64)
    t0 = time.perf_counter()
    z = ZSSR(lr, conf, seed=seed)
    sr = z.run()
    np.save(sr_path, np.asarray(sr, dtype=np.float32))
    Path(log_path).write_text(json.dumps({"steps": z.log, "seconds": time.perf_counter() - t0, "seed": seed}))


RELEASED_PNG = """
import sys, json, cv2, numpy as np
from released_zssr import ZSSR, Config
lr = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR)[..., ::-1].astype(np.float64) / 255.0
z = ZSSR(lr, Config(), seed=int(sys.argv[3]))
sr = z.run()
cv2.imwrite(sys.argv[2], np.round(np.clip(sr, 0, 1) * 255).astype(np.uint8)[..., ::-1])
open(sys.argv[4], "w").write(json.dumps(z.log))
"""

#: the closing lines of ``fit-and-run`` (cli/summary): iterations, and each phase's seconds
SUMMARY_ITERS = re.compile(r": (\d+) iterations")
SUMMARY_TIMES = re.compile(r"time: training ([\d.]+) s, export ([\d.]+) s.*inference ([\d.]+) s")


def _runs(path: Path) -> list[dict]:
    """The runs recorded in an ``--end-to-end`` file (one run per seed; an older file holds one run)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return data["runs"] if "runs" in data else [data]


def end_to_end(hr_path: Path, json_out: Path, port_dir: Path, tf_python: str, seed: int) -> None:
    """The released code against ``zssr-deploy fit-and-run``, side by side (see the module docstring); the run
    joins the others in ``json_out``, and a seed already there is skipped (``--resume`` by seed)."""
    import shutil
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
    from common import cpu_model  # noqa: E402

    from zssr_deploy.files import write_bytes_atomic
    from zssr_deploy.io import read_image, write_image
    from zssr_deploy.metrics import mod_crop, rgb_protocol_lr, score_output

    runs = _runs(json_out)
    if any(r["seed"] == seed and r["image"] == hr_path.name for r in runs):
        print(f"{json_out}: seed {seed} on {hr_path.name} already recorded")
        return
    cli = shutil.which("zssr-deploy") or str(Path(sys.executable).with_name("zssr-deploy"))
    with tempfile.TemporaryDirectory() as d:
        hr = mod_crop(read_image(hr_path).pixels, 2)
        write_image(f"{d}/lr.png", rgb_protocol_lr(hr, 2))
        one = {**os.environ, "OMP_NUM_THREADS": "1", "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        t0 = time.perf_counter()
        released = subprocess.Popen([tf_python, "-c", RELEASED_PNG, f"{d}/lr.png", f"{d}/released.png", str(seed),
                                     f"{d}/released.json"],
                                    cwd=port_dir, env={**one, "PYTHONPATH": str(port_dir.resolve())},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours = {}
        for run in ("cold cache", "warm cache"):
            t = time.perf_counter()
            # not a terminal, so the CLI prints plain lines and its closing summary, read back below
            out = subprocess.run([cli, "fit-and-run", f"{d}/lr.png", "-o", f"{d}/{run}.png", "--threads", "1",
                                  "--seed", str(seed)], check=True, capture_output=True, text=True,
                                 env={**one, "ZSSR_DEPLOY_CACHE": f"{d}/cache"})
            wall = round(time.perf_counter() - t, 1)
            text = out.stdout + out.stderr
            iters, times = SUMMARY_ITERS.search(text), SUMMARY_TIMES.search(text)
            if not (iters and times):
                raise SystemExit(f"fit-and-run's summary not found in its output:\n{text[-2000:]}")
            ours[run] = {"wall_s": wall, "psnr": round(score_output(read_image(f"{d}/{run}.png").pixels, hr, 2)[0], 3),
                         "iterations": int(iters.group(1)), "training_s": float(times.group(1)),
                         "export_s": float(times.group(2)), "inference_s": float(times.group(3))}
            print(f"fit-and-run, {run}: {ours[run]}", flush=True)
        if released.wait() != 0:
            raise SystemExit("the released code failed")
        rel = {"wall_s": round(time.perf_counter() - t0, 1),
               "psnr": round(score_output(read_image(f"{d}/released.png").pixels, hr, 2)[0], 3),
               "iterations": sum(s["iterations"] for s in json.loads(Path(f"{d}/released.json").read_text()))}
    print(f"released code: {rel}")
    for run, r in ours.items():
        print(f"released / fit-and-run ({run}): {rel['wall_s'] / r['wall_s']:.1f}x faster, "
              f"PSNR {r['psnr'] - rel['psnr']:+.3f} dB")
    result = {"cpu": cpu_model(), "image": hr_path.name, "seed": seed, "released": rel, "fit_and_run": ours}
    write_bytes_atomic(json_out, (json.dumps({"runs": runs + [result]}, indent=1) + "\n").encode(), overwrite=True)
    print(f"on {result['cpu']}")


def end_to_end_table(path: Path) -> None:
    """One Markdown row per recorded seed, then the means: wall times, speed-ups, PSNRs and their difference."""
    runs = sorted(_runs(path), key=lambda r: r["seed"])
    print(f"{path}: {', '.join(sorted({r['cpu'] for r in runs}))}, {runs[0]['image']}\n")
    print("| seed | released: s / PSNR | fit-and-run cold: s / PSNR | warm: s | speed-up cold / warm | PSNR ours - released |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        rel, cold, warm = r["released"], r["fit_and_run"]["cold cache"], r["fit_and_run"]["warm cache"]
        print(f"| {r['seed']} | {rel['wall_s']:.1f} / {rel['psnr']:.3f} | {cold['wall_s']:.1f} / {cold['psnr']:.3f} | "
              f"{warm['wall_s']:.1f} | {rel['wall_s'] / cold['wall_s']:.1f}x / {rel['wall_s'] / warm['wall_s']:.1f}x | "
              f"{warm['psnr'] - rel['psnr']:+.3f} |")
    rel_t = np.array([r["released"]["wall_s"] for r in runs])
    cold_t = np.array([r["fit_and_run"]["cold cache"]["wall_s"] for r in runs])
    warm_t = np.array([r["fit_and_run"]["warm cache"]["wall_s"] for r in runs])
    rel_p = np.array([r["released"]["psnr"] for r in runs])
    ours_p = np.array([r["fit_and_run"]["warm cache"]["psnr"] for r in runs])
    ddof = 1 if len(runs) > 1 else 0  # one seed: no spread to show (printed as 0)
    sem = np.sqrt(rel_p.var(ddof=ddof) / len(runs) + ours_p.var(ddof=ddof) / len(runs))
    print(f"\nmean of {len(runs)} seeds: released {rel_t.mean():.1f} s / {rel_p.mean():.3f} dB (sd {rel_p.std(ddof=ddof):.3f}), "
          f"fit-and-run {cold_t.mean():.1f} s cold, {warm_t.mean():.1f} s warm / {ours_p.mean():.3f} dB "
          f"(sd {ours_p.std(ddof=ddof):.3f}); speed-up {rel_t.sum() / cold_t.sum():.2f}x cold, "
          f"{rel_t.sum() / warm_t.sum():.2f}x warm; PSNR difference {ours_p.mean() - rel_p.mean():+.3f} dB "
          f"(standard error {sem:.3f})")
    timed = [r for r in runs if "iterations" in r["released"]]
    if not timed:
        return
    # the speed-up is (released iterations / ours) x (released seconds per iteration / ours): which of the two
    # it comes from (the released code's wall time covers its start-up and final inference too)
    print("\n| seed | iterations: released / ours | released: wall s per iteration | ours: training s per iteration "
          "| ours (warm): training / export / inference s |\n|---|---|---|---|---|")
    for r in timed:
        rel, warm = r["released"], r["fit_and_run"]["warm cache"]
        print(f"| {r['seed']} | {rel['iterations']} / {warm['iterations']} | {rel['wall_s'] / rel['iterations']:.3f} | "
              f"{warm['training_s'] / warm['iterations']:.3f} | {warm['training_s']:.1f} / {warm['export_s']:.1f} / "
              f"{warm['inference_s']:.1f} |")
    it_rel = sum(r["released"]["iterations"] for r in timed)
    it_ours = sum(r["fit_and_run"]["warm cache"]["iterations"] for r in timed)
    per_rel = sum(r["released"]["wall_s"] for r in timed) / it_rel
    per_ours = sum(r["fit_and_run"]["warm cache"]["training_s"] for r in timed) / it_ours
    print(f"\nover {len(timed)} seeds: iterations released / ours {it_rel / it_ours:.2f}, seconds per iteration "
          f"released (wall) / ours (training) {per_rel / per_ours:.2f}")


def released_upscaler(port_dir: Path, tf_python: str, gradual: bool, seed: int, log: dict):
    """An ``evaluate`` upscaler that runs the released code in a subprocess; fills ``log`` with its record."""

    def upscale(lr: np.ndarray, scale: float) -> np.ndarray:
        if scale != 2:
            raise SystemExit("the released configurations are x2 only")
        gray = lr.shape[2] == 1
        x = np.repeat(lr, 3, axis=2) if gray else lr
        with tempfile.TemporaryDirectory() as d:
            np.save(f"{d}/lr.npy", x)
            cmd = [tf_python, str(Path(__file__).resolve()), "--worker", f"{d}/lr.npy", f"{d}/sr.npy",
                   f"{d}/log.json", "--seed", str(seed)] + (["--gradual"] if gradual else [])
            env = {**os.environ, "PYTHONPATH": str(port_dir.resolve())}  # the port's modules, in its interpreter
            subprocess.run(cmd, check=True, cwd=port_dir, env=env)
            sr = np.load(f"{d}/sr.npy")
            log.update(json.loads(Path(f"{d}/log.json").read_text()))
        return sr.mean(axis=2, keepdims=True) if gray else sr

    return upscale


def print_table(paths: list[Path]) -> None:
    """One Markdown row per image (Y-PSNR / SSIM, iterations with learning-rate drops per step, seconds), then
    the mean; an image in two files is refused."""
    rows: dict[str, dict] = {}
    for p in paths:
        for name, r in json.loads(p.read_text()).items():
            if name in rows:
                raise SystemExit(f"{p}: {name!r} appears in more than one file")
            rows[name] = r
    print("| image | Y-PSNR / SSIM | iterations (lr drops at) | seconds |\n|---|---|---|---|")
    for name in sorted(rows):
        r = rows[name]
        steps = "; ".join(f"{s['iterations']} ({', '.join(map(str, s['lr_drops_at']))})" for s in r["steps"])
        print(f"| {name} | {r['psnr_y']:.2f} / {r['ssim_y']:.4f} | {steps} | {r['seconds']:.1f} |")
    print(f"| **mean of {len(rows)}** | **{np.mean([r['psnr_y'] for r in rows.values()]):.2f} / "
          f"{np.mean([r['ssim_y'] for r in rows.values()]):.4f}** | | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs=3, metavar=("LR", "SR", "LOG"))
    ap.add_argument("--end-to-end", type=Path, metavar="HR_IMAGE", help="side-by-side wall time on one image")
    ap.add_argument("--json", type=Path, help="with --end-to-end: where to record it")
    ap.add_argument("--end-to-end-table", type=Path, metavar="JSON", help="print an --end-to-end file's runs")
    ap.add_argument("--table", nargs="+", type=Path, metavar="JSON", help="print the results of these files")
    ap.add_argument("--gradual", action="store_true", help="the released X2_GRADUAL_IDEAL_CONF (6 steps)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--port-dir", type=Path)
    ap.add_argument("--tf-python", help="the interpreter that has TensorFlow and the port's dependencies")
    ap.add_argument("set_dir", nargs="?", type=Path)
    ap.add_argument("out_json", nargs="?", type=Path)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker, gradual=a.gradual, seed=a.seed)
        return
    if a.end_to_end_table:
        end_to_end_table(a.end_to_end_table)
        return
    if a.table:
        print_table(a.table)
        return
    if a.end_to_end:
        if not (a.json and a.port_dir and a.tf_python):
            ap.error("--end-to-end needs --json, --port-dir and --tf-python")
        end_to_end(a.end_to_end, a.json, a.port_dir, a.tf_python, a.seed)
        return
    if not (a.set_dir and a.out_json and a.names and a.port_dir and a.tf_python):
        ap.error("give SET_DIR OUT_JSON NAME... --port-dir and --tf-python")

    from zssr_deploy.evaluate import score_image
    from zssr_deploy.files import write_bytes_atomic
    from zssr_deploy.io import read_image

    results = json.loads(a.out_json.read_text()) if a.out_json.exists() else {}
    for name in a.names:
        if name in results:
            continue
        hr = read_image(next(a.set_dir.glob(name + ".*"))).pixels
        log: dict = {}
        s = score_image(hr, 2, released_upscaler(a.port_dir, a.tf_python, a.gradual, a.seed, log), "rgb", name)
        results[name] = {"psnr_y": s.psnr_y, "ssim_y": s.ssim_y, "seconds": s.seconds, **log}
        print(f"{name}: {s.psnr_y:.2f} / {s.ssim_y:.4f}  {log['steps']}  {s.seconds:.0f} s", flush=True)
        # atomic: a killed run keeps the finished images
        write_bytes_atomic(a.out_json, json.dumps(results, indent=1).encode(), overwrite=True)
    print(f"mean of {len(results)}: {np.mean([r['psnr_y'] for r in results.values()]):.3f} / "
          f"{np.mean([r['ssim_y'] for r in results.values()]):.4f}")


if __name__ == "__main__":
    main()
