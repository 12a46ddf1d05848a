"""Does anything the estimator knows predict how wrong its width is? Spearman correlations, per half and over both,
between log(best Gaussian's spread / true spread) on the corpus's x2 rows and what the estimate reports: its
band-pass detail, confidence, criterion against the bicubic kernel's, anisotropy and own size.

    python benchmarks/blind_sr/width_features.py

Development data only: the design half and the test half (read 2026-12-05; no longer held out). A feature whose
correlation flips sign between the halves predicts nothing a rule can use.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from width_vs_share import HALVES, ROOT, load, rows_of  # noqa: E402

FEATURES = {
    "detail": lambda k, g: k["detail"],
    "confidence": lambda k, g: k["confidence"],
    "log criterion / bicubic's": lambda k, g: np.log(g["criterion"] / g["bicubic_criterion"]),
    "log anisotropy": lambda k, g: np.log(g["variances"][0] / g["variances"][1]),
    "log own spread": lambda k, g: np.log(sum(g["variances"])),
}


def main() -> None:
    halves, error, values = [], [], {f: [] for f in FEATURES}
    for half, folder, est in HALVES:
        fits = {seed: load(str(ROOT / "benchmarks" / "results" / folder / f"{folder}_x2_s{seed}"), est) for seed in (11, 12)}
        for r in rows_of(half, folder, est):
            if r["best"] is None:
                continue
            k = fits[r["seed"]][r["name"]]["fit"]["kernel"]
            halves.append(half)
            error.append(np.log(r["best"]))
            for f, get in FEATURES.items():
                values[f].append(get(k, k["gaussian"]))
    h, e = np.array(halves), np.array(error)
    print(f"{len(e)} image-seeds; Spearman correlation with log(best / true spread):")
    print("| feature | design | test | both |\n|---|---|---|---|")
    for f, v in values.items():
        x = np.array(v)
        cells = [spearmanr(x[h == half], e[h == half])[0] for half in ("design", "test")] + [spearmanr(x, e)[0]]
        print(f"| {f} | " + " | ".join(f"{c:+.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
