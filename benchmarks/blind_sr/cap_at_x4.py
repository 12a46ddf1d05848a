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
from common import covariance_xy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from width_error_sources import covariance, spread_model, width_points, worst_direction  # noqa: E402
from width_vs_share import load  # noqa: E402

CAP = 1.75  # RecurrenceConfig.max_variance at a4002a7


def x4_rows() -> list[dict]:
    """The test half's x4 estimate rows that used an estimate and whose true kernel beats the assumption."""
    out = []
    for seed in (11, 12):
        base = str(ROOT / "benchmarks" / "results" / "corpus_test" / f"corpus_test_x4_s{seed}")
        none, true = load(base, "none"), load(base, "true")
        for name, e in load(base, "estimate").items():
            kernel = e["fit"]["kernel"]
            gap = true[name]["psnr_y"] - none[name]["psnr_y"]
            if kernel["source"] != "estimated" or gap <= 0:
                continue
            g = kernel["gaussian"]
            truth = np.load(ROOT / "benchmarks" / "blind" / "corpus" / "test" / f"x4_s{seed}" / f"{name}.kernel.npy")
            out.append({"name": name, "seed": seed, "used": g["used_variances"], "angle": g["angle"], "gap": gap,
                        "true_cov": covariance_xy(truth) / 5.0, "gain": e["psnr_y"] - none[name]["psnr_y"]})
    return out


def design_kernels(centres: list[float], means: list[float]) -> None:
    ratios: dict[str, list[float]] = {"narrowed": [], "capped": []}
    spreads: dict[str, list[float]] = {"narrowed": [], "capped": []}
    for seed in (11, 12):
        path = ROOT / "benchmarks" / "results" / "corpus_design" / f"kernels_design_x4_s{seed}_recurrence.json"
        for name, r in json.loads(path.read_text())["images"].items():
            g = r.get("gaussian")
            if not r["used"] or not g:
                continue
            truth = np.load(ROOT / "benchmarks" / "blind" / "corpus" / "design" / f"x4_s{seed}" / f"{name}.kernel.npy")
            true_cov = covariance_xy(truth) / 5.0
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
    rows = x4_rows()
    centres, means = spread_model(*width_points())
    gaps = np.array([r["gap"] for r in rows])
    print(f"{len(rows)} x4 rows (test half, rule 7a8c8c3) that used an estimate, by the worst direction's width:")
    print("| seed | image | used variances | true variances (x2 units) | worst / truth | capped | gain (dB) |")
    print("|---|---|---|---|---|---|---|")
    predicted = {}
    for label, cap in (("frozen rule", None), (f"cap {CAP}", CAP)):
        ratio = []
        for r in rows:
            used = r["used"] if cap is None else [min(v, cap) for v in r["used"]]
            r[label] = worst_direction(covariance(used, r["angle"]), r["true_cov"])
            ratio.append(sum(used) / np.trace(r["true_cov"]))
        predicted[label] = float((np.interp(ratio, centres, means) * gaps).sum() / gaps.sum())
    for r in sorted(rows, key=lambda r: r["frozen rule"]):
        true_var = np.linalg.eigvalsh(r["true_cov"])[::-1]
        print(f"| {r['seed']} | {r['name']} | {r['used'][0]:.2f} / {r['used'][1]:.2f} | {true_var[0]:.2f} / "
              f"{true_var[1]:.2f} | {r['frozen rule']:.2f} | {r[f'cap {CAP}']:.2f} | {r['gain']:+.2f} |")
    measured = sum(r["gain"] for r in rows) / gaps.sum()
    changed = sum(max(r["used"]) > CAP for r in rows)
    print(f"\nmeasured share on these rows {100 * measured:.0f} %; the x2 model predicts {100 * predicted['frozen rule']:.0f} % "
          f"at the frozen rule's widths and {100 * predicted[f'cap {CAP}']:.0f} % under the cap ({changed} of {len(rows)} "
          f"rows capped); rows past 2.0 in some direction: {sum(r['frozen rule'] > 2.0 for r in rows)} before the cap, "
          f"{sum(r[f'cap {CAP}'] > 2.0 for r in rows)} after")
    design_kernels(centres, means)


if __name__ == "__main__":
    main()
