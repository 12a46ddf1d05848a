"""Blind-SR benchmark folders: HR images degraded with random kernels, the true kernels beside them.

``degrade_folder(HR_DIR, OUT_DIR, scale, seed)`` writes, per HR image ``NAME``: ``NAME.png`` (the LR image,
8 bit, as the RGB protocol stores LR inputs), ``NAME.kernel.npy`` and ``NAME.kernel.mat`` (variable
``Kernel``: the true kernel of the whole degradation, x2 or the composed x4 one), and one ``degrade.json``
(recipe, scale, seed, names). The HR image is mod-cropped to the scale first, as the scoring does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import ConfigError, KernelError
from ..files import check_output_path, write_bytes_atomic
from ..imageops.degrade import DIV2KRK_X2, KernelRecipe, compose_x2, degrade, image_seed, random_kernel
from ..imageops.kernels import load_kernel, write_kernel
from ..io import check_image_path, list_images, read_image, write_image
from ..metrics import mod_crop
from .config import KernelEstimationConfig, KernelSource

__all__ = ["KERNEL_SUFFIXES", "degrade_folder", "kernels_for", "true_kernel"]

#: how a true kernel is named beside its LR image (the first that exists is read)
KERNEL_SUFFIXES = (".kernel.npy", ".kernel.mat")


def true_kernel(lr_dir: str | Path, name: str) -> np.ndarray:
    """The true kernel of ``NAME`` in a degraded folder; :class:`KernelError` naming the files looked for."""
    for suffix in KERNEL_SUFFIXES:
        p = Path(lr_dir) / f"{name}{suffix}"
        if p.is_file():
            return load_kernel(p)
    raise KernelError(f"no true kernel for {name!r} in {str(lr_dir)!r} (looked for {name}{' or '.join(KERNEL_SUFFIXES)}); "
                      "make the folder with 'zssr-deploy degrade'")


def kernels_for(lr_dir: str | Path | None, name: str, mode: str,
                estimation: KernelEstimationConfig | None = None) -> tuple[KernelSource, np.ndarray | None]:
    """What a ZSSR upscaler of image ``name`` is given for ``--kernel`` ``mode``: ``none`` (assume bicubic),
    ``true`` (the kernel beside its LR image) or ``estimate`` (with ``estimation``); and the true kernel when
    the folder has one, to score an estimate."""
    if mode not in ("none", "true", "estimate"):
        raise ConfigError(f"--kernel must be none, true or estimate, got {mode!r}")
    if mode == "true" and lr_dir is None:
        raise ConfigError("--kernel true needs LR images with their kernels (--lr DIR from 'zssr-deploy degrade')")
    has_truth = lr_dir is not None and any((Path(lr_dir) / f"{name}{s}").is_file() for s in KERNEL_SUFFIXES)
    truth = true_kernel(lr_dir, name) if mode == "true" or (mode == "estimate" and has_truth) else None  # type: ignore[arg-type]
    if mode == "true":
        return KernelSource.given(truth), truth  # type: ignore[arg-type]
    return (KernelSource.estimate(estimation) if mode == "estimate" else KernelSource.bicubic()), truth


def _outputs(out_dir: Path, name: str) -> list[Path]:
    return [out_dir / f"{name}.png", *(out_dir / f"{name}{s}" for s in KERNEL_SUFFIXES)]


def degrade_folder(hr_dir: str | Path, out_dir: str | Path, scale: int = 2, seed: int = 0,
                   recipe: KernelRecipe = DIV2KRK_X2, overwrite: bool = False,
                   on_image: Callable[[str], None] | None = None) -> list[str]:
    """Degrade every image of ``hr_dir`` (module docstring); returns the names. Every output path is checked
    before anything is written; each image's kernel depends only on ``seed`` and its name."""
    if scale not in (2, 4):
        raise ConfigError(f"--scale must be 2 or 4 for the blind-SR recipe, got {scale}")
    files, out = list_images(hr_dir), Path(out_dir)
    if not out.is_dir():
        raise ConfigError(f"output folder {str(out)!r} does not exist; create it first")
    if out.resolve() == Path(hr_dir).resolve():  # NAME.png would replace the HR image it is made from
        raise ConfigError(f"the output folder {str(out)!r} is the HR folder: the LR images would replace the HR "
                          "ones; choose another output folder")
    for f in files:
        check_image_path(_outputs(out, f.stem)[0], overwrite)
        for p in _outputs(out, f.stem)[1:]:
            check_output_path(p, overwrite, (".npy", ".mat"))
    for f in files:  # every image readable before the first is written: no half-written folder
        read_image(f)
    manifest = {"recipe": asdict(recipe), "scale": scale, "seed": seed, "images": []}
    for f in files:
        img = read_image(f)
        k = random_kernel(image_seed(seed, f.stem), recipe)
        lr = degrade(mod_crop(img.pixels.astype(np.float64), scale), k, scale)
        paths = _outputs(out, f.stem)
        write_image(paths[0], lr, bit_depth=8, overwrite=overwrite)
        full = k if scale == 2 else compose_x2(k)
        for p in paths[1:]:
            write_kernel(p, full, overwrite)
        manifest["images"].append(f.stem)  # type: ignore[attr-defined]
        if on_image is not None:
            on_image(f.stem)
    write_bytes_atomic(out / "degrade.json", (json.dumps(manifest, indent=2) + "\n").encode(), overwrite=True)
    return manifest["images"]  # type: ignore[return-value]
