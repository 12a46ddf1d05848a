"""How wide each used estimate of a fresh-set factor is along its worst direction, against the true kernel
(``width_error_sources.worst_direction`` over ``measured_rows``: the rows that used an estimate and whose true kernel
beats the assumption, in x2-kernel units as ``cap_at_x4.py``), and the rows that lost against the bicubic assumption
or pass 1.6; results files and true kernels only (no fit).

    python benchmarks/blind_sr/fresh_widths.py [--scale 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from width_error_sources import covariance, measured_rows, worst_direction  # noqa: E402
from width_vs_share import FRESH  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=4)
    args = ap.parse_args()
    widths = []
    for r in measured_rows({"fresh": ("estimate",)}, scale=args.scale, halves=(FRESH,)):
        w = worst_direction(covariance(r["used"], r["angle"]), r["true_cov"])
        widths.append(w)
        if r["gain"] < -0.005 or w > 1.6:
            used, true = r["used"], np.linalg.eigvalsh(r["true_cov"])[::-1]
            print(f"s{r['seed']} {r['name']}: {r['gain']:+.2f} dB; used {used[0]:.2f} / {used[1]:.2f} at {r['angle']:.0f} "
                  f"deg, true {true[0]:.2f} / {true[1]:.2f}; worst direction {w:.2f} times too wide")
    ws = np.array(widths)
    print(f"{len(ws)} used estimates: worst direction / truth median {np.median(ws):.2f}, max {ws.max():.2f}; "
          f"past 1.85: {int((ws > 1.85).sum())}, past 2.0: {int((ws > 2.0).sum())}")


if __name__ == "__main__":
    main()
