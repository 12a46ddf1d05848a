"""The same ZSSR rows trained in bf16 and in fp32, image by image: Y-PSNR (fp32 - bf16) and iterations, from the
result files of sets whose rows were run in both precisions (Set5 / Set14 x2: the bf16 rows of the patch-recurrence
section and the fp32 rows of ``sets_fp32_queue.sh``). It reads the bicubic-assumption and true-kernel rows only
(their fits do not depend on the kernel estimate), so it measures what the training precision alone moves.

    python benchmarks/blind_sr/precision_pairs.py benchmarks/results/blind_set5_x2/blind_set5_x2 \\
        benchmarks/results/blind_set14_x2/blind_set14_x2 [--rows none true] [--suffix fp32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blind_table import load, row_file  # noqa: E402


def pairs(prefix: str, row: str, suffix: str) -> list[tuple[str, dict, dict]]:
    """(name, bf16 record, other record) for each image of ``PREFIX_ROW`` that ``PREFIX_ROW_SUFFIX`` also has."""
    base, other = load(row_file(prefix, row)), load(row_file(prefix, row, suffix=suffix))
    out = []
    for name in sorted(set(base) & set(other)):
        a, b = base[name], other[name]
        if a["fit"]["precision"] != "bf16" or b["fit"]["precision"] == "bf16":
            raise SystemExit(f"{prefix} {row} {name}: expected a bf16 row and a {suffix} one, found "
                             f"{a['fit']['precision']} and {b['fit']['precision']}")
        out.append((name, a, b))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="+", metavar="PREFIX", help="result prefix of a set (reads PREFIX_ROW.json)")
    ap.add_argument("--rows", nargs="+", default=["none", "true"], help="the rows to pair")
    ap.add_argument("--suffix", default="fp32", help="the other precision's files: PREFIX_ROW_SUFFIX.json")
    args = ap.parse_args()
    for row in args.rows:
        print(f"\n**{row}: {args.suffix} - bf16**\n")
        print(f"| image | bf16 | {args.suffix} | difference (dB) | iterations bf16 / {args.suffix} |")
        print("|---|---|---|---|---|")
        diffs = []
        for prefix in args.prefixes:
            for name, a, b in pairs(prefix, row, args.suffix):
                d = b["psnr_y"] - a["psnr_y"]
                diffs.append(d)
                print(f"| {name} | {a['psnr_y']:.2f} | {b['psnr_y']:.2f} | {d:+.2f} | "
                      f"{sum(a['fit']['iterations'])} / {sum(b['fit']['iterations'])} |")
        if diffs:
            print(f"\n{row}, {len(diffs)} images: mean {statistics.fmean(diffs):+.3f} dB, median "
                  f"{statistics.median(diffs):+.3f}, mean absolute {statistics.fmean(abs(d) for d in diffs):.3f}, "
                  f"largest {max(diffs, key=abs):+.2f}")


if __name__ == "__main__":
    main()
