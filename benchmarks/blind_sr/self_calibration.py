"""Can the image tell its own width error? A kernel-only experiment on the corpus's development data (x2).

    python benchmarks/blind_sr/self_calibration.py --json benchmarks/results/corpus_design/self_calibration_x2.json --resume

The estimator's width error is mostly the photo's own (``width_error_sources.py``: the two kernel seeds of a photo
err alike). A photo's departure from scale invariance should show again one octave down, where the kernel is
known: degrade the LR image ``y`` once more with its own best Gaussian ``k`` (x2, the recipe's degradation), then
estimate the kernel of that smaller image. A scale-invariant photo gives ``k`` back; the ratio of the two
spreads, ``r2 = spread(estimate of y2) / spread(k)``, is the photo's offset measured where the truth is known
(a parametric bootstrap of the estimator's bias). Printed: Spearman correlation of ``log r2`` with the real
error ``log(spread(k) / true spread)`` per half, and the error left after dividing by ``r2 ** w`` for a few ``w``.

Reads the best Gaussians from the adopted rules' result files (``width_vs_share.HALVES``) and the corpus's LR
images and true kernels; runs the estimator (current code) once per image-seed, on one thread. Deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_table import copies  # noqa: E402
from width_vs_share import HALVES, load  # noqa: E402

from zssr_deploy.blind.config import RecurrenceConfig  # noqa: E402
from zssr_deploy.blind.recurrence import fit_recurrence_kernel, gaussian_kernel  # noqa: E402
from zssr_deploy.imageops.degrade import degrade  # noqa: E402
from zssr_deploy.io import read_image  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import spread  # noqa: E402


def cases() -> list[dict]:
    """Per development image-seed: where its LR image and true kernel are, and its best Gaussian."""
    out, dropped = [], copies()
    for half, folder, est in HALVES:
        for seed in (11, 12):
            rows = load(str(ROOT / "benchmarks" / "results" / folder / f"{folder}_x2_s{seed}"), est)
            for name, e in sorted(rows.items()):
                g = e["fit"]["kernel"].get("gaussian") or {}
                if name in dropped or not g.get("variances") or g.get("at_widest"):
                    continue
                folder_lr = ROOT / "benchmarks" / "blind" / "corpus" / half / f"x2_s{seed}"
                out.append({"key": f"{half}/s{seed}/{name}", "half": half, "lr": str(folder_lr / f"{name}.png"),
                            "kernel": str(folder_lr / f"{name}.kernel.npy"), "best": g["variances"], "angle": g["angle"]})
    return out


def measure(case: dict) -> dict:
    y = read_image(case["lr"]).pixels
    h, w = (s - s % 2 for s in y.shape[:2])
    k = gaussian_kernel(*case["best"], case["angle"], RecurrenceConfig().size)
    y2 = np.clip(degrade(y[:h, :w], k, 2), 0.0, 1.0).astype(np.float32)
    t0 = time.perf_counter()
    _, facts = fit_recurrence_kernel(y2)
    return {"half": case["half"], "best": sum(case["best"]), "true": spread(np.load(case["kernel"])),
            "second": sum(facts["variances"]), "second_at_widest": facts["at_widest"],
            "seconds": round(time.perf_counter() - t0, 2)}


def report(results: dict) -> None:
    half = np.array([r["half"] for r in results.values()])
    err = np.log([r["best"] / r["true"] for r in results.values()])
    r2 = np.log([r["second"] / r["best"] for r in results.values()])
    print(f"{len(err)} image-seeds; log r2 median {np.median(r2):+.2f}, sd {np.std(r2):.2f}")
    print("| half | n | Spearman(log r2, error) | error sd | left after / r2^0.5 | / r2^1 |\n|---|---|---|---|---|---|")
    for h in ("design", "test", None):
        m = np.ones_like(err, bool) if h is None else half == h
        rho = spearmanr(r2[m], err[m])[0]
        cells = [f"{np.std(err[m] - wt * (r2[m] - np.median(r2))):.2f}" for wt in (0.5, 1.0)]
        print(f"| {h or 'both'} | {m.sum()} | {rho:+.2f} | {np.std(err[m]):.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = json.loads(args.json.read_text()) if args.resume and args.json.exists() else {}
    for case in cases():
        if case["key"] not in results:
            results[case["key"]] = measure(case)
            print(case["key"], results[case["key"]], flush=True)
            tmp = args.json.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=1))
            tmp.replace(args.json)
    report(results)


if __name__ == "__main__":
    main()
