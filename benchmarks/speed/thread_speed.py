"""Training speed by OpenMP thread count, for planning CPU benchmark runs.

    python benchmarks/speed/thread_speed.py [--sides 80 160] [--iters 100]

For each image side (a crop of the bundled astronaut photo, default preset, no final inference) three fits run,
each in its own process because OpenMP reads its settings at start: 1 thread, 2 threads, and 2 threads with
``OMP_WAIT_POLICY=PASSIVE`` (what a background run beside other work uses). Prints milliseconds per iteration
(start-up included) and the gain two one-thread runs side by side would have over one two-thread run,
*computed* from those rates (it assumes the two runs do not slow each other down).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

MODES = (("1 thread", {"OMP_NUM_THREADS": "1"}), ("2 threads", {"OMP_NUM_THREADS": "2"}),
         ("2 threads, passive", {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}))


def one_fit(side: int, iters: int) -> None:
    import numpy as np

    from zssr_deploy.samples import load_sample
    from zssr_deploy.trainers.config import ZSSRConfig
    from zssr_deploy.trainers.fitting import fit

    img = load_sample("astronaut")[:side, :side].astype(np.float32)
    t = time.perf_counter()
    fit(img, ZSSRConfig(max_iters=iters, seed=0, precision="fp32"), final_inference=False)
    print((time.perf_counter() - t) / iters * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sides", type=int, nargs="+", default=[80, 160])
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        one_fit(args.child, args.iters)
        return
    for side in args.sides:
        ms = {}
        for name, env in MODES:
            out = subprocess.run([sys.executable, __file__, "--child", str(side), "--iters", str(args.iters)],
                                 env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
            ms[name] = float(out.split()[-1])
            print(f"side {side:4d}  {name:18s} {ms[name]:7.1f} ms/it", flush=True)
        gain = (2 / ms["1 thread"]) / (1 / ms["2 threads"]) - 1
        print(f"side {side:4d}  two 1-thread runs vs one 2-thread run (computed): {gain:+.0%}")


if __name__ == "__main__":
    main()
