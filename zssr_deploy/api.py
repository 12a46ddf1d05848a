"""High-level entry points that join reading, fitting, inference and writing (used by the CLI)."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import ConfigError
from .evaluate import score_output
from .imageops.kernels import load_kernel
from .imageops.resize import imresize
from .io import check_output_path, read_image, write_image

if TYPE_CHECKING:
    from .runtime import ZSSRModel
    from .trainers.zssr import FitResult

__all__ = ["FitAndRunReport", "ZSSRUpscaler", "build_config", "fit_model", "run_model", "upscale_image",
           "zssr_upscaler"]

log = logging.getLogger(__name__)

#: images with more LR pixels than this run tiled even without --tile (bounded memory)
AUTO_TILE_PIXELS = 512 * 512
AUTO_TILE = 256


def _auto_tile(tile: int | None, hw: tuple[int, ...]) -> int | None:
    if tile is None and hw[0] * hw[1] > AUTO_TILE_PIXELS:
        log.info("large image (%dx%d): tiled inference, %d LR pixels a tile", hw[0], hw[1], AUTO_TILE)
        return AUTO_TILE
    return tile


def _torch_inference(result: FitResult) -> np.ndarray:
    """The fitted pipeline's final inference in torch (used when the image is too small for the ONNX graph)."""
    from .trainers.zssr import run_pipeline

    return run_pipeline(result.pipeline, result.pipeline_input, result.device)


def _onnx_inference(model: ZSSRModel, result: FitResult, tile: int | None, tile_progress) -> tuple[np.ndarray, list[str]]:
    """The final inference through ONNX Runtime, tiled for large images; returns the image and the providers."""
    tile = _auto_tile(tile, result.pipeline_input.shape)
    if tile:
        sr = model.run_tiled(result.pipeline_input, max(tile, model.metadata.halo), tile_progress)
    else:
        sr = model.run(result.pipeline_input)
    return sr, list(model.providers)


def _remove_checkpoint(checkpoint: str | Path | None) -> None:
    """A finished fit's checkpoint is spent: remove it (only after the result is safely written)."""
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)


def build_config(preset: str = "ideal", scale: object = 2.0, max_iters: int | None = None, seed: int = 0,
                 device: str = "auto", precision: str = "auto", **overrides: object):
    """A :class:`~zssr_deploy.trainers.config.ZSSRConfig` from a preset name, a final scale and overrides."""
    from .trainers.config import parse_scale
    from .trainers.config import preset as get_preset

    cfg = get_preset(preset).with_scale(parse_scale(scale))  # type: ignore[arg-type]
    changes: dict[str, object] = {"seed": seed, "device": device, "precision": precision}
    if max_iters is not None:
        changes["max_iters"] = max_iters
    changes.update({k: v for k, v in overrides.items() if v is not None})
    return cfg.replace(**changes)


class ZSSRUpscaler:
    """An upscaler for :func:`zssr_deploy.evaluate.evaluate_folder` that fits ZSSR to each LR image.

    After each call, ``last_fit`` says how the fit went: iterations and learning-rate drops per step, total
    fit seconds (across a resume) and the steps restored from ``checkpoint``
    (see :func:`zssr_deploy.trainers.zssr.fit`; give one upscaler per image when using a checkpoint).
    ``overrides`` are further :class:`~zssr_deploy.trainers.config.ZSSRConfig` fields applied to every fit
    (e.g. ``fresh_optimizer_each_step=False`` for the released code's Adam).
    """

    def __init__(self, preset: str = "ideal", max_iters: int | None = None, seed: int = 0, device: str = "auto",
                 precision: str = "auto", checkpoint: str | Path | None = None, **overrides: object) -> None:
        self.preset, self.max_iters, self.seed = preset, max_iters, seed
        self.device, self.precision, self.checkpoint = device, precision, checkpoint
        self.overrides = dict(overrides)  # further ZSSRConfig fields (e.g. fresh_optimizer_each_step)
        self.last_fit: dict = {}

    def __call__(self, lr: np.ndarray, scale: float) -> np.ndarray:
        from .trainers.zssr import fit

        cfg = build_config(self.preset, scale, self.max_iters, self.seed, self.device, self.precision,
                           **self.overrides)
        result = fit(lr, cfg, checkpoint=self.checkpoint)
        self.last_fit = {"iterations": [s.iterations for s in result.steps],
                         "learning_rate_drops": [list(s.learning_rate_drops) for s in result.steps],
                         "fit_seconds": round(result.seconds, 3), "resumed_steps": result.resumed_steps,
                         "device": result.device, "precision": result.precision}
        log.info("fit: %s, %.1f s", [(s.iterations, s.learning_rate_drops) for s in result.steps], result.seconds)
        return result.output


def zssr_upscaler(preset: str = "ideal", max_iters: int | None = None, seed: int = 0, device: str = "auto",
                  precision: str = "auto", checkpoint: str | Path | None = None,
                  **overrides: object) -> ZSSRUpscaler:
    """A :class:`ZSSRUpscaler` (kept for callers of the earlier function)."""
    return ZSSRUpscaler(preset, max_iters, seed, device, precision, checkpoint, **overrides)


@dataclass(frozen=True)
class FitAndRunReport:
    output_path: Path
    model_path: Path | None
    providers: list[str]
    iterations: list[int]
    learning_rate_drops: list[list[int]]
    seconds: float
    device: str
    precision: str
    psnr: float | None = None
    ssim: float | None = None


def upscale_image(input_path: str | Path, output_path: str | Path, scale: object = 2.0, preset: str = "ideal",
                  kernel_path: str | Path | None = None, max_iters: int | None = None, seed: int = 0,
                  device: str = "auto", precision: str = "auto", gt_path: str | Path | None = None,
                  overwrite: bool = False, progress=None, engine: str = "onnx", save_model: str | Path | None = None,
                  tile: int | None = None, provider: str = "auto", tile_progress=None,
                  checkpoint: str | Path | None = None, **overrides: object) -> FitAndRunReport:
    """Read an image, fit ZSSR, super-resolve it and write the result (alpha upscaled with bicubic).

    ``engine="onnx"`` (default) exports the fitted pipeline and runs the final inference through ONNX Runtime
    (tiled when ``tile`` is given), exactly as ``zssr-deploy run`` would; ``"torch"`` uses the torch module.
    ``checkpoint``: a file for the training state between gradual steps; an existing one is resumed from
    (same image and settings), and it is removed once the output is written.
    """
    from .trainers.zssr import fit

    out = check_output_path(output_path, overwrite)
    if save_model is not None:
        check_output_path(save_model, overwrite, (".onnx",))
    if engine not in ("onnx", "torch"):
        raise ConfigError(f"engine must be 'onnx' or 'torch', got {engine!r}")
    img = read_image(input_path)
    kernel = load_kernel(kernel_path) if kernel_path is not None else None
    cfg = build_config(preset, scale, max_iters, seed, device, precision, **overrides)
    gt = read_image(gt_path).pixels if gt_path is not None else None
    if tile is not None and engine == "onnx":
        from .exporters import halo_for

        # the kernel is zero-padded when re-centred: +2 on each side at least
        ks = None if kernel is None else (kernel.shape[0] + 4, kernel.shape[1] + 4)
        halo = halo_for(cfg.final_scale, cfg.depth, cfg.back_projection_iters[-1], ks)
        if tile < halo:
            raise ConfigError(f"tile {tile} is smaller than the model's halo of {halo} LR pixels: use --tile {halo} or more")
    result = fit(img.pixels, cfg, kernel=kernel, progress=progress, final_inference=engine == "torch",
                 checkpoint=checkpoint)
    model_path, providers = None, ["torch"]
    if engine == "onnx":
        from .exporters import export_pipeline, pipeline_min_size, training_summary
        from .runtime import ZSSRModel

        summary = {**training_summary(result.steps, result.seconds, result.precision, result.device), **cfg.extra}
        min_side = pipeline_min_size(result.pipeline)
        too_small = min(result.pipeline_input.shape[:2]) < min_side
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(save_model) if save_model is not None else Path(tmp) / "model.onnx"
            if save_model is not None or not too_small:
                export_pipeline(result.pipeline, path, summary, overwrite=True)
            if too_small:
                # The graph's mirror padding needs min_side pixels; the fit is not thrown away for that:
                # the same module runs in torch (the math is defined once, so the result is the same).
                log.warning("the image (%dx%d) is below the ONNX graph's minimum side of %d pixels at this scale: "
                            "final inference runs in torch", *result.pipeline_input.shape[:2], min_side)
                sr = _torch_inference(result)
            else:
                sr, providers = _onnx_inference(ZSSRModel(path, provider=provider), result, tile, tile_progress)
        model_path = Path(save_model) if save_model is not None else None
    else:
        sr = result.output
    alpha = None
    if img.alpha is not None:
        h, w = sr.shape[:2]
        alpha = np.clip(imresize(img.alpha, cfg.final_scale, output_shape=(h, w)), 0.0, 1.0)
    write_image(out, sr, alpha=alpha, bit_depth=img.bit_depth, overwrite=overwrite)
    _remove_checkpoint(checkpoint)
    psnr_v = ssim_v = None
    if gt is not None:
        psnr_v, ssim_v = score_output(sr, gt, int(round(max(cfg.final_scale))))
    return FitAndRunReport(out, model_path, providers, [s.iterations for s in result.steps],
                           [s.learning_rate_drops for s in result.steps], result.seconds, result.device,
                           result.precision, psnr_v, ssim_v)


def fit_model(input_path: str | Path, model_path: str | Path, scale: object = 2.0, preset: str = "ideal",
              kernel_path: str | Path | None = None, max_iters: int | None = None, seed: int = 0,
              device: str = "auto", precision: str = "auto", overwrite: bool = False, progress=None,
              static_shape: tuple[int, int] | None = None, network_only: bool = False,
              checkpoint: str | Path | None = None, **overrides: object) -> tuple[Path, list[int], float]:
    """Fit ZSSR to an image and export the result to ONNX (the pipeline, or the network alone).

    ``checkpoint``: as in :func:`upscale_image`; removed once the model is written.
    """
    from .exporters import export_network, export_pipeline, training_summary
    from .trainers.zssr import fit

    check_output_path(model_path, overwrite, (".onnx",))
    img = read_image(input_path)
    kernel = load_kernel(kernel_path) if kernel_path is not None else None
    cfg = build_config(preset, scale, max_iters, seed, device, precision, **overrides)
    result = fit(img.pixels, cfg, kernel=kernel, progress=progress, final_inference=False, checkpoint=checkpoint)
    summary = {**training_summary(result.steps, result.seconds, result.precision, result.device), **cfg.extra}
    if network_only:
        path = export_network(result.pipeline.net, model_path, result.pipeline.scale, summary, static_shape, overwrite)
    else:
        path = export_pipeline(result.pipeline, model_path, summary, static_shape, overwrite)
    _remove_checkpoint(checkpoint)
    return path, [s.iterations for s in result.steps], result.seconds


def run_model(model_path: str | Path, input_path: str | Path, output_path: str | Path, tile: int | None = None,
              provider: str = "auto", fp16: bool = False, trt_cache_dir: str | None = None, overwrite: bool = False,
              tile_progress=None) -> tuple[Path, list[str]]:
    """Super-resolve an image with an exported pipeline through ONNX Runtime (no torch involved)."""
    from .errors import InvalidImageError
    from .runtime import ZSSRModel

    out = check_output_path(output_path, overwrite)
    model = ZSSRModel(model_path, provider=provider, fp16=fp16, trt_cache_dir=trt_cache_dir)
    if model.metadata.kind != "pipeline":
        raise InvalidImageError("this model is a network-only export: run it on a cubic-upscaled image from your own "
                                "pipeline, or export the whole pipeline with 'zssr-deploy fit'")
    img = read_image(input_path)
    px = img.pixels
    gray_via_rgb = px.shape[2] == 1 and model.metadata.channels == 3
    if gray_via_rgb:
        px = np.repeat(px, 3, axis=2)
    tile = _auto_tile(tile, px.shape)
    sr = model.run_tiled(px, tile, tile_progress) if tile else model.run(px)
    if gray_via_rgb:
        sr = sr.mean(axis=2, keepdims=True)
    alpha = None
    if img.alpha is not None:
        alpha = np.clip(imresize(img.alpha, model.metadata.scale, output_shape=sr.shape[:2]), 0.0, 1.0)
    write_image(out, sr, alpha=alpha, bit_depth=img.bit_depth, overwrite=overwrite)
    return out, model.providers
