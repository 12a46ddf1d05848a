"""The ZSSR rows of a held-out corpus half: per image and kernel seed, Y-PSNR assuming bicubic ("none"), with the
true kernel ("true") and with each estimate row given; the share of the true kernel's gain each row recovers on
the mean, how many images each row gains and loses against the bicubic assumption, and the estimation's time
against the fit's.

    python benchmarks/blind_sr/corpus_table.py benchmarks/results/corpus_design/corpus_design_x2 --seeds 11 12 \\
        --rows estimate narrowed [--kept-by benchmarks/results/corpus_design/kernels_design_x2_s{seed}_recurrence.json]

Results files are ``PREFIX_s{seed}_{row}.json`` (``zssr-deploy evaluate --json``) and their ``_partN`` siblings.
``--kept-by``: a kernel-only
run (``kernel_estimation.py``) of the same rule for rejection; an estimate row missing where that run kept the
bicubic assumption is the "none" row (the fit is the same: no kernel), so it need not be fitted again.
A photo that ``corpus.json`` marks ``duplicate_of`` another is the same photo under other kernels: an extra line
gives each row's share with such copies left out.
An image-seed's rows must share one training precision (``fit.precision``: bf16 or fp32, which
``--precision auto`` picks by the CPU): the script stops on one whose rows mix them, and says how many image-seeds
were trained in each.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zssr_deploy.blind.config import KernelFinding

MANIFEST = Path(__file__).with_name("corpus.json")


def scores(path: Path) -> dict[str, dict]:
    """The images of a results file and of its ``_partN`` siblings (a second runner working from the other end)."""
    found: dict[str, dict] = {}
    for p in [path, *sorted(path.parent.glob(f"{path.stem}_part*.json"))]:
        if p.exists():
            found.update({i["name"]: i for i in json.loads(p.read_text())["images"]})
    return found


def copies() -> set[str]:
    """Names ``corpus.json`` marks as another photo's copy."""
    return {p["name"] for p in json.loads(MANIFEST.read_text())["photos"] if "duplicate_of" in p}


def precision(label: str, found: list[dict]) -> str:
    """The one training precision of an image's ZSSR rows (``label`` names it); SystemExit if they differ (two
    precisions' fits differ by more than the rule under judgement should be credited with)."""
    kinds = {i.get("fit", {}).get("precision", "?") for i in found}
    if len(kinds) > 1:
        raise SystemExit(f"{label}: its rows were trained in {' and '.join(sorted(kinds))}; "
                         "run them again on one kind of CPU")
    return kinds.pop()


def share_line(k: str, label: str, rows: list[dict]) -> str:
    gap = sum(r["true"] - r["none"] for r in rows)
    gain = sum(r[k] - r["none"] for r in rows)
    return (f"{k}, {label} ({len(rows)}): {100 * gain / gap:.0f} % of the gap on the mean "
            f"(mean {sum(r[k] for r in rows) / len(rows):.2f} against {sum(r['none'] for r in rows) / len(rows):.2f}"
            f" assumed, {sum(r['true'] for r in rows) / len(rows):.2f} true)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix")
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    ap.add_argument("--rows", nargs="+", required=True, help="estimate rows (results-file suffixes)")
    ap.add_argument("--kept-by", default=None, help="kernel-only results, '{seed}' for the seed")
    args = ap.parse_args()
    table, lines = [], []
    for s in args.seeds:
        got = {k: scores(Path(f"{args.prefix}_s{s}_{k}.json")) for k in ("none", "true", *args.rows)}
        kept = set()
        if args.kept_by:
            kept = {n for n, r in json.loads(Path(args.kept_by.format(seed=s)).read_text())["images"].items() if not r["used"]}
        for name in sorted(set(got["none"]) & set(got["true"])):
            row = {"seed": s, "name": name, "none": got["none"][name]["psnr_y"], "true": got["true"][name]["psnr_y"]}
            for k in args.rows:
                if name in got[k]:
                    row[k] = got[k][name]["psnr_y"]
                    kernel = got[k][name].get("fit", {}).get("kernel", {})
                    row[k + ":confidence"] = kernel.get("confidence")
                    row[k + ":used"] = kernel.get("source") == "estimated"
                    row[k + ":capped"] = KernelFinding.from_json(kernel).capped if kernel else False
                    row[k + ":share_of_fit"] = kernel.get("seconds", 0.0) / max(got[k][name]["fit"]["fit_seconds"], 1e-9)
                elif name in kept:
                    row[k] = row["none"]
            if all(k in row for k in args.rows):
                row["precision"] = precision(f"{name} (seed {s})", [g[name] for g in got.values() if name in g])
                table.append(row)
    print("| seed | image | assumed bicubic | true kernel | " + " | ".join(f"{k} (- assumed)" for k in args.rows) + " |")
    print("|---|---|---|---|" + "---|" * len(args.rows))
    for r in table:
        cells = []
        for k in args.rows:
            c, used = r.get(k + ":confidence"), r.get(k + ":used")
            how = "kept" if not used else (f"c {c:.2f}" if c is not None else "used")
            how += ", capped" if r.get(k + ":capped") else ""
            cells.append(f"{r[k]:.2f} ({r[k] - r['none']:+.2f}, {how})")
        print(f"| {r['seed']} | {r['name']} | {r['none']:.2f} | {r['true']:.2f} | " + " | ".join(cells) + " |")
    n = len(table)
    if not n:
        return
    marked = copies()
    for k in args.rows:
        for label, rows in (("all", table), ("true kernel above the assumption", [r for r in table if r["true"] > r["none"]])):
            lines.append(share_line(k, label, rows))
        dropped = sorted({r["name"] for r in table} & marked)
        if dropped:
            lines.append(share_line(k, "each photo once, without the copies " + ", ".join(dropped),
                                    [r for r in table if r["name"] not in dropped]))
        d = [r[k] - r["none"] for r in table]
        shares = [r[k + ":share_of_fit"] for r in table if r.get(k + ":share_of_fit")]
        lines.append(f"{k}: gained {sum(x > 0.005 for x in d)}, lost {sum(x < -0.005 for x in d)} "
                     f"(by more than 0.2 dB: {sum(x < -0.2 for x in d)}), the same {sum(abs(x) <= 0.005 for x in d)}; "
                     f"worst {min(d):+.2f} dB" + (f"; estimation / fit time: max {max(shares):.2f}" if shares else "")
                     + (f" (next {sorted(shares)[-2]:.2f})" if len(shares) > 1 else ""))
    trained = sorted({r["precision"] for r in table})
    lines.append("training precision: " + ", ".join(f"{p} on {sum(r['precision'] == p for r in table)} image-seeds"
                                                    for p in trained))
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
