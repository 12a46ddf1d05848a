"""The network in half precision at final inference (``fit-and-run --fp16``) against float32, on one fit per
image: Y-PSNR of the float32 pipeline (torch), the half-precision network (torch: bfloat16 on the CPU, float16
with ``--provider cuda``), and the
exported float32 and float16 graphs through ONNX Runtime (the float16 one is what the CUDA provider runs; on a
CPU, ONNX Runtime's own float16 kernels stand in for the GPU's). Resumable, one image per line of JSON.

    python benchmarks/quality/half_precision.py DATA/Set5 --json benchmarks/results/half_precision/set5_x2.json [--resume]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from zssr_deploy.exporters import export_pipeline
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.io import read_image
from zssr_deploy.metrics import mod_crop, rgb_protocol_lr, score_output
from zssr_deploy.runtime import ZSSRModel
from zssr_deploy.trainers import ZSSRConfig, fit
from zssr_deploy.trainers.fitting import run_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402


def one_image(hr_path: Path, threads: int, provider: str) -> dict:
    torch.set_num_threads(threads)
    hr = mod_crop(read_image(hr_path).pixels, 2)
    lr = rgb_protocol_lr(hr, 2)
    t0 = time.perf_counter()
    device = "cuda" if provider == "cuda" else "cpu"
    result = fit(lr, ZSSRConfig(device=device), final_inference=False)
    row = {"image": hr_path.stem, "fit_seconds": round(time.perf_counter() - t0, 1)}
    outputs = {"torch_fp32": run_pipeline(result.pipeline, lr, device),
               "torch_half": run_pipeline(result.pipeline.half_for(device), lr, device)}
    with tempfile.TemporaryDirectory() as d:
        for name, pipe in (("onnx_fp32", result.pipeline), ("onnx_fp16", result.pipeline.half_for("cuda"))):
            path = export_pipeline(pipe, Path(d) / f"{name}.onnx")
            outputs[name] = ZSSRModel(path, provider=provider, threads=threads).run(lr)
    for name, sr in outputs.items():
        row[name] = round(float(score_output(sr, hr, 2)[0]), 4)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr_dir", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--provider", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: fit on the GPU, the torch half row in float16, the graphs through the CUDA provider")
    args = ap.parse_args()
    done = json.loads(args.json.read_text()) if args.resume and args.json.exists() else {"cpu": cpu_model(), "rows": []}
    seen = {r["image"] for r in done["rows"]}
    for hr_path in sorted(args.hr_dir.glob("*.png")):
        if hr_path.stem in seen:
            continue
        row = one_image(hr_path, args.threads, args.provider)
        print(row, flush=True)
        done["rows"].append(row)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(args.json, (json.dumps(done, indent=1) + "\n").encode(), overwrite=True)
    rows = done["rows"]
    for name in ("torch_half", "onnx_fp32", "onnx_fp16"):
        change = [r[name] - r["torch_fp32"] for r in rows]
        print(f"{name}: mean Y-PSNR change against the float32 pipeline {np.mean(change):+.4f} dB "
              f"(range {min(change):+.4f} to {max(change):+.4f}, {len(rows)} images)")


if __name__ == "__main__":
    main()
