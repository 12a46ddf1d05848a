"""How wide the used estimates are against the true kernels, and what share of the true kernel's gain each width
class recovers, on the corpus's x2 rows (design half: the adopted rule's rows; test half: the frozen rule's;
fresh set: the per-axis cap's, a4002a7).

    python benchmarks/blind_sr/width_vs_share.py

Reads the result files under ``benchmarks/results/corpus_{design,test,fresh}/`` and the true kernels the corpus script
wrote (``benchmarks/blind/corpus/HALF/x2_sSEED/NAME.kernel.npy``). "used/true": the trace of the estimate's used
second moments (after the narrowing rule) over the true kernel's; "best/true": the same for the best Gaussian
before the narrowing. Share: the estimate's gain over assuming bicubic divided by the true kernel's. Kernel PSNR
is not used: it hardly sees a too-wide kernel (``common.spread``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import spread  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_table import scores  # noqa: E402

# (half, result folder, the estimate row judged there): the development halves, which the width scripts design on
HALVES = (("design", "corpus_design", "wide"), ("test", "corpus_test", "estimate"))
#: the fresh set under the per-axis cap (a4002a7): judged only, so it is shown beside the halves here and kept out of
#: ``HALVES``, which the design scripts (width_error_sources, width_features, self_calibration) read
FRESH = ("fresh", "corpus_fresh", "estimate")
CLASSES = ((0.0, 0.6), (0.6, 0.8), (0.8, 1.0), (1.0, 99.0))


def load(base: str, row: str) -> dict:
    """One row's images by name, from its file and any ``_partN`` siblings."""
    return scores(Path(f"{base}_{row}.json"))


def rows_of(half: str, folder: str, est: str) -> list[dict]:
    rows = []
    for seed in (11, 12):
        base = str(ROOT / "benchmarks" / "results" / folder / f"{folder}_x2_s{seed}")
        e_rows, none, true = load(base, est), load(base, "none"), load(base, "true")
        for name, e in e_rows.items():
            k = e["fit"]["kernel"]
            g = k.get("gaussian") or {}
            truth = spread(np.load(ROOT / "benchmarks" / "blind" / "corpus" / half / f"x2_s{seed}" / f"{name}.kernel.npy"))
            used = g.get("used_variances") if k["source"] == "estimated" else None
            rows.append({"half": half, "seed": seed, "name": name, "assumed": none[name]["psnr_y"],
                         "used": sum(used) / truth if used else None,
                         "best": sum(g["variances"]) / truth if g.get("variances") else None,
                         "gain": e["psnr_y"] - none[name]["psnr_y"], "gap": true[name]["psnr_y"] - none[name]["psnr_y"]})
    return rows


def main() -> None:
    for half, folder, est in (*HALVES, FRESH):
        rows = [r for r in rows_of(half, folder, est) if r["used"] is not None and r["gap"] > 0]
        used = np.array([r["used"] for r in rows])
        best = np.array([r["best"] for r in rows])
        share = np.array([r["gain"] / r["gap"] for r in rows])
        print(f"{half}: {len(rows)} image-seeds with a used estimate and a true kernel above the assumption; "
              f"used/true median {np.median(used):.2f} [{used.min():.2f}, {used.max():.2f}], "
              f"best/true median {np.median(best):.2f}; share median {np.median(share):.2f}")
        for lo, hi in CLASSES:
            m = (used >= lo) & (used < hi)
            if m.any():
                print(f"  used/true in [{lo:.1f}, {hi:.1f}): {m.sum():2d}, mean share {share[m].mean():+.2f}, "
                      f"best/true median {np.median(best[m]):.2f}")
        for r in rows:
            if r["gain"] < 0.5:
                print(f"  gain under 0.5 dB: s{r['seed']} {r['name']}: used/true {r['used']:.2f}, best/true "
                      f"{r['best']:.2f}, gain {r['gain']:+.2f} of {r['gap']:.2f} dB, assumed {r['assumed']:.1f} dB")


if __name__ == "__main__":
    main()
