"""High-level entry points that join reading, fitting, inference and writing (used by the CLI).

Settings arrive as one :class:`~zssr_deploy.trainers.config.ZSSRConfig` (see
:func:`~zssr_deploy.trainers.config.build_config`); everything that can be checked before the fit (paths,
kernel, image, settings, tile against the halo) is checked before it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import ConfigError, ModelError, OutputError
from .evaluate import score_output
from .files import check_model_path, check_output_path
from .imageops.kernels import read_kernel_file
from .imageops.resize import imresize, output_length
from .imageops.scale import scale_pair
from .io import Image, check_image_path, read_image, write_image

if TYPE_CHECKING:
    from .runtime import ZSSRModel
    from .trainers.config import ZSSRConfig
    from .trainers.fitting import FitPlan, FitResult, StepEvent
    from .trainers.step import Progress

__all__ = ["Callbacks", "FitAndRunReport", "Inference", "ZSSRUpscaler", "estimate_kernel_file", "fit_model",
           "load_pipeline_model", "run_loaded", "run_model", "upscale_image"]

log = logging.getLogger(__name__)

#: images with more LR pixels than this run tiled even without --tile (bounded memory)
AUTO_TILE_PIXELS = 512 * 512
AUTO_TILE = 256


@dataclass(frozen=True)
class Inference:
    """How the final image of ``fit-and-run`` is computed."""

    engine: str = "onnx"
    """'onnx': export the fitted pipeline and run it through ONNX Runtime, exactly as ``zssr-deploy run`` would;
    'torch': the same module in torch."""
    provider: str = "auto"
    """ONNX Runtime provider: auto (TensorRT, CUDA, CPU), cpu, cuda or tensorrt."""
    tile: int | None = None
    """Tiles of this many LR pixels (bounded memory); automatic above 512x512 pixels."""
    threads: int | None = None
    """ONNX Runtime's intra-op threads on CPU (None: its own choice, all cores)."""
    gpu: int = 0
    """The GPU of the CUDA and TensorRT providers."""

    def __post_init__(self) -> None:
        if self.engine not in ("onnx", "torch"):
            raise ConfigError(f"engine must be 'onnx' or 'torch', got {self.engine!r}")


@dataclass(frozen=True)
class Callbacks:
    """What a caller (the CLI's progress bars, a test) is told while the work goes on."""

    progress: Callable[[Progress], None] | None = None
    """Training progress (see :class:`~zssr_deploy.trainers.step.Progress`)."""
    on_step: Callable[[StepEvent], None] | None = None
    """Before and after each scale step (see :class:`~zssr_deploy.trainers.fitting.StepEvent`)."""
    tiles: Callable[[int, int], None] | None = None
    """``(done, total)`` after each inference tile."""
    kernel: Callable[[int, int], None] | None = None
    """``(done, total)`` after each kernel-estimation iteration (``--kernel estimate``)."""
    phase: Callable[[str], None] | None = None
    """At the start of each phase of ``upscale_image``: kernel, training, export, inference, write."""


class Phases:
    """Seconds per phase of a fit-and-run (kernel, training, export, inference, write), each announced to
    ``Callbacks.phase`` as it starts, so the progress display and the closing summary tell the whole wall time."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.announce = announce
        self.t0 = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.announce is not None:
            self.announce(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t, 3)

    def wall(self) -> float:
        return time.perf_counter() - self.t0


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
    kernel: dict | None = None
    """How the kernel was found: None (assumed bicubic or given), or the estimate's summary."""
    kernel_used: np.ndarray | None = None
    """The kernel the fit assumed (given, or estimated and accepted); None: MATLAB bicubic."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds of each phase: kernel (when estimated), training, export, inference, write."""
    wall_seconds: float = 0.0
    """From the call to the written file."""
    export_cached: bool = False
    """The ONNX graph came from the export cache (only the weights were written)."""


def _auto_tile(tile: int | None, hw: tuple[int, ...]) -> int | None:
    if tile is None and hw[0] * hw[1] > AUTO_TILE_PIXELS:
        log.info("large image (%dx%d): tiled inference, %d LR pixels a tile", hw[0], hw[1], AUTO_TILE)
        return AUTO_TILE
    return tile


#: the ``kernel_path`` that asks for the kernel to be estimated from the image
ESTIMATE = "estimate"


def estimate_for(lr: np.ndarray, config: ZSSRConfig, progress: Callable[[int, int], None] | None = None):
    """Estimate the kernel of ``lr`` for the config's final scale, with its seed, device and iterations."""
    from .trainers.kernel_estimation import KernelEstimationConfig, estimate_kernel
    from .trainers.kernel_gan import KernelGANConfig

    settings = KernelEstimationConfig(gan=KernelGANConfig(iterations=config.kernel_estimation_iters),
                                      seed=config.seed, device=config.device, method=config.kernel_estimator)
    return estimate_kernel(lr, config.final_scale, settings, progress)


def _plan(input_path: str | Path, config: ZSSRConfig | None, kernel_path: str | Path | None,
          progress: Callable[[int, int], None] | None = None,
          phases: Phases | None = None) -> tuple[Image, FitPlan, dict | None]:
    """Read the image and the kernel (or estimate it), and check them with the settings (each validated once,
    before any fit); the third item summarises an estimate."""
    from .trainers.config import ZSSRConfig, check_kernel_preset
    from .trainers.fitting import plan_fit

    check_kernel_preset(config or ZSSRConfig(), kernel_path is not None)
    img, estimate = read_image(input_path), None
    if kernel_path is not None and str(kernel_path) == ESTIMATE:
        config = config or ZSSRConfig()
        plan_fit(img.pixels, config)  # image and settings are checked before the estimation, too
        with phases("kernel") if phases is not None else nullcontext():
            found = estimate_for(img.pixels, config, progress)
        kernel, estimate = found.kernel, found.summary()
    else:
        kernel = read_kernel_file(kernel_path) if kernel_path is not None else None
    return img, plan_fit(img.pixels, config, kernel), estimate


def _remove_checkpoint(checkpoint: str | Path | None) -> None:
    """A finished fit's checkpoint is spent: remove it (only after the result is safely written)."""
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)


def _write_with_alpha(out: Path, sr: np.ndarray, img: Image, scale: tuple[float, float], overwrite: bool) -> None:
    """Write the SR image; an alpha channel is upscaled with MATLAB bicubic and re-attached."""
    alpha = None
    if img.alpha is not None:
        alpha = np.clip(imresize(img.alpha, scale, output_shape=sr.shape[:2]), 0.0, 1.0)
    write_image(out, sr, alpha=alpha, bit_depth=img.bit_depth, overwrite=overwrite)


def _onnx_inference(model: ZSSRModel, lr: np.ndarray, tile: int | None, tiles) -> np.ndarray:
    """The final inference through ONNX Runtime, tiled for large images (a tile below the model's halo is a
    :class:`ConfigError`)."""
    tile = _auto_tile(tile, lr.shape)
    if tile:
        return model.run_tiled(lr, tile, tiles)
    out = model.run(lr)
    if tiles is not None:
        tiles(1, 1)  # the whole image is one tile: the display shows the inference phase all the same
    return out


def _summary(result: FitResult, config: ZSSRConfig, estimate: dict | None) -> dict:
    """The ``zssr.training`` metadata: the fit, the preset, and how the kernel was found."""
    from .exporters import training_summary

    summary = {**training_summary(result.steps, result.seconds, result.precision, result.device), **config.extra}
    return {**summary, "kernel_estimate": estimate} if estimate is not None else summary


def _final_image(result: FitResult, config: ZSSRConfig, inference: Inference, save_model: str | Path | None,
                 tiles, estimate: dict | None, phases: Phases) -> tuple[np.ndarray, list[str], bool]:
    """The fitted pipeline's output, exported and run through ONNX Runtime (or in torch); the providers, and
    whether the export came from the cache."""
    from .exporters import export_pipeline_cached
    from .runtime import ZSSRModel
    from .trainers.fitting import run_pipeline

    if inference.engine == "torch":
        return result.output, ["torch"], False
    summary = _summary(result, config, estimate)
    lr, pipeline = result.pipeline_input, result.pipeline
    too_small, cached = min(lr.shape[:2]) < pipeline.min_size, False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(save_model) if save_model is not None else Path(tmp) / "model.onnx"
        if save_model is not None or not too_small:
            with phases("export"):
                _, cached = export_pipeline_cached(pipeline, path, summary, overwrite=True)
        with phases("inference"):
            if too_small:
                # The graph's mirror padding needs min_size pixels; the fit is not thrown away for that: the same
                # module runs in torch (the math is defined once, so the result is the same).
                log.warning("the image (%dx%d) is below the ONNX graph's minimum side of %d pixels at this scale: "
                            "final inference runs in torch", *lr.shape[:2], pipeline.min_size)
                return run_pipeline(pipeline, lr, result.device), ["torch"], cached
            model = ZSSRModel(path, provider=inference.provider, threads=inference.threads, device_id=inference.gpu)
            return _onnx_inference(model, lr, inference.tile, tiles), list(model.providers), cached


def _same_file(a: str | Path, b: str | Path) -> bool:
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def _preflight_paths(input_path: str | Path, output_path: str | Path, save_model: str | Path | None, overwrite: bool,
                     inference: Inference) -> Path:
    """Everything about the outputs that can fail, checked before the fit: paths writable and new (or
    ``overwrite``), none of them the input (refused even with ``overwrite``: that would destroy the original),
    and the ONNX Runtime provider available."""
    out = check_image_path(output_path, overwrite)
    if _same_file(input_path, out):
        raise ConfigError(f"the output {str(out)!r} is the input file: writing it would destroy the original, even "
                          "with --overwrite; choose another output name")
    if save_model is not None:
        check_model_path(save_model, overwrite)
        if _same_file(input_path, save_model) or _same_file(out, save_model):
            raise ConfigError(f"--save-model {str(save_model)!r} is the input or the output file")
    if inference.engine == "onnx":
        from .runtime import check_provider

        check_provider(inference.provider)
    return out


def _ground_truth(gt_path: str | Path | None, lr_hw: tuple[int, ...], scale: tuple[float, float]) -> np.ndarray | None:
    """The ``--gt`` image, refused before the fit unless it has the output's size (``ceil(n * s)`` per axis)."""
    if gt_path is None:
        return None
    gt = read_image(gt_path).pixels
    want = (output_length(lr_hw[0], scale[0]), output_length(lr_hw[1], scale[1]))
    if gt.shape[:2] != want:
        raise ConfigError(f"--gt {str(gt_path)!r} is {gt.shape[1]}x{gt.shape[0]} but the output will be "
                          f"{want[1]}x{want[0]}: give the ground truth of this input at this scale")
    return gt


def _write_or_rescue(out: Path, sr: np.ndarray, img: Image, scale: tuple[float, float], overwrite: bool) -> None:
    """Write the result; if that fails now (disk full, permissions changed during the fit), the fit is not lost:
    the result goes to the temporary folder and the error says where."""
    try:
        _write_with_alpha(out, sr, img, scale, overwrite)
    except (OutputError, OSError) as exc:
        rescue_dir = Path(tempfile.gettempdir()) / "zssr-deploy-rescued"
        rescue_dir.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{out.stem}-", suffix=".png", dir=rescue_dir)
        os.close(fd)
        rescue = Path(name)
        _write_with_alpha(rescue, sr, img, scale, overwrite=True)
        raise OutputError(f"cannot write {str(out)!r} ({exc}); the result was saved to {str(rescue)!r}: move it "
                          "where you want it") from None


def upscale_image(input_path: str | Path, output_path: str | Path, config: ZSSRConfig | None = None, *,
                  kernel_path: str | Path | None = None, gt_path: str | Path | None = None,
                  save_model: str | Path | None = None, inference: Inference = Inference(), overwrite: bool = False,
                  checkpoint: str | Path | None = None, callbacks: Callbacks = Callbacks()) -> FitAndRunReport:
    """Read an image, fit ZSSR, super-resolve it and write the result (alpha upscaled with bicubic).

    ``checkpoint``: a file for the training state between gradual steps; an existing one is resumed from
    (same image and settings), and it is removed once the output is written. ``gt_path``: a ground truth of
    the output's size, scored (Y-PSNR, SSIM) in the report.
    """
    from .trainers.fitting import run_fit

    phases = Phases(callbacks.phase)
    out = _preflight_paths(input_path, output_path, save_model, overwrite, inference)
    img, plan, estimate = _plan(input_path, config, kernel_path, callbacks.kernel, phases)
    gt = _ground_truth(gt_path, img.pixels.shape[:2], plan.config.final_scale)
    if inference.tile is not None and inference.engine == "onnx" and inference.tile < plan.final_halo:
        raise ConfigError(f"tile {inference.tile} is smaller than the model's halo of {plan.final_halo} LR pixels: "
                          f"use --tile {plan.final_halo} or more")
    with phases("training"):
        result = run_fit(plan, callbacks.progress, final_inference=inference.engine == "torch", checkpoint=checkpoint,
                         on_step=callbacks.on_step)
    sr, providers, cached = _final_image(result, plan.config, inference, save_model, callbacks.tiles, estimate, phases)
    with phases("write"):
        _write_or_rescue(out, sr, img, plan.config.final_scale, overwrite)
    _remove_checkpoint(checkpoint)
    scores = score_output(sr, gt, int(round(max(plan.config.final_scale)))) if gt is not None else (None, None)
    model_path = Path(save_model) if save_model is not None and inference.engine == "onnx" else None
    return FitAndRunReport(out, model_path, providers, [s.iterations for s in result.steps],
                           [s.learning_rate_drops for s in result.steps], result.seconds, result.device,
                           result.precision, *scores, estimate, plan.kernel, phases.seconds, phases.wall(), cached)


def fit_model(input_path: str | Path, model_path: str | Path, config: ZSSRConfig | None = None, *,
              kernel_path: str | Path | None = None, static_shape: tuple[int, int] | None = None,
              network_only: bool = False, overwrite: bool = False, checkpoint: str | Path | None = None,
              callbacks: Callbacks = Callbacks()) -> tuple[Path, list[int], float]:
    """Fit ZSSR to an image and export the result to ONNX (the pipeline, or the network alone); returns the
    model's path, the iterations per step and the fit seconds. ``checkpoint``: as in :func:`upscale_image`."""
    from .exporters import export_network, export_pipeline_cached
    from .trainers.fitting import run_fit

    check_model_path(model_path, overwrite)
    _, plan, estimate = _plan(input_path, config, kernel_path, callbacks.kernel)
    result = run_fit(plan, callbacks.progress, final_inference=False, checkpoint=checkpoint, on_step=callbacks.on_step)
    summary = _summary(result, plan.config, estimate)
    if network_only:
        path = export_network(result.pipeline.net, model_path, result.pipeline.scale, summary, static_shape, overwrite)
    else:
        path, _ = export_pipeline_cached(result.pipeline, model_path, summary, static_shape, overwrite)
    _remove_checkpoint(checkpoint)
    return path, [s.iterations for s in result.steps], result.seconds


def load_pipeline_model(model_path: str | Path, provider: str = "auto", fp16: bool = False,
                        trt_cache_dir: str | None = None, threads: int | None = None, gpu: int = 0) -> ZSSRModel:
    """Load an exported pipeline for ``run`` (a network-only export is a :class:`ModelError`)."""
    from .runtime import ZSSRModel

    model = ZSSRModel(model_path, provider=provider, fp16=fp16, trt_cache_dir=trt_cache_dir, threads=threads,
                      device_id=gpu)
    if model.metadata.kind != "pipeline":
        raise ModelError(f"{str(model_path)!r} is a network-only export: run it on a cubic-upscaled image from "
                         "your own pipeline, or export the whole pipeline with 'zssr-deploy fit'")
    return model


def run_loaded(model: ZSSRModel, input_path: str | Path, output_path: str | Path, tile: int | None = None,
               overwrite: bool = False, tile_progress=None) -> Path:
    """Super-resolve one image with a loaded pipeline model and write it (atomically); returns the path."""
    out = check_image_path(output_path, overwrite)
    img = read_image(input_path)
    px = img.pixels
    gray_via_rgb = px.shape[2] == 1 and model.metadata.channels == 3
    if gray_via_rgb:
        px = np.repeat(px, 3, axis=2)
    sr = _onnx_inference(model, px, tile, tile_progress)
    if gray_via_rgb:
        sr = sr.mean(axis=2, keepdims=True)
    _write_with_alpha(out, sr, img, model.metadata.scale, overwrite)
    return out


def run_model(model_path: str | Path, input_path: str | Path, output_path: str | Path, inference: Inference = Inference(),
              fp16: bool = False, trt_cache_dir: str | None = None, overwrite: bool = False,
              tile_progress=None) -> tuple[Path, list[str]]:
    """Super-resolve an image with an exported pipeline through ONNX Runtime (no torch involved); ``inference``
    gives the provider, tile, threads and GPU (its engine is ONNX Runtime here, whatever it says)."""
    check_image_path(output_path, overwrite)
    if _same_file(input_path, output_path):
        raise ConfigError(f"the output {str(output_path)!r} is the input file: choose another output name")
    model = load_pipeline_model(model_path, inference.provider, fp16, trt_cache_dir, inference.threads, inference.gpu)
    return run_loaded(model, input_path, output_path, inference.tile, overwrite, tile_progress), model.providers


class ZSSRUpscaler:
    """An upscaler for :class:`zssr_deploy.evaluate.FolderEvaluation` that fits ZSSR to each LR image.

    After each call, ``last_fit`` says how the fit went: iterations and learning-rate drops per step, total
    fit seconds (across a resume) and the steps restored from ``checkpoint`` (give one upscaler per image when
    using a checkpoint).
    """

    def __init__(self, config: ZSSRConfig, checkpoint: str | Path | None = None,
                 on_step: Callable[[StepEvent], None] | None = None, kernel: np.ndarray | str | None = None,
                 true_kernel: np.ndarray | None = None) -> None:
        self.config, self.checkpoint, self.on_step = config, checkpoint, on_step
        self.kernel, self.true_kernel = kernel, true_kernel
        self.last_fit: dict = {}

    def _kernel(self, lr: np.ndarray) -> tuple[np.ndarray | None, dict]:
        """The kernel to fit with (``kernel="estimate"``: estimated from ``lr``) and what to report of it."""
        if not (isinstance(self.kernel, str) and self.kernel == ESTIMATE):
            return self.kernel, {}  # type: ignore[return-value]
        from .trainers.kernel_estimation import kernel_psnr, stretch_kernel

        found, scale = estimate_for(lr, self.config), self.config.final_scale
        facts = {"kernel": found.summary()}
        if self.true_kernel is not None:  # how close the estimate came (FKP's kernel PSNR), fallback or not
            facts["kernel"]["kernel_psnr"] = round(kernel_psnr(stretch_kernel(found.x2_kernel, scale), self.true_kernel,
                                                               scale), 3)
        return found.kernel, facts

    def __call__(self, lr: np.ndarray, scale: float) -> np.ndarray:
        from .trainers.fitting import fit

        if scale_pair(scale) != self.config.final_scale:
            raise ConfigError(f"this upscaler was set up for x{self.config.final_scale}, not x{scale}")
        kernel, facts = self._kernel(lr)
        result = fit(lr, self.config, kernel=kernel, checkpoint=self.checkpoint, on_step=self.on_step)
        self.last_fit = {**facts, "iterations": [s.iterations for s in result.steps],
                         "learning_rate_drops": [list(s.learning_rate_drops) for s in result.steps],
                         "fit_seconds": round(result.seconds, 3), "resumed_steps": result.resumed_steps,
                         "device": result.device, "precision": result.precision}
        log.info("fit: %s, %.1f s", [(s.iterations, s.learning_rate_drops) for s in result.steps], result.seconds)
        return result.output


def estimate_kernel_file(input_path: str | Path, output_path: str | Path, scale: str | float = 2.0, seed: int = 0,
                         png: str | Path | None = None, overwrite: bool = False,
                         iterations: int | None = None, method: str | None = None,
                         progress: Callable[[int, int], None] | None = None):
    """Estimate an image's downscaling kernel and write it (``.npy``, or ``.mat`` with variable ``Kernel``), and
    optionally a magnified picture of it. When the estimate is rejected (a flat image, or one without edges), MATLAB
    bicubic's kernel is written and the returned estimate says why. Returns the
    :class:`~zssr_deploy.trainers.kernel_estimation.KernelEstimate`."""
    from .datasets import write_kernel
    from .imageops.kernels import bicubic_kernel, kernel_picture
    from .trainers.config import parse_scale
    from .trainers.kernel_estimation import KernelEstimationConfig, estimate_kernel
    from .trainers.kernel_gan import KernelGANConfig

    check_output_path(output_path, overwrite, (".npy", ".mat"))
    if png is not None:
        check_image_path(png, overwrite)
    pair = parse_scale(scale)
    gan = KernelGANConfig() if iterations is None else KernelGANConfig(iterations=iterations)
    settings = KernelEstimationConfig(gan=gan, seed=seed, method=method or KernelEstimationConfig.method)
    found = estimate_kernel(read_image(input_path).pixels, pair, settings, progress)
    kernel = found.kernel if found.kernel is not None else bicubic_kernel(pair)
    write_kernel(output_path, kernel, overwrite)
    if png is not None:
        write_image(png, kernel_picture(kernel), overwrite=overwrite)
    return found
