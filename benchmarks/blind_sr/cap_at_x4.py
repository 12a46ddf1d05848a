"""What the per-axis width cap (a4002a7, chosen on x2 development data) is predicted to do at x4, written down
before the fresh set's x4 runs.

    python benchmarks/blind_sr/cap_at_x4.py

Development data only: the test half's x4 rows under the frozen rule (7a8c8c3, read 2026-12-05), the only x4 corpus
rows measured. At x4 the estimate is the x2 Gaussian composed with itself, and so is the true kernel
(``degrade``'s recipe): composing adds the kernel's covariance to four times itself, so both x4 kernels are five
times their x2 kernels' covariance and every ratio below is the same in x2 or x4 units. The cap clips each used x2
variance to 1.75 (keeping the angle), as the rule does before composing.

Printed per estimate row that used an estimate: the used kernel's width along its worst direction over the
truth's (``width_error_sources.worst_direction``) before and after the cap, and the measured gain over assuming
bicubic; then the share of the gap predicted by the x2 share-vs-spread model (``width_error_sources``, section 2:
each row's gain = the model's share at its used / true spread times its gap; the acceptance's share of the gap on
the mean), at the frozen rule's widths (the model's check against the measured share) and under the cap.

Then the fast signal on the design half, which never ran x4 fits: its kernel-only x4 estimates (the rule at
a4002a7; ``kernel_estimation.py DESIGN/x4_sSEED --scale 4 --method recurrence``, which records the Gaussian's
facts), the narrowed (uncapped) and the used (capped) Gaussian against the truth along the worst direction.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import x2_covariance  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_table import copies  # noqa: E402
from width_error_sources import covariance, measured_rows, spread_model, width_points, worst_direction  # noqa: E402
from width_vs_share import load  # noqa: E402

CAP = 1.75  # RecurrenceConfig.max_variance at a4002a7
#: the two rules compared: the frozen rule's used variances, and the same clipped to the cap
RULES = (("frozen", None), ("capped", CAP))


def all_rows_total() -> tuple[int, float, float]:
    """The test half's x4 estimate rows, every image-seed (copies aside, as in ``measured_rows``): how many, their
    summed gain over the bicubic assumption and their summed gap (the acceptance's share of the gap on the mean)."""
    n, gain, gap, dropped = 0, 0.0, 0.0, copies()
    for seed in (11, 12):
        base = str(ROOT / "benchmarks" / "results" / "corpus_test" / f"corpus_test_x4_s{seed}")
        none, true = load(base, "none"), load(base, "true")
        for name, e in load(base, "estimate").items():
            if name not in dropped:
                n, gain, gap = n + 1, gain + e["psnr_y"] - none[name]["psnr_y"], gap + true[name]["psnr_y"] - none[name]["psnr_y"]
    return n, gain, gap


def design_kernels(centres: list[float], means: list[float]) -> None:
    ratios: dict[str, list[float]] = {"narrowed": [], "capped": []}
    spreads: dict[str, list[float]] = {"narrowed": [], "capped": []}
    for seed in (11, 12):
        path = ROOT / "benchmarks" / "results" / "corpus_design" / f"kernels_design_x4_s{seed}_recurrence.json"
        for name, r in json.loads(path.read_text())["images"].items():
            g = r.get("gaussian")
            if not r["used"] or not g:
                continue
            true_cov = x2_covariance(np.load(ROOT / "benchmarks" / "blind" / "corpus" / "design" / f"x4_s{seed}" /
                                             f"{name}.kernel.npy"), 4)
            narrowed = [v * g["confidence"] for v in g["variances"]]
            for label, used in (("narrowed", narrowed), ("capped", g["used_variances"])):
                ratios[label].append(worst_direction(covariance(used, g["angle"]), true_cov))
                spreads[label].append(sum(used) / np.trace(true_cov))
    n, c = np.array(ratios["narrowed"]), np.array(ratios["capped"])
    print(f"design half, kernel only ({len(n)} x4 estimates used): worst direction / truth median {np.median(n):.2f} "
          f"(widest {n.max():.2f}, past 2.0: {(n > 2.0).sum()}) narrowed; under the cap median {np.median(c):.2f} "
          f"(widest {c.max():.2f}); {(c < n - 1e-9).sum()} of {len(n)} capped; the x2 model's mean share (no gaps "
          f"without fits: unweighted) {np.interp(spreads['narrowed'], centres, means).mean():.2f} narrowed, "
          f"{np.interp(spreads['capped'], centres, means).mean():.2f} capped")


def main() -> None:
    rows = measured_rows({"test": ("estimate",)}, scale=4)  # the x4 rows that used an estimate, gap above 0
    centres, means = spread_model(*width_points())
    print(f"{len(rows)} x4 rows (test half, rule 7a8c8c3) that used an estimate, by the worst direction's width:")
    print("| seed | image | used variances | true variances (x2 units) | worst / truth | capped | gain (dB) |")
    print("|---|---|---|---|---|---|---|")
    gains = {}  # the model's summed gain over these rows, per rule
    for label, cap in RULES:
        ratio = []
        for r in rows:
            used = r["used"] if cap is None else [min(v, cap) for v in r["used"]]
            r[label] = worst_direction(covariance(used, r["angle"]), r["true_cov"])
            ratio.append(sum(used) / r["true"])
        gains[label] = float((np.interp(ratio, centres, means) * [r["gap"] for r in rows]).sum())
    for r in sorted(rows, key=lambda r: r["frozen"]):
        true_var = np.linalg.eigvalsh(r["true_cov"])[::-1]
        print(f"| {r['seed']} | {r['name']} | {r['used'][0]:.2f} / {r['used'][1]:.2f} | {true_var[0]:.2f} / "
              f"{true_var[1]:.2f} | {r['frozen']:.2f} | {r['capped']:.2f} | {r['gain']:+.2f} |")
    gap, gain = sum(r["gap"] for r in rows), sum(r["gain"] for r in rows)
    print(f"\nmeasured share on these rows {100 * gain / gap:.0f} %; the x2 model predicts {100 * gains['frozen'] / gap:.0f} % "
          f"at the frozen rule's widths and {100 * gains['capped'] / gap:.0f} % under the cap "
          f"({sum(max(r['used']) > CAP for r in rows)} of {len(rows)} rows capped); rows past 2.0 in some direction: "
          f"{sum(r['frozen'] > 2.0 for r in rows)} before the cap, {sum(r['capped'] > 2.0 for r in rows)} after")
    # every image-seed: the rows above take the model's gains, the others (bicubic kept, or no gap) their measured ones
    n, gain_all, gap_all = all_rows_total()
    model = {label: (gain_all - gain + g) / gap_all for label, g in gains.items()}
    print(f"all {n} x4 image-seeds: measured {100 * gain_all / gap_all:.0f} %; the model {100 * model['frozen']:.0f} % "
          f"at the frozen widths and {100 * model['capped']:.0f} % under the cap; the measured share scaled by the "
          f"model's ratio (capped / frozen) {100 * gain_all / gap_all * model['capped'] / model['frozen']:.0f} %")
    design_kernels(centres, means)


if __name__ == "__main__":
    main()
