"""The run-only journey: an exported pipeline applied to image files through ONNX Runtime (no torch).

``zssr-deploy run`` (one image, or a folder through :mod:`zssr_deploy.batch.inference`) and the final
inference of ``fit-and-run`` go through these functions, so both write the same pixels: the image tiled when
large, an alpha channel upscaled with MATLAB bicubic and re-attached, the file written atomically.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compute import Compute
from ..errors import ConfigError, ModelError, OutputError
from ..imageops.resize import imresize
from ..io import Image, check_image_path, read_image, write_image
from .session import ZSSRModel

__all__ = ["Inference", "load_pipeline_model", "onnx_inference", "run_loaded",
           "run_model", "same_file", "upscaled_alpha", "write_or_rescue",
           "write_with_alpha"]

log = logging.getLogger(__name__)

#: ``(done, total)`` after each inference tile
TileProgress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class Inference:
    """How a final image is computed: the engine, and ONNX Runtime's provider, tiles and threads."""

    engine: str = "onnx"
    """'onnx': export the fitted pipeline and run it through ONNX Runtime, exactly as ``zssr-deploy run`` would;
    'torch': the same module in torch (``fit-and-run`` only)."""
    provider: str = "auto"
    """ONNX Runtime provider: auto (TensorRT, CUDA, CPU), cpu, cuda or tensorrt."""
    tile: int | None = None
    """Tiles of this many LR pixels; None: as the provider's free memory and cuDNN's tensor limit allow."""
    compute: Compute = Compute()
    """Where it runs: the GPU of the CUDA and TensorRT providers (``compute.gpu``, None: 0) and ONNX Runtime's
    intra-op threads on the CPU (``compute.threads``, None: its own choice, all cores)."""
    fp16: bool = False
    """Half precision for the network (the resizes, ensemble, median and back-projection stay float32). A fit's
    export (``fit-and-run``) writes a graph whose network has float16 weights, float32 in and out, for a GPU
    provider (on the CPU provider the float32 graph runs, with a warning: float16 is slower there); the torch
    engine runs the network in float16 on a GPU, bfloat16 on the CPU (float16 convolutions are emulated there,
    hundreds of times slower). TensorRT also builds fp16 engines."""
    trt_cache_dir: str | None = None
    """TensorRT: keep built engines in this folder (a later run with the same model starts at once)."""

    def __post_init__(self) -> None:
        if self.engine not in ("onnx", "torch"):
            raise ConfigError(f"engine must be 'onnx' or 'torch', got {self.engine!r}")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (an existing pair by inode, else by resolved path)."""
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def onnx_inference(model: ZSSRModel, lr: np.ndarray, tile: int | None, tiles: TileProgress | None) -> np.ndarray:
    """A pipeline model applied to ``lr`` (float32 ``HxWxC`` in [0, 1]): tiles of ``tile`` LR pixels, or with
    None as the provider's memory and cuDNN's tensor limit allow (:meth:`ZSSRModel.auto_tile`); a tile below the
    model's halo is a :class:`ConfigError`. Returns float32 ``ceil(H*sy) x ceil(W*sx) x C``."""
    return model.run_tiled(lr, tile, tiles) if tile else model.run(lr, tiles)  # run() sizes the tiles itself


def upscaled_alpha(img: Image, sr: np.ndarray, scale: tuple[float, float]) -> np.ndarray | None:
    """``img``'s alpha channel (if any) upscaled to ``sr``'s size with MATLAB bicubic, in [0, 1]."""
    if img.alpha is None:
        return None
    return np.clip(imresize(img.alpha, scale, output_shape=sr.shape[:2]), 0.0, 1.0)


def write_with_alpha(out: Path, sr: np.ndarray, img: Image, scale: tuple[float, float], overwrite: bool) -> None:
    """Write the SR image with ``img``'s bit depth, its alpha channel upscaled (:func:`upscaled_alpha`) and its
    file's metadata (ICC profile, resolution scaled, EXIF, XMP: :mod:`zssr_deploy.filemeta`)."""
    meta = None if img.meta is None else img.meta.scaled(scale, sr.shape[:2])
    write_image(out, sr, alpha=upscaled_alpha(img, sr, scale), bit_depth=img.bit_depth, overwrite=overwrite, meta=meta)


def load_pipeline_model(model_path: str | Path, inference: Inference = Inference()) -> ZSSRModel:
    """Load an exported pipeline for ``run`` on ``inference``'s provider, threads, GPU and TensorRT settings (a
    network-only export is a :class:`ModelError`)."""
    model = ZSSRModel(model_path, provider=inference.provider, fp16=inference.fp16, trt_cache_dir=inference.trt_cache_dir,
                      threads=inference.compute.threads,
                      device_id=inference.compute.device_id)
    if model.metadata.kind != "pipeline":
        raise ModelError(f"{str(model_path)!r} is a network-only export: run it on a cubic-upscaled image from "
                         "your own pipeline, or export the whole pipeline with 'zssr-deploy fit'")
    return model


def run_loaded(model: ZSSRModel, input_path: str | Path, output_path: str | Path, tile: int | None = None,
               overwrite: bool = False, tile_progress: TileProgress | None = None) -> Path:
    """Super-resolve one image with a loaded pipeline model and write it (atomically); returns the path."""
    out = check_image_path(output_path, overwrite)
    img = read_image(input_path)
    px = img.pixels
    gray_via_rgb = px.shape[2] == 1 and model.metadata.channels == 3
    if gray_via_rgb:
        px = np.repeat(px, 3, axis=2)
    sr = onnx_inference(model, px, tile, tile_progress)
    if gray_via_rgb:
        sr = sr.mean(axis=2, keepdims=True)
    write_with_alpha(out, sr, img, model.metadata.scale, overwrite)
    return out


def run_model(model_path: str | Path, input_path: str | Path, output_path: str | Path, inference: Inference = Inference(),
              overwrite: bool = False, tile_progress: TileProgress | None = None) -> tuple[Path, list[str]]:
    """Super-resolve an image with an exported pipeline through ONNX Runtime (no torch involved); ``inference``
    gives the provider, tile, threads and GPU (its engine is ONNX Runtime here, whatever it says)."""
    check_image_path(output_path, overwrite)
    if same_file(input_path, output_path):
        raise ConfigError(f"the output {str(output_path)!r} is the input file: choose another output name")
    model = load_pipeline_model(model_path, inference)
    return run_loaded(model, input_path, output_path, inference.tile, overwrite, tile_progress), model.providers


def write_or_rescue(out: Path, sr: np.ndarray, img: Image, scale: tuple[float, float], overwrite: bool) -> None:
    """Write a result that took a fit to make (:func:`write_with_alpha`); if that fails now (disk full,
    permissions changed during the fit), the fit is not lost: the result goes to the temporary folder and the
    error says where."""
    try:
        write_with_alpha(out, sr, img, scale, overwrite)
    except (OutputError, OSError) as exc:
        rescue_dir = Path(tempfile.gettempdir()) / "zssr-deploy-rescued"
        rescue_dir.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{out.stem}-", suffix=".png", dir=rescue_dir)
        os.close(fd)
        rescue = Path(name)
        write_with_alpha(rescue, sr, img, scale, overwrite=True)
        raise OutputError(f"cannot write {str(out)!r} ({exc}); the result was saved to {str(rescue)!r}: move it "
                          "where you want it") from None
