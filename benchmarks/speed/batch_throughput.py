"""Batch throughput side by side in one run: the same folder through ``fit-and-run`` with ``--jobs 1`` (all
cores in one fit), ``--jobs 2`` (two 1-thread fits) and ``--cluster ray`` (a local Ray instance this script
starts: 2 CPUs, two 1-CPU tasks). Images per hour, the ratio, the PSNR of each run against the sequential
one, and Ray's overhead per image; the ``lscpu`` model is recorded.

    python benchmarks/speed/batch_throughput.py DATA/Set14 \\
        --json benchmarks/results/batch_set14_x2/batch_set14_x2.json [--resume]

The LR inputs follow ``evaluate``'s rgb protocol (mod-crop, MATLAB bicubic, 8-bit), with the mod-cropped HR as
``--gt``; they go to benchmarks/batch/ (ignored by git). ``--resume`` keeps the modes already measured; a mode
cut short is measured again from scratch (a wall time must come from one uninterrupted run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402

from zssr_deploy.files import write_bytes_atomic  # noqa: E402
from zssr_deploy.io import read_image, write_image  # noqa: E402
from zssr_deploy.metrics import mod_crop, rgb_protocol_lr  # noqa: E402

WORK = Path(__file__).parent / "batch"
BIN = Path(sys.executable).parent
MODES = {"jobs1": [], "jobs2": ["--jobs", "2"], "ray": ["--cluster", "ray"]}


def prepare(hr_dir: Path, limit: int | None, scale: int) -> list[str]:
    names = []
    for path in sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in (".png", ".bmp", ".jpg"))[:limit]:
        hr = mod_crop(read_image(path).pixels, scale)
        for folder, img in (("hr", hr), ("lr", rgb_protocol_lr(hr, scale))):
            (WORK / folder).mkdir(parents=True, exist_ok=True)
            write_image(WORK / folder / f"{path.stem}.png", img, overwrite=True)
        names.append(path.stem)
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_mode(mode: str, scale: int) -> dict:
    out = WORK / f"out_{mode}"
    shutil.rmtree(out, ignore_errors=True)  # a wall time from one uninterrupted run only
    cmd = [str(BIN / "zssr-deploy"), "fit-and-run", str(WORK / "lr"), "-o", str(out), "--scale", str(scale),
           "--gt", str(WORK / "hr"), *MODES[mode]]
    env = None
    if mode == "ray":
        port = free_port()
        subprocess.run([str(BIN / "ray"), "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1",
                        "--port", str(port), "--include-dashboard", "false", "--disable-usage-stats"],
                       check=True, capture_output=True)
        env = {**__import__("os").environ, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    try:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env)
        wall = time.perf_counter() - t0
    finally:
        if mode == "ray":
            subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True)
    recs = [json.loads(x) for x in (out / "zssr-manifest.jsonl").read_text().splitlines()]
    done = {r["image"]: r for r in recs if r["status"] == "done"}
    return {"wall_s": round(wall, 1), "images": {k: {"psnr": v["psnr"], "seconds": v["seconds"]} for k, v in done.items()}}


def report(res: dict) -> None:
    base = res["modes"].get("jobs1")
    for mode, r in res["modes"].items():
        n = len(r["images"])
        line = f"{mode:6s} {n} images in {r['wall_s']:.0f} s: {3600 * n / r['wall_s']:.1f} images/hour"
        line += f", mean Y-PSNR {np.mean([v['psnr'] for v in r['images'].values()]):.3f}"
        if base and mode != "jobs1":
            diff = max(abs(v["psnr"] - base["images"][k]["psnr"]) for k, v in r["images"].items())
            line += f"; x{base['wall_s'] / r['wall_s']:.2f} the throughput of jobs1, max |PSNR diff| {diff:.4f} dB"
        print(line)
    if "ray" in res["modes"] and "jobs2" in res["modes"]:
        ray, j2 = res["modes"]["ray"], res["modes"]["jobs2"]
        print(f"Ray overhead over --jobs 2: {(ray['wall_s'] - j2['wall_s']) / len(ray['images']):.1f} s per image")
    print(f"on {res['cpu']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr_dir", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="Only the first N images (sorted by name).")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--modes", default="jobs1,jobs2,ray")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    res = json.loads(args.json.read_text()) if args.resume and args.json.exists() else {}
    names = prepare(args.hr_dir, args.limit, args.scale)
    if res.get("images") != names:
        res = {"cpu": cpu_model(), "images": names, "scale": args.scale, "modes": {}}
    for mode in args.modes.split(","):
        if mode not in res["modes"]:
            res["modes"][mode] = run_mode(mode, args.scale)
            write_bytes_atomic(args.json, (json.dumps(res, indent=1) + "\n").encode(), overwrite=True)
    report(res)


if __name__ == "__main__":
    main()
