"""Write the development photos of the blind-SR work: 256x256 centre crops of eleven scikit-image sample photos
(shipped with scikit-image, nothing downloaded), as 8-bit RGB PNGs (a gray photo as three equal channels: that is
how the committed ``kernels_dev_x2.json`` was made; KernelGAN treats each channel as a batch item). Estimator decisions are
made on these (degraded with ``zssr-deploy degrade --seed 1``), never on Set5 or Set14 (docs/BENCHMARKS.md).

    python benchmarks/blind_sr/dev_photos.py benchmarks/blind/dev_hr
    zssr-deploy degrade benchmarks/blind/dev_hr -o benchmarks/blind/dev_x2_s1 --scale 2 --seed 1

``--held-out`` writes seven other scikit-image photos instead (clock, grass, gravel, hubble_deep_field, page, text,
cell: textures, documents, a star field, microscopy), never looked at while the estimator was built: a check of
the blind-SR results on images neither the estimator's design nor Set5/Set14 saw. Crops are at most 256x256
(page and text are shorter), sides even.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from skimage import data

from zssr_deploy.io import write_image

PHOTOS = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "immunohistochemistry", "moon", "retina",
          "rocket", "stereo_motorcycle")
HELD_OUT = ("clock", "grass", "gravel", "hubble_deep_field", "page", "text", "cell")


def centre_crop(a: np.ndarray, side: int = 256) -> np.ndarray:
    """The middle of ``a`` (HxW or HxWxC), ``side`` pixels a side or the image's own (even) side if smaller."""
    h, w = min(side, a.shape[0] // 2 * 2), min(side, a.shape[1] // 2 * 2)
    top, left = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return a[top : top + h, left : left + w]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--held-out", action="store_true", help="the seven held-out photos instead")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in HELD_OUT if args.held_out else PHOTOS:
        a = getattr(data, name)()
        a = a[0] if isinstance(a, tuple) else a  # stereo_motorcycle: (left, right, disparity)
        crop = centre_crop(a).astype(np.float32) / 255.0
        rgb = crop if crop.ndim == 3 else np.repeat(crop[..., None], 3, axis=2)
        write_image(args.out / f"{name}.png", rgb)
        print(args.out / f"{name}.png", rgb.shape)


if __name__ == "__main__":
    main()
