"""Where Set5 + Set14's share went under the width cap (x2): per image, the true kernel's spread (trace of its
second moments, HR pixels squared), the best Gaussian's (before the rule), the narrowing factor (the confidence)
and the cap's factor the rule applied, the used kernel's spread, its width along its worst direction against the
truth (``width_error_sources.worst_direction``), and the share of the true kernel's gain it
recovered; beside it the same image under the best Gaussian (rule 4d6f3fb, its bf16 rows ``recurrence``, read
against the bf16 none/true rows). Results files and true kernels only (no fit).

    python benchmarks/blind_sr/sets_widths.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zssr_deploy.blind.datasets import true_kernel

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import x2_covariance  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blind_table import load  # noqa: E402
from width_error_sources import covariance, worst_direction  # noqa: E402

SETS = ("set5", "set14")


def share(est: dict, none: dict, true: dict) -> float:
    """The estimate's gain over the bicubic assumption as a share of the true kernel's."""
    return (est["psnr_y"] - none["psnr_y"]) / (true["psnr_y"] - none["psnr_y"])


def main() -> None:
    print(
        "| image | true spread | best Gaussian's spread | narrowing | cap | used spread "
        "| used / true, worst direction | share (cap, fp32) "
        "| best Gaussian's share (bf16) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    cap_shares, best_shares, capped, facts = [], [], [], []
    for s in SETS:
        prefix = ROOT / "benchmarks" / "results" / f"blind_{s}_x2" / f"blind_{s}_x2"
        rows = {
            r: load(Path(f"{prefix}_{r}.json")) for r in ("none_fp32", "true_fp32", "axiscap_fp32", "none", "true", "recurrence")
        }
        for name, e in rows["axiscap_fp32"].items():
            g = e["fit"]["kernel"]["gaussian"]
            truth = x2_covariance(true_kernel(ROOT / "benchmarks" / "blind" / f"{s}_x2", name), 2)
            used = covariance(g["used_variances"], g["angle"])
            worst = worst_direction(used, truth)
            c = share(e, rows["none_fp32"][name], rows["true_fp32"][name])
            cap_shares.append(c)
            capped.append(g["cap"] < 0.995)
            facts.append((np.trace(truth), sum(g["variances"]) / np.trace(truth), g["confidence"], worst))
            b = rows["recurrence"].get(name)
            best = "-"
            if b:
                bg = b["fit"]["kernel"]["gaussian"]
                best_shares.append(share(b, rows["none"][name], rows["true"][name]))
                assert np.isclose(sum(bg["variances"]), sum(g["variances"]), rtol=0.03), name  # the same search
                best = f"{best_shares[-1]:.0%}"
            print(
                f"| {name} | {np.trace(truth):.2f} | {sum(g['variances']):.2f} | {g['confidence']:.2f} | {g['cap']:.2f} "
                f"| {np.trace(used):.2f} "
                f"| {worst:.2f} | {c:.0%} | {best} |"
            )
    print(
        f"\nmean of per-image shares: the cap {np.mean(cap_shares):.0%} ({len(cap_shares)} images), "
        f"the best Gaussian {np.mean(best_shares):.0%} ({len(best_shares)} images)"
    )
    t, ratio, conf, worsts = np.array(facts).T
    print(
        f"true spreads {t.min():.1f}-{t.max():.1f}; best Gaussian / true spread {ratio.min():.2f}-{ratio.max():.2f} "
        f"(median {np.median(ratio):.2f}); narrowing {conf.min():.2f}-{conf.max():.2f}; "
        f"used / true along the worst direction {worsts.min():.2f}-{worsts.max():.2f} (median {np.median(worsts):.2f})"
    )
    if len(best_shares) == len(cap_shares):
        c, b, m = np.array(cap_shares), np.array(best_shares), np.array(capped)
        for label, mask in (("the cap bound", m), ("narrowing alone", ~m)):
            print(f"{label}: {mask.sum()} images, the rule {c[mask].mean():.0%}, the best Gaussian {b[mask].mean():.0%}")


if __name__ == "__main__":
    main()
