"""How wide each used estimate of a fresh-set factor is along its worst direction, against the true kernel
(``width_error_sources.worst_direction``, in x2-kernel units as ``cap_at_x4.py``), and the rows that lost against the
bicubic assumption or pass 1.6; results files and true kernels only (no fit).

    python benchmarks/blind_sr/fresh_widths.py [--scale 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import x2_covariance  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_table import scores  # noqa: E402
from width_error_sources import covariance, worst_direction  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=4)
    args = ap.parse_args()
    widths = []
    for seed in (11, 12):
        base = ROOT / "benchmarks" / "results" / "corpus_fresh" / f"corpus_fresh_x{args.scale}_s{seed}"
        none, est = scores(Path(f"{base}_none.json")), scores(Path(f"{base}_estimate.json"))
        for name, e in sorted(est.items()):
            k = e["fit"]["kernel"]
            if k["source"] != "estimated":
                continue
            g = k["gaussian"]
            used = g.get("used_variances") or g["variances"]
            truth = np.load(ROOT / "benchmarks" / "blind" / "corpus" / "fresh" / f"x{args.scale}_s{seed}" / f"{name}.kernel.npy")
            true_cov = x2_covariance(truth, args.scale)
            w = worst_direction(covariance(used, g["angle"]), true_cov)
            widths.append(w)
            gain = e["psnr_y"] - none[name]["psnr_y"]
            if gain < -0.005 or w > 1.6:
                print(f"s{seed} {name}: {gain:+.2f} dB; used {used[0]:.2f} / {used[1]:.2f} at {g['angle']:.0f} deg, "
                      f"true {' / '.join(f'{v:.2f}' for v in np.linalg.eigvalsh(true_cov)[::-1])}; "
                      f"worst direction {w:.2f} times too wide")
    ws = np.array(widths)
    print(f"{len(ws)} used estimates: worst direction / truth median {np.median(ws):.2f}, max {ws.max():.2f}; "
          f"past 1.85: {int((ws > 1.85).sum())}, past 2.0: {int((ws > 2.0).sum())}")


if __name__ == "__main__":
    main()
