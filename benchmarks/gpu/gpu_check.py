"""The GPU check of issue 32, in one command: every acceptance number beside the baseline measured on an H200 at
8e47ef8 (2026-12-04), written as JSON. Under 6 minutes on one H100/H200; on a CPU machine ``--quick`` runs the
same steps small, to check the script itself.

    python benchmarks/gpu/gpu_check.py --data DATA --json benchmarks/results/gpu/gpu_check_<gpu>_<date>.json
    python benchmarks/gpu/gpu_check.py --quick --json /tmp/gpu_check.json        # a CPU machine: the script works

``DATA`` holds Set5/ and Set14/ (bird x2 end to end, Set14 x2 as one folder command); without it the bundled
astronaut photo stands in for bird and Set14 is skipped. Steps, each timed wall-clock in this process:

1. ``fit-and-run`` default x2 of bird (rgb protocol LR), end to end, ONNX engine, its graph in the export cache:
   seconds, the phases it reports (training, export, inference, write) and Y-PSNR; the first export of that
   graph apart (a 10-iteration run on the empty cache before it); then the same with ``--cuda-graphs``
   (experimental: its seconds, phases and Y-PSNR, or the error it met).
2. ``fit-and-run`` of the Set14 x2 LR folder, one command (packed, the GPU default): seconds and mean Y-PSNR,
   beside the same fits one at a time (``--pack 1 --jobs 14``, the baseline's 14 processes).
3. ONNX Runtime (CUDA if there, else CPU) on a 1024^2 and a 2048^2 LR image, whole (no --tile): seconds, or
   the error (the baseline: 0.49 s; a cuDNN crash at 2048^2).
   The same with ``fit --fp16``'s float16 graph (the target: 1024^2 in 0.15 s).
4. 2048^2 in the planner's tiles: one tile shape (the GPU default now) and up to nine (as at the baseline) under
   cuDNN's EXHAUSTIVE algorithm search, one shape under HEURISTIC; twice each (the second run has every shape's
   algorithm chosen): seconds per tile against step 3's whole image. Then fit-and-run's inference phase apart
   per search: a new session, its first pass on bird's LR image, a second pass.
5. Set5 x2: the Y-PSNR change of the float16 graph and the float16 torch network against float32 (one fit per
   image on the GPU; the target: at most 0.02 dB). Skipped with ``--quick``.
6. Where a fit iteration's time goes (``fit_profile.py``, on step 1's LR image), eager and with
   ``--cuda-graphs``: wall and device-busy time, launches, copies and synchronisations per iteration, the
   costliest host operators, distinct father shapes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "gpu"))
from common import cpu_model  # noqa: E402

BASELINE = {"bird_x2_end_to_end_s": 22.0, "set14_x2_folder_s": 36.1, "ort_1024_s": 0.485, "ort_2048_s": None}


def _cli(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "import sys; from zssr_deploy.cli import main; sys.argv[0] = 'zssr-deploy'; main()",
                        *args], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"zssr-deploy {' '.join(args)} failed: {r.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - t0, r.stdout


def _gpu_name() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "none"


def _ort_provider() -> str:
    """The ONNX Runtime provider the ORT steps time: CUDA where this ONNX Runtime has it, else the CPU."""
    from zssr_deploy.runtime import available_providers

    return "cuda" if "CUDAExecutionProvider" in available_providers() else "cpu"


def _lr_of(hr_path: Path, out: Path) -> Path:
    from zssr_deploy.io import read_image, write_image
    from zssr_deploy.metrics import rgb_protocol_lr

    write_image(out, rgb_protocol_lr(read_image(hr_path).pixels, 2), overwrite=True)
    return out


def _phases(stdout: str) -> dict:
    """fit-and-run's closing ``time:`` line as numbers: training, export, inference, write, total (seconds)."""
    m = re.search(r"^time: (.*); total ([0-9.]+) s", stdout, re.M)
    if not m:
        return {}
    return {**{k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+) s", m.group(1))}, "total": float(m.group(2))}


def _fit_and_run_bird(tmp: Path, hr_path: Path, name: str, extra: list[str]) -> dict:
    from zssr_deploy.io import read_image
    from zssr_deploy.metrics import mod_crop, score_output

    seconds, stdout = _cli("fit-and-run", str(tmp / "bird_lr.png"), "-o", str(tmp / name), "--overwrite", "-q", *extra)
    hr = mod_crop(read_image(hr_path).pixels, 2)
    psnr = score_output(read_image(tmp / name).pixels, hr, 2)[0]
    return {"seconds": round(seconds, 2), "psnr_y": round(float(psnr), 2), "phases": _phases(stdout)}


def fit_bird(data: Path | None, tmp: Path, quick: bool) -> dict:
    """A default ``fit-and-run`` end to end (process start to file written) with the graph already in the export
    cache, as every run after a machine's first; before it, a 10-iteration run on an empty cache times the first
    export of that graph (the one-time cost, reported apart)."""
    from zssr_deploy.io import write_image
    from zssr_deploy.samples import load_sample

    hr_path = data / "Set5" / "bird.png" if data else tmp / "astronaut.png"
    if not data:
        write_image(hr_path, load_sample("astronaut", 96 if quick else 288), overwrite=True)
    _lr_of(hr_path, tmp / "bird_lr.png")
    extra = ["--max-iters", "20", "--provider", "cpu"] if quick else []
    cold = _fit_and_run_bird(tmp, hr_path, "bird_cold.png", ["--max-iters", "10", *extra[2:]])
    row = _fit_and_run_bird(tmp, hr_path, "bird_sr.png", extra)
    return {"image": hr_path.name, **row, "first_export_s": cold["phases"].get("export"),
            "first_run_10_iterations_s": cold["seconds"]}


def fit_bird_graphed(data: Path | None, tmp: Path, quick: bool) -> dict:
    """Step 1 again with ``--cuda-graphs`` (the graph cached): seconds, phases and Y-PSNR, or the error (the
    recording has not met a GPU)."""
    hr_path = data / "Set5" / "bird.png" if data else tmp / "astronaut.png"
    extra = ["--max-iters", "20", "--provider", "cpu"] if quick else []
    try:
        return _fit_and_run_bird(tmp, hr_path, "bird_graphed.png", ["--cuda-graphs", *extra])
    except RuntimeError as exc:
        return {"error": str(exc)[-500:]}


def _mean_psnr(sr_dir: Path, hr_dir: Path, names: list[str]) -> float:
    from zssr_deploy.io import read_image
    from zssr_deploy.metrics import mod_crop, score_output

    return float(np.mean([score_output(read_image(sr_dir / n).pixels, mod_crop(read_image(hr_dir / n).pixels, 2), 2)[0]
                          for n in names]))


def fit_set14(data: Path | None, tmp: Path, quick: bool) -> dict | None:
    """The folder as one command (packed: the default on a GPU), then the same fits one at a time (``--pack 1``,
    as 14 processes side by side: the baseline's way) for the PSNR comparison."""
    if not data or not (data / "Set14").is_dir():
        return None
    lr_dir = tmp / "set14_lr"
    lr_dir.mkdir(exist_ok=True)
    names = [p.name for p in sorted((data / "Set14").glob("*.png"))[: 2 if quick else None]]
    for n in names:
        _lr_of(data / "Set14" / n, lr_dir / n)
    extra = ["--max-iters", "20", "--provider", "cpu", "--pack", "2"] if quick else []
    packed_s, _ = _cli("fit-and-run", str(lr_dir), "-o", str(tmp / "set14_packed"), "--overwrite", "-q", *extra)
    lone = ["--max-iters", "20", "--provider", "cpu"] if quick else ["--jobs", str(len(names)), "--threads", "16"]
    lone_s, _ = _cli("fit-and-run", str(lr_dir), "-o", str(tmp / "set14_lone"), "--overwrite", "-q", "--pack", "1", *lone)
    packed_psnr = _mean_psnr(tmp / "set14_packed", data / "Set14", names)
    lone_psnr = _mean_psnr(tmp / "set14_lone", data / "Set14", names)
    return {"images": len(names), "seconds": round(packed_s, 2), "psnr_y": round(packed_psnr, 3),
            "lone_seconds": round(lone_s, 2), "lone_psnr_y": round(lone_psnr, 3),
            "psnr_change": round(packed_psnr - lone_psnr, 3)}


def ort_whole(model_path: Path, sides: list[int]) -> list[dict]:
    from zssr_deploy.runtime import ZSSRModel

    provider = _ort_provider()
    model = ZSSRModel(model_path, provider=provider)
    rows = []
    for side in sides:
        img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
        row = {"side": side, "provider": provider, "tile": model.auto_tile((side, side))}
        try:
            model.run(img[:64, :64])  # warm up: session, allocator, algorithm search
            t0 = time.perf_counter()
            out = model.run(img)
            row.update(seconds=round(time.perf_counter() - t0, 3), output=list(out.shape))
        except Exception as exc:  # a provider's failure is the finding
            row["error"] = str(exc).splitlines()[0][:300]
        rows.append(row)
    return rows


def ort_tiles(model_path: Path, side: int, tile: int | None) -> list[dict]:
    """A ``side``^2 image in tiles (the planner's, or ``tile``) under each cuDNN algorithm search: seconds in all
    and per tile, to find why 2048^2 tiles ran 7x slower each than a 1024^2 image whole (per-shape search?)."""
    from zssr_deploy.runtime import ZSSRModel

    provider = _ort_provider()
    img = np.random.default_rng(1).random((side, side, 3), dtype=np.float32)
    rows = []
    # EXHAUSTIVE with the GPU's one-shape tiles, the same with up to nine shapes (as before), HEURISTIC one-shape
    runs = [("EXHAUSTIVE", True), ("EXHAUSTIVE", False), ("HEURISTIC", True)] if provider == "cuda" else [("EXHAUSTIVE", None)]
    for search, uniform in runs:
        model = ZSSRModel(model_path, provider=provider, conv_search=search)
        if uniform is not None:
            model.uniform_tiles = uniform
        t = tile or model.auto_tile((side, side)) or side
        tiles: list[int] = []
        t0 = time.perf_counter()
        model.run_tiled(img, t, lambda done, total, seen=tiles: seen.append(total))
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.run_tiled(img, t)  # again: every shape's algorithm now chosen
        again = time.perf_counter() - t0
        n = tiles[-1] if tiles else 1
        rows.append({"side": side, "tile": t, "tiles": n, "conv_search": search, "one_shape": model.uniform_tiles,
                     "provider": provider,
                     "seconds": round(seconds, 3), "per_tile_s": round(seconds / n, 4),
                     "second_run_s": round(again, 3)})
    return rows


def ort_first_image(model_path: Path, lr_path: Path) -> list[dict]:
    """fit-and-run's inference phase taken apart, per cuDNN algorithm search: a new session on a graph, its first
    pass on step 1's LR image (the search runs here), a second pass. For one small image the search may cost more
    than it saves (the baseline's inference phase: 1.4-1.9 s for a 144x144 bird)."""
    from zssr_deploy.io import read_image
    from zssr_deploy.runtime import ZSSRModel
    from zssr_deploy.runtime.session import CONV_SEARCHES

    provider = _ort_provider()
    img = read_image(lr_path).pixels
    rows = []
    for search in CONV_SEARCHES if provider == "cuda" else ("EXHAUSTIVE",):
        t0 = time.perf_counter()
        model = ZSSRModel(model_path, provider=provider, conv_search=search)
        t1 = time.perf_counter()
        model.run(img)
        t2 = time.perf_counter()
        model.run(img)
        t3 = time.perf_counter()
        rows.append({"conv_search": search, "provider": provider, "session_s": round(t1 - t0, 3),
                     "first_pass_s": round(t2 - t1, 3), "second_pass_s": round(t3 - t2, 3)})
    return rows


def set5_half(data: Path | None, quick: bool) -> list[str] | None:
    """Y-PSNR change of the float16 graph (CUDA provider) and the float16 torch network against float32 on Set5
    (``benchmarks/quality/half_precision.py``; the acceptance: at most 0.02 dB)."""
    if not data or not (data / "Set5").is_dir() or quick:
        return None

    provider = _ort_provider()
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality" / "half_precision.py"), str(data / "Set5"),
                            "--json", str(Path(d) / "half.json"), "--provider", provider, "--threads", "4"],
                           capture_output=True, text=True, cwd=ROOT)
    return [line for line in r.stdout.splitlines() if "mean Y-PSNR change" in line] or [r.stderr.strip()[-300:]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="folder with Set5/ and Set14/")
    ap.add_argument("--json", required=True)
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the script on a CPU machine")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    result = {"gpu": _gpu_name(), "cpu": cpu_model(), "commit": commit, "date": time.strftime("%Y-%m-%d"),
              "quick": args.quick, "baseline": BASELINE}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # an export cache of this run's own, empty at the start: the first export is timed (fit_bird); it goes
        # with the temporary folder, so the steps after this block use the user's cache again
        os.environ["ZSSR_DEPLOY_CACHE"] = str(tmp / "graphs")
        result["bird_x2"] = fit_bird(args.data, tmp, args.quick)
        print("bird x2 end to end:", result["bird_x2"], "baseline", BASELINE["bird_x2_end_to_end_s"], "s", flush=True)
        result["bird_x2_cuda_graphs"] = fit_bird_graphed(args.data, tmp, args.quick)
        print("bird x2 end to end, --cuda-graphs:", result["bird_x2_cuda_graphs"], flush=True)
        result["set14_x2"] = fit_set14(args.data, tmp, args.quick)
        print("Set14 x2 one command:", result["set14_x2"], "baseline", BASELINE["set14_x2_folder_s"], "s", flush=True)
        _cli("fit", str(tmp / "bird_lr.png"), "-o", str(tmp / "m.onnx"), "--max-iters", "10", "--overwrite", "-q")
        _cli("fit", str(tmp / "bird_lr.png"), "-o", str(tmp / "m16.onnx"), "--max-iters", "10", "--overwrite", "-q",
             "--fp16")
        sides = [128, 256] if args.quick else [1024, 2048]
        result["ort_whole"] = ort_whole(tmp / "m.onnx", sides)
        result["ort_whole_fp16"] = ort_whole(tmp / "m16.onnx", sides)
        for row in result["ort_whole"] + result["ort_whole_fp16"]:
            print("ORT whole image:", row, flush=True)
        result["ort_tiles"] = ort_tiles(tmp / "m.onnx", 256 if args.quick else 2048, 96 if args.quick else None)
        for row in result["ort_tiles"]:
            print("ORT tiles:", row, flush=True)
        result["ort_first_image"] = ort_first_image(tmp / "m.onnx", tmp / "bird_lr.png")
        for row in result["ort_first_image"]:
            print("ORT, a new session's first image:", row, flush=True)
        from fit_profile import profile_fit

        from zssr_deploy.io import read_image

        lr = read_image(tmp / "bird_lr.png").pixels
        for key, graphs in (("fit_profile", False), ("fit_profile_cuda_graphs", True)):
            try:
                result[key] = profile_fit(lr, 40 if args.quick else 300, cuda_graphs=graphs)
            except Exception as exc:  # the graphed fit has never run on a GPU: its failure is a finding too
                result[key] = {"error": f"{type(exc).__name__}: {exc}"[-500:]}
            print(f"fit iteration profile{' (--cuda-graphs)' if graphs else ''}:",
                  {k: v for k, v in result[key].items() if k != "top_host_ops_ms_per_iteration"}, flush=True)
    os.environ.pop("ZSSR_DEPLOY_CACHE")  # its folder is gone: a later export would make it again in /tmp
    result["set5_half"] = set5_half(args.data, args.quick)
    print("Set5 x2, half precision against float32:", result["set5_half"], flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
