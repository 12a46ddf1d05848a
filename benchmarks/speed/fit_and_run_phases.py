"""Where the wall time of a default ``fit-and-run`` goes: kernel, training, export, inference and write, with
a cold export cache and again with a warm one (the graph kept from the first run, only the weights written),
on one image; the ``lscpu`` model is recorded.

    python benchmarks/speed/fit_and_run_phases.py DATA/Set5/bird.png \\
        --json benchmarks/results/phases_bird_x2/phases_bird_x2.json

The input follows ``evaluate``'s rgb protocol (mod-crop, MATLAB bicubic to LR, 8-bit); the HR image is --gt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402

from zssr_deploy.api import upscale_image  # noqa: E402
from zssr_deploy.files import write_bytes_atomic  # noqa: E402
from zssr_deploy.io import read_image, write_image  # noqa: E402
from zssr_deploy.metrics import mod_crop, rgb_protocol_lr  # noqa: E402
from zssr_deploy.trainers.config import build_config  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ZSSR_DEPLOY_CACHE"] = str(Path(tmp) / "cache")  # cold, then warm
        hr = mod_crop(read_image(args.hr).pixels, args.scale)
        write_image(Path(tmp) / "hr.png", hr)
        write_image(Path(tmp) / "lr.png", rgb_protocol_lr(hr, args.scale))
        for run in ("cold cache", "warm cache"):
            t0 = time.perf_counter()
            r = upscale_image(Path(tmp) / "lr.png", Path(tmp) / f"{run}.png", build_config("ideal", args.scale),
                              gt_path=Path(tmp) / "hr.png")
            rows[run] = {"phases_s": r.phases, "wall_s": round(time.perf_counter() - t0, 2), "psnr": round(r.psnr, 3),
                         "iterations": r.iterations, "precision": r.precision, "export_cached": r.export_cached}
            print(run, rows[run], flush=True)
    result = {"cpu": cpu_model(), "image": args.hr.name, "scale": args.scale, "runs": rows}
    write_bytes_atomic(args.json, (json.dumps(result, indent=1) + "\n").encode(), overwrite=True)
    print(f"on {result['cpu']}")


if __name__ == "__main__":
    main()
