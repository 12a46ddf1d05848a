"""Join result JSONs of ``zssr-deploy evaluate`` (one run, or one per image) into one Markdown table.

    python benchmarks/quality/results_table.py \\
        benchmarks/results/set5_x2_gradual/set5_x2_gradual_{baby,bird,butterfly,head,woman}.json

Long ZSSR runs are made in pieces (``--only NAME`` per process, ``--resume`` across sessions), so one set's
results can sit in several files. This script checks that they agree on scale, method, protocol and settings,
refuses an image that appears twice, and prints per image Y-PSNR / SSIM, the iterations of each scale step with
their learning-rate drops, and the fit's seconds (across a resume), then the mean over the images found.
Images whose JSON predates per-fit records show "-" for iterations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(paths: list[Path]) -> tuple[dict, list[dict]]:
    header: dict | None = None
    images: list[dict] = []
    for p in paths:
        data = json.loads(p.read_text())
        h = {k: data.get(k) for k in ("scale", "method", "protocol", "settings")}
        if header is not None and h != header:
            sys.exit(f"{p}: {h} differs from the first file's {header}")
        header = h
        for img in data["images"]:
            if any(i["name"] == img["name"] for i in images):
                sys.exit(f"{p}: image {img['name']!r} appears in more than one file")
            images.append({**img, "file": p.name})
    if header is None:
        sys.exit("no files given")
    return header, sorted(images, key=lambda i: i["name"])


def steps_cell(fit: dict) -> str:
    if not fit:
        return "-"
    return "; ".join(f"{n} ({', '.join(map(str, d))})" for n, d in zip(fit["iterations"], fit["learning_rate_drops"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args()
    header, images = load(args.files)
    print(f"scale {header['scale']}, {header['method']}, protocol {header['protocol']}, settings {header['settings']}")
    print()
    print("| image | Y-PSNR | SSIM | iterations per step (lr drops at) | fit seconds | device | file |")
    print("|---|---|---|---|---|---|---|")
    for i in images:
        fit = i.get("fit", {})
        secs = fit.get("fit_seconds", i["seconds"])
        print(f"| {i['name']} | {i['psnr_y']:.2f} | {i['ssim_y']:.4f} | {steps_cell(fit)} | {secs:.1f} | "
              f"{fit.get('device', '-')} | {i['file']} |")
    n = len(images)
    print(f"| **mean of {n}** | **{sum(i['psnr_y'] for i in images) / n:.2f}** | "
          f"**{sum(i['ssim_y'] for i in images) / n:.4f}** | | | | |")


if __name__ == "__main__":
    main()
