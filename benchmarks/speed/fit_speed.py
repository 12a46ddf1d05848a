"""Fitting speed: the fp32-eager baseline against a fast mode, on the same image and seed, in one run.

    python benchmarks/speed/fit_speed.py DATA/Set5/bird.png [--scale 2] [--fast bf16] [--max-iters N]

The HR image is mod-cropped and downscaled with MATLAB bicubic (8-bit LR, the RGB protocol); each mode fits
ZSSR with the default preset and the result is scored on Y. Prints iterations per second, seconds per fit,
the speed ratio and the Y-PSNR of each mode. ``--max-iters`` bounds both fits (for a quick look).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from zssr_deploy.evaluate import score_image
from zssr_deploy.io import read_image
from zssr_deploy.models.device import bf16_supported, resolve_device
from zssr_deploy.trainers import PRESETS, fit


def run(hr: np.ndarray, scale: int, precision: str, max_iters: int | None, device: str) -> dict:
    cfg = PRESETS["ideal"].with_scale(float(scale)).replace(precision=precision, device=device)
    if max_iters:
        cfg = cfg.replace(max_iters=max_iters)
    info: dict = {}

    def upscale(lr: np.ndarray, s: float) -> np.ndarray:
        t = time.perf_counter()
        res = fit(lr, cfg)
        info["seconds"] = time.perf_counter() - t
        info["train_seconds"] = sum(st.seconds for st in res.steps)
        info["iterations"] = sum(st.iterations for st in res.steps)
        return res.output

    score = score_image(hr, scale, upscale, "rgb")
    info["psnr"] = score.psnr_y
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hr", help="an HR image (e.g. DATA/Set5/bird.png)")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--fast", default="bf16", choices=["bf16", "fp32"], help="precision of the fast mode")
    ap.add_argument("--max-iters", type=int, default=None)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    dev = resolve_device(args.device)
    print(f"device {dev}, {torch.get_num_threads()} threads, native bf16: {bf16_supported(dev)}")
    hr = read_image(args.hr).pixels.astype(np.float64)
    base = run(hr, args.scale, "fp32", args.max_iters, args.device)
    fast = run(hr, args.scale, args.fast, args.max_iters, args.device)
    for name, r in (("fp32 eager", base), (args.fast, fast)):
        print(f"{name:10s} {r['iterations']:5d} it  {r['iterations'] / r['train_seconds']:6.2f} it/s  "
              f"{r['seconds']:7.1f} s/fit  Y-PSNR {r['psnr']:.2f}")
    print(f"speed ratio (fit seconds) {base['seconds'] / fast['seconds']:.2f}x, "
          f"Y-PSNR difference {fast['psnr'] - base['psnr']:+.3f} dB")


if __name__ == "__main__":
    main()
