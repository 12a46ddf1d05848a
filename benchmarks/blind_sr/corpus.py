"""The held-out corpus of the blind-SR protocol: natural photos no benchmark set holds and no design here saw,
split once into a design half and a test half, each photo degraded x2 under two kernel seeds; a third set,
``fresh`` (added after the test half was read), judges the rule that follows.

    python benchmarks/blind_sr/corpus.py --mirrors MIRRORS --out benchmarks/blind/corpus [--seeds 11 12] [--halves fresh]
    python benchmarks/blind_sr/corpus.py --mirrors MIRRORS --check-duplicates

``--check-duplicates`` compares every photo of every half and exits 1 if two match and neither names the other in
``duplicate_of``: the same photo ships in several wallpaper repositories under other names, and a copy in two
halves would leak the test into the design. A match: a centre square's 24x24 thumbnails correlate above 0.95
(composition), and so do its 256x256 Laplacians above 0.5 (the fine detail: two skies of the same gradient match
the first test but not the second).

``MIRRORS`` holds git snapshots of the source repositories (``OWNER+NAME/repo``, as the ``fetch`` tool writes
them); the photos are read from the commits pinned in ``corpus.json`` beside this script, never downloaded and
never committed. ``corpus.json`` lists every photo with its repository, commit, path, licence (CC0 or public
domain only) and half (``design`` or ``test``), chosen once by a hash of its name and then frozen in the file:
the design half drives every choice; the test half is run only to report, and the report says how many
designs were tried against it (``test_looks`` in the file).

Each photo becomes a 256x256 HR crop: downscaled first with MATLAB bicubic (antialiased) so that its short side
is 384, 512 or 768 pixels (a wallpaper's native pixels are too smooth at 256; the three sizes, chosen by the same
hash, give soft and sharp crops), then its centre cut. Writes ``OUT/{design,test}/hr/NAME.png`` and, per seed,
``OUT/{design,test}/x2_sSEED/`` as ``zssr-deploy degrade`` makes them (LR PNG, true kernel, ``degrade.json``);
``--scales 4`` (or ``2 4``) makes ``x4_sSEED/`` the same way, each photo's x2 kernel applied twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np

from zssr_deploy.blind.datasets import degrade_folder
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.io import decode_image, write_image

MANIFEST = Path(__file__).with_name("corpus.json")
CROP = 256
SHORT_SIDES = (384, 512, 768)


def name_hash(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def read_photo(mirrors: Path, entry: dict) -> np.ndarray:
    """The photo's RGB pixels (float32 in [0, 1]) from the pinned commit of its repository snapshot."""
    git_dir = mirrors / entry["repo"].replace("/", "+") / "repo"
    if (git_dir / ".git").is_dir():  # a snapshot with a work tree's layout
        git_dir = git_dir / ".git"
    blob = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", f"{entry['commit']}:{entry['path']}"],
                          capture_output=True, check=True).stdout
    px = decode_image(blob, entry["path"]).pixels
    return np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px


def hr_crop(pixels: np.ndarray, name: str) -> np.ndarray:
    """Downscale so the short side is one of SHORT_SIDES (by the name's hash), then the centre CROP x CROP."""
    short = SHORT_SIDES[name_hash(name) % len(SHORT_SIDES)]
    h, w = pixels.shape[:2]
    if min(h, w) > short:
        s = short / min(h, w)
        # a large photo is first brought near 2x the target with OpenCV's area filter (fast, alias-free), then
        # MATLAB bicubic makes the last step, so the crop's blur is the recipe's, not the photo's JPEG scale
        if min(h, w) > 2 * short:
            f = 2 * short / min(h, w)
            pixels = cv2.resize(pixels, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
            h, w = pixels.shape[:2]
            s = short / min(h, w)
        pixels = np.clip(imresize(pixels, s), 0.0, 1.0)
    h, w = pixels.shape[:2]
    top, left = (h - CROP) // 2, (w - CROP) // 2
    return pixels[top : top + CROP, left : left + CROP]


def _square(pixels: np.ndarray, side: int) -> np.ndarray:
    gray = pixels.mean(axis=2).astype(np.float32)
    h, w = gray.shape
    q = min(h, w)
    return cv2.resize(gray[(h - q) // 2:(h - q) // 2 + q, (w - q) // 2:(w - q) // 2 + q], (side, side),
                      interpolation=cv2.INTER_AREA)


def _normalised(x: np.ndarray) -> np.ndarray:
    x = x.ravel()
    return (x - x.mean()) / (x.std() + 1e-6)


def fingerprint(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A centre square's 24x24 gray thumbnail and its 256x256 Laplacian, each zero mean and unit variance."""
    return _normalised(_square(pixels, 24)), _normalised(cv2.Laplacian(_square(pixels, 256), cv2.CV_32F))


def check_duplicates(mirrors: Path, photos: list[dict]) -> list[tuple[str, str, float, float]]:
    """Pairs of photos that match (module docstring) and are not marked ``duplicate_of``: names and both correlations."""
    prints = {p["name"]: fingerprint(read_photo(mirrors, p)) for p in photos}
    marked = {frozenset((p["name"], p["duplicate_of"])) for p in photos if "duplicate_of" in p}
    names = sorted(prints)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            coarse = float(np.mean(prints[a][0] * prints[b][0]))
            fine = float(np.mean(prints[a][1] * prints[b][1]))
            if coarse > 0.95 and fine > 0.5 and frozenset((a, b)) not in marked:
                found.append((a, b, coarse, fine))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, required=True, help="folder of OWNER+NAME/repo git snapshots")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--check-duplicates", action="store_true", help="compare every photo's thumbnail; build nothing")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    ap.add_argument("--halves", nargs="+", default=["design", "test"], choices=["design", "test", "fresh"],
                    help="which halves to build ('fresh': the photos that judge the next rule; corpus.json)")
    ap.add_argument("--scales", type=int, nargs="+", default=[2], choices=[2, 4],
                    help="x4 applies each photo's x2 kernel (the same seed) twice: OUT/HALF/x4_sSEED")
    args = ap.parse_args()
    photos = json.loads(MANIFEST.read_text())["photos"]
    if args.check_duplicates:
        found = check_duplicates(args.mirrors, photos)
        for a, b, coarse, fine in found:
            print(f"{a} and {b}: thumbnails correlate {coarse:.3f}, fine detail {fine:.3f}: the same photo; mark one "
                  "'duplicate_of' the other")
        print(f"{len(photos)} photos compared, {len(found)} unmarked pairs")
        raise SystemExit(1 if found else 0)
    if args.out is None:
        ap.error("--out is needed to build the corpus")
    for half in args.halves:
        hr = args.out / half / "hr"
        hr.mkdir(parents=True, exist_ok=True)
        for entry in (p for p in photos if p["half"] == half):
            write_image(hr / f"{entry['name']}.png", hr_crop(read_photo(args.mirrors, entry), entry["name"]),
                        overwrite=True)
        for scale in args.scales:
            for seed in args.seeds:
                lr = args.out / half / f"x{scale}_s{seed}"
                lr.mkdir(exist_ok=True)
                names = degrade_folder(hr, lr, scale, seed, overwrite=True)
                print(f"{half}: {len(names)} photos degraded x{scale} with seed {seed} -> {lr}")


if __name__ == "__main__":
    main()
