"""The blind-SR table of docs/BENCHMARKS.md from the result files of one set: bicubic interpolation, ZSSR
assuming bicubic, ZSSR with the true kernel, ZSSR with the estimated kernel, the estimate's kernel PSNR, and
the share of the "assume bicubic" to "true kernel" gap that the estimate recovers (images present in all
three ZSSR files only), and the estimation's seconds against the fit's.

    python benchmarks/blind_table.py benchmarks/results/blind_set5_x2 benchmarks/blind/set5_x2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zssr_deploy.datasets import true_kernel
from zssr_deploy.imageops.kernels import bicubic_kernel
from zssr_deploy.trainers.kernel_estimation import kernel_psnr


def load(path: Path) -> dict:
    """The images of a result file and of its ``_part2``, ``_part3``... siblings (one set run on several cores)."""
    rows = {}
    for p in [path, *sorted(path.parent.glob(f"{path.stem}_part*.json"))]:
        if p.exists():
            rows.update({i["name"]: i for i in json.loads(p.read_text())["images"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix", help="e.g. benchmarks/results/blind_set5_x2 (reads _bicubic, _none, _true, _estimate)")
    ap.add_argument("lr_dir", help="the LR folder (its true kernels give the bicubic kernel's PSNR)")
    ap.add_argument("--scale", type=float, default=2.0)
    args = ap.parse_args()
    rows = {k: load(Path(f"{args.prefix}_{k}.json")) for k in ("bicubic", "none", "true", "estimate")}
    names = [n for n in rows["true"] if n in rows["none"] and n in rows["estimate"]]
    print("| image | bicubic interp. | ZSSR, bicubic assumed | ZSSR, true kernel | ZSSR, estimated kernel | "
          "kernel PSNR (est. / bicubic) | estimation s | fit s (est. row) |")
    print("|---|---|---|---|---|---|---|---|")
    sums = dict.fromkeys(("bicubic", "none", "true", "estimate"), 0.0)
    for n in names:
        v = {k: rows[k][n]["psnr_y"] for k in sums if n in rows[k]}
        for k in sums:
            sums[k] += v.get(k, 0.0)
        kern = rows["estimate"][n].get("fit", {}).get("kernel", {})
        bic_kp = kernel_psnr(bicubic_kernel(args.scale), true_kernel(args.lr_dir, n), args.scale)
        print(f"| {n} | {v.get('bicubic', float('nan')):.2f} | {v['none']:.2f} | {v['true']:.2f} | {v['estimate']:.2f} | "
              f"{kern.get('kernel_psnr', float('nan')):.2f} / {bic_kp:.2f} | "
              f"{kern.get('seconds', float('nan')):.0f} | {rows['estimate'][n]['fit'].get('fit_seconds', float('nan')):.0f} |")
    if names:
        m = {k: sums[k] / len(names) for k in sums}
        share = (m["estimate"] - m["none"]) / (m["true"] - m["none"]) if m["true"] != m["none"] else float("nan")
        print(f"| **mean ({len(names)})** | {m['bicubic']:.2f} | {m['none']:.2f} | {m['true']:.2f} | {m['estimate']:.2f} | | | |")
        print(f"\ngap true - assumed: {m['true'] - m['none']:+.2f} dB; the estimate recovers {share:.0%} of it; worst image "
              f"against its bicubic-assumption result: "
              f"{min(rows['estimate'][n]['psnr_y'] - rows['none'][n]['psnr_y'] for n in names):+.2f} dB")
        est_s = [rows["estimate"][n]["fit"]["kernel"]["seconds"] for n in names]
        fit_s = [rows["estimate"][n]["fit"]["fit_seconds"] for n in names]
        used = sum(rows["estimate"][n]["fit"]["kernel"]["source"] == "estimated" for n in names)
        print(f"estimation {sum(est_s):.0f} s against {sum(fit_s):.0f} s of fitting in all ({sum(est_s) / sum(fit_s):.2f}); "
              f"longest ratio on one image {max(e / f for e, f in zip(est_s, fit_s, strict=True)):.2f}; "
              f"estimate used on {used}/{len(names)} images")


if __name__ == "__main__":
    main()
