"""Would the two estimators together give a better or safer estimate than patch recurrence alone? (issue 31,
item 3; design half, x2, kernel only). The candidates were written down before KernelGAN's design-half estimates
were read:

A. the rule (patch recurrence: the narrowed Gaussian, each variance capped at 1.75; a4002a7);
B. KernelGAN alone (its x2 kernel as estimated, averaged over its two runs);
C. the narrower of the two: the rule's Gaussian with both variances scaled by min(1, KernelGAN's spread / the
   narrowed Gaussian's), then the cap (when KernelGAN sees a narrower kernel, believe it: a kernel too narrow
   costs little);
D. agreement as a gate: the rule's estimate where the two spreads agree within a factor of 2 (the halves test's
   bound), else the bicubic assumption.

Per candidate over the design half's image-seeds whose true kernel beats the assumption: the share predicted by
the spread model of ``width_error_sources.py`` (the measured corpus fits' mean share per used / true spread
class; a gated row counts 0), and how many used kernels are more than 1.85 and 2.0 times too wide along their
worst direction (fits lost from 2.06 on). The recurrence rows are the design half's measured fits (rule 665504f,
the narrowed Gaussian: the cap is applied here as a4002a7 does).

    python benchmarks/blind_sr/kernel_estimation.py benchmarks/blind/corpus/design/x2_s11 --method kernelgan \\
        --json benchmarks/results/corpus_design/kernels_design_x2_s11_kernelgan.json --resume     # and s12
    python benchmarks/blind_sr/two_estimators.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import covariance_xy  # noqa: E402

from zssr_deploy.blind.config import RecurrenceConfig  # noqa: E402
from zssr_deploy.blind.recurrence import _capped  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from width_error_sources import ADOPTED_ROWS, covariance, measured_rows, spread_model, width_points, worst_direction  # noqa: E402

#: the rule's per-axis cap (a4002a7's default)
CAP = RecurrenceConfig().max_variance
GATE = 2.0


def kernelgan(seed: int) -> dict:
    """KernelGAN's design-half x2 estimates of one kernel seed: name -> the x2 kernel (None where it kept bicubic)."""
    path = ROOT / "benchmarks" / "results" / "corpus_design" / f"kernels_design_x2_s{seed}_kernelgan.json"
    rows = json.loads(path.read_text())["images"] if path.exists() else {}
    return {name: np.array(r["x2_kernel"]) if r["used"] else None for name, r in rows.items()}


def main() -> None:
    centres, means = spread_model(*width_points())
    rows = [r for r in measured_rows(ADOPTED_ROWS) if r["half"] == "design"]
    gans = {seed: kernelgan(seed) for seed in (11, 12)}
    table = {k: [] for k in "ABCD"}  # per candidate: the used kernel's covariance, or None (bicubic kept)
    done, missing = [], 0
    for r in rows:
        if r["name"] not in gans[r["seed"]]:
            missing += 1
            continue
        g = gans[r["seed"]][r["name"]]
        rule = covariance(_capped(r["used"], CAP), r["angle"])
        table["A"].append(rule)
        gan = covariance_xy(g) if g is not None else None
        table["B"].append(gan)
        factor = 1.0 if gan is None else min(1.0, np.trace(gan) / sum(r["used"]))
        table["C"].append(covariance(_capped([v * factor for v in r["used"]], CAP), r["angle"]))
        agree = gan is not None and max(np.trace(gan), sum(r["used"])) / min(np.trace(gan), sum(r["used"])) <= GATE
        table["D"].append(rule if agree else None)
        done.append(r)
    print(
        f"{len(done)} design image-seeds (x2, true kernel above the assumption) with both estimates; "
        f"{missing} without KernelGAN's yet"
    )
    print(
        "| candidate | predicted share | kept bicubic | used / true spread, median "
        "| worst direction: median, max | past 1.85 | past 2.0 |"
    )
    print("|---|---|---|---|---|---|---|")
    for key, covs in table.items():
        ratio = np.array([np.trace(c) / r["true"] if c is not None else np.nan for c, r in zip(covs, done)])
        worst = np.array([worst_direction(c, r["true_cov"]) if c is not None else np.nan for c, r in zip(covs, done)])
        pred = np.where(np.isnan(ratio), 0.0, np.interp(np.nan_to_num(ratio), centres, means))
        used = ~np.isnan(ratio)
        print(
            f"| {key} | {pred.mean():.2f} | {(~used).sum()} | {np.median(ratio[used]):.2f} | {np.median(worst[used]):.2f}, "
            f"{worst[used].max():.2f} | {(worst[used] > 1.85).sum()} | {(worst[used] > 2.0).sum()} |"
        )


if __name__ == "__main__":
    main()
