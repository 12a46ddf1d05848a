"""Does the kernel estimate follow the image's kernel? One photo degraded x2 by several known kernels (narrow,
wide, elongated at two angles); an estimator that learns the kernel from the image must return estimates as
different as the kernels are. Prints each estimate's principal variances and angle beside the truth, and per
photo how the estimates' spreads follow the true spreads (slope of a least-squares line: 1 follows, 0 ignores).

    python benchmarks/blind_sr/kernel_sensitivity.py benchmarks/blind/dev_hr \\
        --json benchmarks/results/kernel_sensitivity/sensitivity_dev.json \\
        --only chelsea --only coffee [--resume] [--save-lr DIR] [--peer DIR]

The photos are scikit-image's (``benchmarks/blind_sr/dev_photos.py``), never benchmark images. ``--save-lr DIR`` writes
each LR image as ``DIR/PHOTO_KERNEL.png`` (8-bit, as estimated); ``--peer DIR`` also scores kernels another
estimator wrote for those files as ``DIR/PHOTO_KERNEL_kernel_x2.mat`` (the authors' KernelGAN names them so).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model, moments, spread  # noqa: E402
from scipy import ndimage
from scipy.io import loadmat

from zssr_deploy.blind.config import KERNEL_ESTIMATORS, KernelEstimationConfig
from zssr_deploy.blind.estimate import estimate_kernel, kernel_psnr
from zssr_deploy.files import write_bytes_atomic
from zssr_deploy.imageops.degrade import degrade
from zssr_deploy.imageops.kernels import gaussian_taps, zssr_centre
from zssr_deploy.io import read_image, write_image

#: name: (major variance, minor variance, angle of the major axis in degrees), HR pixels squared; the range of
#: DIV2KRK's x2 recipe (variances 0.6 to 5)
KERNELS = {"narrow": (0.7, 0.7, 0.0), "wide": (4.0, 4.0, 0.0), "long30": (4.5, 0.7, 30.0),
           "long120": (4.5, 0.7, 120.0)}


def gaussian(major: float, minor: float, degrees: float, size: int = 11) -> np.ndarray:
    """An 11x11 Gaussian with these principal variances, its major axis ``degrees`` counter-clockwise from the x
    axis as displayed, centre of mass where the trainer's rule puts it for x2 (as ``degrade`` expects)."""
    k = gaussian_taps(major, minor, math.radians(degrees), size, size // 2 + 0.5 * (2 - size % 2), y_up=True)
    k = ndimage.shift(k, zssr_centre(k.shape, 2.0) - np.array(ndimage.center_of_mass(k)))
    return k / k.sum()


def score(est: np.ndarray, truth: np.ndarray) -> dict:
    return {"moments": moments(est), "spread_ratio": round(spread(est) / spread(truth), 3),
            "kernel_psnr": round(kernel_psnr(est, truth), 2)}


def slope(true_spreads: list[float], est_spreads: list[float]) -> float:
    """Least-squares slope of estimated against true spread: 1 when estimates move with the kernel, 0 when not."""
    t, e = np.asarray(true_spreads), np.asarray(est_spreads)
    return float(np.polyfit(t, e, 1)[0]) if len(t) > 1 and np.ptp(t) > 0 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr_dir")
    ap.add_argument("--json", required=True)
    ap.add_argument("--only", action="append", default=[], metavar="PHOTO")
    ap.add_argument("--kernel", action="append", default=[], choices=sorted(KERNELS), help="default: all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=KERNEL_ESTIMATORS, default=KernelEstimationConfig.method, help="the estimator")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--save-lr", metavar="DIR")
    ap.add_argument("--peer", metavar="DIR", help="score DIR/PHOTO_KERNEL_kernel_x2.mat as well")
    args = ap.parse_args()
    out = Path(args.json)
    done = json.loads(out.read_text()) if args.resume and out.exists() else {"cpu": cpu_model(), "runs": {}}
    names = args.kernel or list(KERNELS)
    for png in sorted(Path(args.hr_dir).glob("*.png")):
        if args.only and png.stem not in args.only:
            continue
        hr = read_image(png).pixels.astype(np.float64)
        hr = hr[: hr.shape[0] // 2 * 2, : hr.shape[1] // 2 * 2]
        for kname in names:
            key = f"{png.stem}_{kname}"
            truth = gaussian(*KERNELS[kname])
            lr = (np.round(np.clip(degrade(hr, truth, 2), 0, 1) * 255) / 255).astype(np.float32)
            if args.save_lr:
                Path(args.save_lr).mkdir(parents=True, exist_ok=True)
                write_image(Path(args.save_lr) / f"{key}.png", lr, overwrite=True)
            row = done["runs"].get(key, {"truth": moments(truth), "true_spread": round(spread(truth), 4)})
            if "estimate" not in row:
                est = estimate_kernel(lr, 2.0, KernelEstimationConfig(seed=args.seed, method=args.method))
                row["estimate"] = {**score(est.x2_kernel, truth), "used": est.kernel is not None,
                                   "agreement_db": est.summary().agreement_db, "seconds": round(est.seconds, 1),
                                   "x2_kernel": np.round(est.x2_kernel, 6).tolist()}
            peer = Path(args.peer or "") / f"{key}_kernel_x2.mat"
            if args.peer and peer.exists():
                row["peer"] = score(loadmat(peer)["Kernel"], truth)
            done["runs"][key] = row
            print(key, {k: v for k, v in row.items() if k != "estimate"},
                  {k: v for k, v in row["estimate"].items() if k != "x2_kernel"}, flush=True)
            write_bytes_atomic(out, (json.dumps(done, indent=1) + "\n").encode(), overwrite=True)
    print(f"\n{done['cpu']}; estimated spread against true spread, per photo (slope 1: follows the kernel):")
    print("| photo | kernel | true variances, angle | estimate | spread ratio | kernel PSNR | peer | peer spread ratio |")
    print("|---|---|---|---|---|---|---|---|")
    photos = sorted({k.rsplit("_", 1)[0] for k in done["runs"]})
    for photo in photos:
        rows = {k.rsplit("_", 1)[1]: r for k, r in done["runs"].items() if k.rsplit("_", 1)[0] == photo}
        for kname, r in rows.items():
            t, e, p = r["truth"], r["estimate"], r.get("peer")
            fmt = "{0[variances][0]:.2f} / {0[variances][1]:.2f}, {0[angle]:.0f}°".format
            print(f"| {photo} | {kname} | {fmt(t)} | {fmt(e['moments'])} | {e['spread_ratio']:.2f} | "
                  f"{e['kernel_psnr']:.2f} | {fmt(p['moments']) if p else '-'} | {p['spread_ratio'] if p else '-'} |")
        ts = [r["true_spread"] for r in rows.values()]
        es = [r["true_spread"] * r["estimate"]["spread_ratio"] for r in rows.values()]
        line = f"{photo}: estimate slope {slope(ts, es):.2f}"
        peers = [(r["true_spread"], r["true_spread"] * r["peer"]["spread_ratio"]) for r in rows.values() if "peer" in r]
        if len(peers) == len(rows):
            line += f", peer slope {slope(*zip(*peers)):.2f}"
        print(line)


if __name__ == "__main__":
    main()
