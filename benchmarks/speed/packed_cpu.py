"""Packed fits against the same fits one after another, on the CPU, side by side in one process (one thread):
training seconds of each and the largest pixel difference. The packed fit is for GPUs, where one fit leaves the
device idle; this says what it costs or saves on a CPU, where the default stays the lone fit.

    python benchmarks/speed/packed_cpu.py [--images 3] [--iters 200] [--side 128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from zssr_deploy.samples import load_sample
from zssr_deploy.trainers import build_config, fit, plan_fit
from zssr_deploy.trainers.packed import fit_packed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--side", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(1)
    photo = load_sample("astronaut")
    s = args.side
    crops = [np.ascontiguousarray(photo[i * 40 : i * 40 + s, i * 50 : i * 50 + s]) for i in range(args.images)]
    cfg = build_config("ideal", 2, device="cpu").replace(max_iters=args.iters, precision="fp32")
    plans = [plan_fit(c, cfg.replace(seed=i)) for i, c in enumerate(crops)]
    t0 = time.perf_counter()
    lone = [fit(p.image, p.config) for p in plans]
    t_lone = time.perf_counter() - t0
    t0 = time.perf_counter()
    packed = fit_packed(plans)
    t_packed = time.perf_counter() - t0
    # the floor of "the same fit": the lone fits again with two threads (oneDNN sums in another order)
    torch.set_num_threads(2)
    again = [fit(p.image, p.config) for p in plans]

    def agreement(xs: list, ys: list) -> str:
        return ", ".join(f"{psnr(a.output, b.output):.1f} dB" for a, b in zip(xs, ys))

    same_schedule = all([s.iterations for s in a.steps] == [s.iterations for s in b.steps] for a, b in zip(lone, packed))
    print(f"{cpu_model()}, 1 thread, {args.images} images {s}x{s}, {args.iters} iterations each (fp32): "
          f"one after another {t_lone:.1f} s, packed {t_packed:.1f} s (packed/lone {t_packed / t_lone:.2f})")
    print(f"packed against lone (PSNR between the outputs): {agreement(packed, lone)}; same iteration counts: "
          f"{same_schedule}")
    print(f"lone with 2 threads against lone with 1 (the same fit summed in another order): {agreement(again, lone)}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


if __name__ == "__main__":
    main()
