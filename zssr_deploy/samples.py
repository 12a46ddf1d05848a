"""Sample photos that ship inside installed packages (scikit-image), for demos and tests. No downloads."""

from __future__ import annotations

from importlib import util
from pathlib import Path

import numpy as np

from .errors import ConfigError, ImageReadError
from .io import read_image

__all__ = ["SAMPLES", "load_sample"]

#: sample name -> file name inside ``skimage/data`` (files that ship with the wheel, no download)
SAMPLES = {
    "astronaut": "astronaut.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
}


def load_sample(name: str, size: int | None = None) -> np.ndarray:
    """A bundled photo as float32 ``HxWxC`` in [0, 1]; ``size`` takes a centred ``size x size`` crop."""
    if name not in SAMPLES:
        raise ConfigError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}")
    spec = util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise ImageReadError("samples come from scikit-image: pip install 'zssr-deploy[sample]'")
    img = read_image(Path(spec.origin).parent / "data" / SAMPLES[name]).pixels
    if size is not None:
        if size < 8 or size > min(img.shape[:2]):
            raise ConfigError(f"crop size must be between 8 and {min(img.shape[:2])}, got {size}")
        y0, x0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        img = img[y0 : y0 + size, x0 : x0 + size]
    return np.ascontiguousarray(img)
