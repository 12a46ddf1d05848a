"""The blind-SR tables of docs/benchmarks/blind.md from the result files of one or more sets: bicubic interpolation,
ZSSR assuming bicubic, ZSSR with the true kernel, ZSSR with the estimated kernel, the estimate's kernel PSNR,
and the share of the "assume bicubic" to "true kernel" gap that the estimate recovers (images present in all
three ZSSR files only), and the estimation's seconds against the fit's; with several sets, the same summary
over all their images.

    python benchmarks/blind_sr/blind_table.py benchmarks/results/blind_set5_x2/blind_set5_x2 benchmarks/blind/set5_x2 \\
        [benchmarks/results/blind_set14_x2/blind_set14_x2 benchmarks/blind/set14_x2 ...] [--compare NAME]

``--estimate NAME`` takes the estimated-kernel row from ``PREFIX_NAME.json`` (default ``estimate``: KernelGAN's;
``recurrence``: the patch-recurrence estimator's). ``--kernels JSON ...`` (files of ``kernel_estimation.py``, x2)
recomputes the kernel PSNR column from the estimates kept there, with today's ``kernel_psnr``.

``--rows SUFFIX`` takes the bicubic-assumption and true-kernel rows from ``PREFIX_none_SUFFIX.json`` and
``PREFIX_true_SUFFIX.json``: rows trained apart from the sets' bf16 rows, such as the fp32 rows of
``sets_fp32_queue.sh`` (``--rows fp32 --estimate axiscap_fp32``).

``--compare NAME`` adds a fourth ZSSR row read from ``PREFIX_NAME.json`` (for example ``others``: every image given
one kernel, ``perturbed_kernels.py others-mean``), set against the estimated-kernel row image by image, with its own
share of the gap and worst image.

An image's ZSSR rows must share one training precision (``fit.precision``), as in ``corpus_table.py``: the script
stops on an image whose rows mix bf16 and fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from zssr_deploy.blind.datasets import true_kernel
from zssr_deploy.blind.estimate import kernel_psnr
from zssr_deploy.imageops.kernels import bicubic_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_table import precision  # noqa: E402

ROWS = ("bicubic", "none", "true", "estimate")


def load(path: Path) -> dict:
    """The images of a result file and of its ``_part2``, ``_part3``... siblings (one set run on several cores)."""
    rows = {}
    for p in [path, *sorted(path.parent.glob(f"{path.stem}_part*.json"))]:
        if p.exists():
            rows.update({i["name"]: i for i in json.loads(p.read_text())["images"]})
    return rows


def row_file(prefix: str, row: str, estimate: str = "estimate", suffix: str = "") -> Path:
    """The result file of one row: ``PREFIX_ESTIMATE.json`` for the estimate, ``PREFIX_ROW_SUFFIX.json`` for the
    none/true rows given a ``suffix`` (rows trained apart from the bf16 ones, e.g. ``fp32``), else ``PREFIX_ROW.json``."""
    if row == "estimate":
        return Path(f"{prefix}_{estimate}.json")
    return Path(f"{prefix}_{row}_{suffix}.json" if suffix and row in ("none", "true") else f"{prefix}_{row}.json")


def table(prefix: str, lr_dir: str, scale: float, estimate: str = "estimate",
          kernels: dict[str, np.ndarray] | None = None, suffix: str = "") -> list[dict]:
    """Print one set's table, the estimated-kernel row from ``PREFIX_ESTIMATE.json`` (the none/true rows from
    ``PREFIX_ROW_SUFFIX.json`` given a ``suffix``) and kernel PSNR recomputed from the x2 ``kernels`` given by name;
    return its rows (PSNRs and seconds per image)."""
    kernels = kernels or {}
    rows = {k: load(row_file(prefix, k, estimate, suffix)) for k in ROWS}
    names = [n for n in rows["true"] if n in rows["none"] and n in rows["estimate"]]
    print("| image | bicubic interp. | ZSSR, bicubic assumed | ZSSR, true kernel | ZSSR, estimated kernel | "
          "kernel PSNR (est. / bicubic) | runs agree (dB) | estimation s | fit s (est. row) |")
    print("|---|---|---|---|---|---|---|---|---|")
    out = []
    for n in names:
        v = {k: rows[k][n]["psnr_y"] for k in ROWS if n in rows[k]}
        precision(n, [rows[k][n] for k in ("none", "true", "estimate")])  # one training precision, or stop
        fit = rows["estimate"][n]["fit"]
        kern = fit["kernel"]
        bic_kp = kernel_psnr(bicubic_kernel(scale), true_kernel(lr_dir, n), scale)
        used = "" if kern["source"] == "estimated" else " (bicubic kept)"
        kp = kern.get("kernel_psnr", float("nan"))
        if n in kernels and scale == 2:
            kp = kernel_psnr(kernels[n], true_kernel(lr_dir, n), scale)
        agree = "-" if kern.get("method") == "recurrence" else f"{kern.get('agreement_db', float('nan')):.1f}"
        print(f"| {n} | {v.get('bicubic', float('nan')):.2f} | {v['none']:.2f} | {v['true']:.2f} | {v['estimate']:.2f}{used} | "
              f"{kp:.2f} / {bic_kp:.2f} | {agree} | {kern['seconds']:.0f} | {fit['fit_seconds']:.0f} |")
        out.append({**v, "name": n, "est_s": kern["seconds"], "fit_s": fit["fit_seconds"],
                    "used": kern["source"] == "estimated"})
    if out:
        m = {k: sum(r.get(k, 0.0) for r in out) / len(out) for k in ROWS}
        print(f"| **mean ({len(out)})** | {m['bicubic']:.2f} | {m['none']:.2f} | {m['true']:.2f} | {m['estimate']:.2f} | | | | |")
    return out


def summary(rows: list[dict]) -> None:
    """The acceptance numbers over ``rows``: gap recovered, worst image, estimation against fit seconds."""
    m = {k: sum(r[k] for r in rows) / len(rows) for k in ("none", "true", "estimate")}
    share = (m["estimate"] - m["none"]) / (m["true"] - m["none"]) if m["true"] != m["none"] else float("nan")
    worst = min(rows, key=lambda r: r["estimate"] - r["none"])
    print(f"\n{len(rows)} images: assumed {m['none']:.2f}, true {m['true']:.2f}, estimated {m['estimate']:.2f}; "
          f"gap true - assumed {m['true'] - m['none']:+.2f} dB, the estimate recovers {share:.0%} of it; worst image "
          f"against its bicubic-assumption result: {worst['name']} {worst['estimate'] - worst['none']:+.2f} dB")
    below = [r for r in rows if r["estimate"] < r["none"]]
    print(f"below their bicubic-assumption result: {len(below)} of {len(rows)} images, "
          f"{sum(r['estimate'] < r['none'] - 0.2 for r in below)} by more than 0.2 dB")
    est_s, fit_s = sum(r["est_s"] for r in rows), sum(r["fit_s"] for r in rows)
    print(f"estimation {est_s:.0f} s against {fit_s:.0f} s of fitting in all ({est_s / fit_s:.2f}); longest ratio on "
          f"one image {max(r['est_s'] / r['fit_s'] for r in rows):.2f}; estimate used on "
          f"{sum(r['used'] for r in rows)}/{len(rows)} images")


def compare(prefixes: list[str], name: str, rows: list[dict], est: str = "estimate") -> None:
    """The ``name`` row beside the estimated-kernel row, per image and over the images both have."""
    other: dict[str, float] = {}
    for prefix in prefixes:
        other.update({n: r["psnr_y"] for n, r in load(Path(f"{prefix}_{name}.json")).items()})
    both = [r for r in rows if r["name"] in other]
    if not both:
        print(f"\nno {name} results")
        return
    print(f"\n**{est} against {name}**\n")
    print(f"| image | ZSSR, bicubic assumed | ZSSR, true kernel | ZSSR, {est} | ZSSR, {name} | {est} - {name} |")
    print("|---|---|---|---|---|---|")
    for r in both:
        print(f"| {r['name']} | {r['none']:.2f} | {r['true']:.2f} | {r['estimate']:.2f} | {other[r['name']]:.2f} | "
              f"{r['estimate'] - other[r['name']]:+.2f} |")
    m = {k: sum(r[k] for r in both) / len(both) for k in ("none", "true", "estimate")}
    mo = sum(other[r["name"]] for r in both) / len(both)
    worst = min(both, key=lambda r: other[r["name"]] - r["none"])
    print(f"\n{len(both)} images: {est} {m['estimate']:.2f} ({(m['estimate'] - m['none']) / (m['true'] - m['none']):.0%} "
          f"of the gap), {name} {mo:.2f} ({(mo - m['none']) / (m['true'] - m['none']):.0%}); {est} scores higher on "
          f"{sum(r['estimate'] > other[r['name']] for r in both)}/{len(both)} images; {name}'s worst image against its "
          f"bicubic-assumption result: {worst['name']} {other[worst['name']] - worst['none']:+.2f} dB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", metavar="PREFIX LR_DIR",
                    help="pairs: result prefix (reads _bicubic, _none, _true, _estimate) and its LR folder")
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--compare", metavar="NAME", help="also the ZSSR row of PREFIX_NAME.json, beside the estimate")
    ap.add_argument("--estimate", default="estimate", metavar="NAME", help="the estimated-kernel row's PREFIX_NAME.json")
    ap.add_argument("--rows", default="", metavar="SUFFIX",
                    help="the none/true rows from PREFIX_none_SUFFIX.json and PREFIX_true_SUFFIX.json (e.g. fp32)")
    ap.add_argument("--kernels", nargs="+", default=[], metavar="JSON", help="x2 estimates to recompute kernel PSNR from")
    args = ap.parse_args()
    kernels: dict[str, np.ndarray] = {}
    for path in args.kernels:
        kernels.update({n: np.array(r["x2_kernel"]) for n, r in json.loads(Path(path).read_text())["images"].items()
                                   if "x2_kernel" in r})
    if len(args.sets) % 2:
        ap.error("give PREFIX LR_DIR pairs")
    everything = []
    for prefix, lr_dir in zip(args.sets[::2], args.sets[1::2], strict=True):
        print(f"\n**{Path(prefix).name}**\n")
        rows = table(prefix, lr_dir, args.scale, args.estimate, kernels, args.rows)
        if rows:
            summary(rows)
        everything += rows
    if len(args.sets) > 2 and everything:
        print("\n**all sets**")
        summary(everything)
    if args.compare:
        compare(args.sets[::2], args.compare, everything, args.estimate)


if __name__ == "__main__":
    main()
