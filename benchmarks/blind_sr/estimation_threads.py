"""Kernel estimation (KernelGAN, two runs) on one LR image at several torch thread counts, one after the other in
one process: seconds per count, the ratio to the first, and whether the kernels are equal (``lscpu`` model printed).

    cd benchmarks && python estimation_threads.py blind/dev_x2_s1/coffee.png --threads 1 2 --side-by-side

KernelGAN's steps are small (64x64 crops through a 13x13 kernel, a 26x26 crop through a 7x7-receptive-field
discriminator), so extra threads may cost more in synchronisation than they save.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402

from zssr_deploy.blind.config import KernelEstimationConfig
from zssr_deploy.blind.estimate import estimate_kernel
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.io import read_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iters", type=int, default=None, help="KernelGAN steps per run (default: the authors' 3000)")
    ap.add_argument("--side-by-side", action="store_true", help="add the default mode: two 1-thread runs at once")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    img = read_image(args.image).pixels
    cfg = KernelEstimationConfig(method="kernelgan", threads=None)  # None: keeps the thread count set here
    if args.iters is not None:
        cfg = dataclasses.replace(cfg, gan=dataclasses.replace(cfg.gan, iterations=args.iters))
    rows, first = [], None
    modes = [(f"{n} thread(s), runs one after the other", n, cfg) for n in args.threads]
    if args.side_by_side:  # the estimator's default: 1 thread per run, runs in parallel threads when there are 2
        modes.append(("2 threads, two 1-thread runs side by side", 2, dataclasses.replace(cfg, threads=1)))
    for label, n, c in modes:
        torch.set_num_threads(n)
        t0 = time.perf_counter()
        est = estimate_kernel(img, 2.0, c)
        dt = time.perf_counter() - t0
        first = est.x2_kernel if first is None else first
        rows.append({"mode": label, "seconds": round(dt, 1),
                     "same_kernel_as_first": bool(np.array_equal(est.x2_kernel, first))})
        print(rows[-1], flush=True)
    base = rows[0]["seconds"]
    print(f"{cpu_model()}: " + "; ".join(f"{r['mode']}: {r['seconds']} s ({r['seconds'] / base:.2f}x"
                                         f"{', same kernel' if r['same_kernel_as_first'] else ''})" for r in rows))
    if args.json:
        write_bytes_atomic(Path(args.json), (json.dumps({"cpu": cpu_model(), "image": args.image, "rows": rows},
                                                        indent=1) + "\n").encode(), overwrite=True)


if __name__ == "__main__":
    main()
