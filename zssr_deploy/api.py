"""The fit journeys: fit-and-run (an array-level core under a file-level reader and writer) and fit-and-export.
The run-only journey is :mod:`zssr_deploy.runtime.run` (no torch), evaluation's upscaler
:class:`zssr_deploy.evaluate.ZSSRUpscaler`, kernel estimation :mod:`zssr_deploy.blind`.

Settings arrive as one :class:`~zssr_deploy.trainers.config.ZSSRConfig` (see
:func:`~zssr_deploy.trainers.config.build_config`) and the kernel as one
:class:`~zssr_deploy.blind.config.KernelSource`; everything that can be checked before the fit (paths, kernel,
image, settings, ground truth, tile against the halo, the scale against the exporter) is checked before it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .blind.config import KernelFinding, KernelSource
from .compute import Compute
from .errors import ConfigError
from .files import check_model_path
from .imageops.scale import check_dynamic_scale, output_length
from .io import check_image_path, read_image
from .journey import Callbacks, FitAndRunReport, ModelExport, Phases
from .metrics import score_output
from .runtime.run import Inference, onnx_inference, same_file, write_or_rescue
from .runtime.session import runs_on_gpu

if TYPE_CHECKING:
    from .trainers.config import ZSSRConfig
    from .trainers.fitting import FitPlan, FitResult

__all__ = ["Callbacks", "FitAndRunReport", "Inference", "Phases", "PreparedFit", "finish_array", "fit_model",
           "prepare_array", "upscale_array", "upscale_image", "wants_final_inference"]

log = logging.getLogger(__name__)


def _estimated(image: np.ndarray, config: ZSSRConfig, kernel: KernelSource, progress: Callable[[int, int], None] | None,
               phases: Phases) -> tuple[np.ndarray | None, KernelFinding | None]:
    """The kernel array the fit assumes (None: bicubic), estimating it from ``image`` first if the source says
    so; the estimate's finding."""
    if not kernel.is_estimate:
        return kernel.array, None
    from .blind.estimate import estimate_kernel

    with phases("kernel"):
        found = estimate_kernel(image, config.final_scale, kernel.estimation, progress)  # type: ignore[arg-type]
    return found.kernel, found.summary()


def _plan(image: np.ndarray, config: ZSSRConfig | None, kernel: KernelSource,
          progress: Callable[[int, int], None] | None = None,
          phases: Phases | None = None) -> tuple[FitPlan, KernelFinding | None]:
    """Check the image, the kernel and the settings (each validated once, before any fit), estimating the
    kernel first when the source says so."""
    from .trainers.config import ZSSRConfig, check_kernel_preset
    from .trainers.fitting import plan_fit

    config = config or ZSSRConfig()
    check_kernel_preset(config, kernel.kind != "bicubic")
    if kernel.is_estimate:
        plan_fit(image, config)  # image and settings are checked before the estimation, too
    array, finding = _estimated(image, config, kernel, progress, phases or Phases())
    return plan_fit(image, config, array), finding


def _summary(result: FitResult, config: ZSSRConfig, finding: KernelFinding | None) -> dict:
    """The ``zssr.training`` metadata: the fit, the preset, and how the kernel was found."""
    from .exporters import training_summary

    summary = {**training_summary(result.steps, result.seconds, result.precision, result.device), **config.extra}
    return {**summary, "kernel_estimate": finding.to_json()} if finding is not None else summary


def _final_image(result: FitResult, config: ZSSRConfig, inference: Inference, save_model: str | Path | None,
                 tiles, finding: KernelFinding | None, phases: Phases) -> tuple[np.ndarray, list[str], bool]:
    """The fitted pipeline's output, exported and run through ONNX Runtime (or in torch); the providers, and
    whether the export came from the cache."""
    from .exporters import export_pipeline_cached
    from .runtime import ZSSRModel

    if inference.engine == "torch":
        if not inference.fp16:
            return result.output, ["torch"], False
        with phases("inference"):
            return _torch_output(result, inference), ["torch"], False
    summary = _summary(result, config, finding)
    half = inference.fp16 and runs_on_gpu(inference.provider)
    if inference.fp16 and not half:
        # ONNX Runtime's CPU float16 kernels are slower than its float32 ones (1.3x, AMD EPYC, 2026-12-05)
        log.warning("--fp16: no GPU provider here, so the float32 graph runs (a float16 graph is slower on the CPU)")
    lr, pipeline = result.pipeline_input, result.pipeline.half_for("cuda") if half else result.pipeline
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
                return _torch_output(result, inference), ["torch"], cached
            model = ZSSRModel(path, provider=inference.provider, threads=inference.compute.threads,
                              device_id=inference.compute.device_id)
            return onnx_inference(model, lr, inference.tile, tiles), list(model.providers), cached


def _torch_output(result: FitResult, inference: Inference) -> np.ndarray:
    """The last pipeline run in torch on the fit's device; its network in half precision with ``--fp16``."""
    from .trainers.fitting import run_pipeline

    pipeline = result.pipeline.half_for(result.device) if inference.fp16 else result.pipeline
    return run_pipeline(pipeline, result.pipeline_input, result.device)


def _check_outputs(input_path: str | Path, output_path: str | Path, save_model: str | Path | None, overwrite: bool,
                   inference: Inference) -> Path:
    """Everything about the output files that can fail, checked before the fit: paths writable and new (or
    ``overwrite``), none of them the input (refused even with ``overwrite``: that would destroy the original),
    and the ONNX Runtime provider available."""
    out = check_image_path(output_path, overwrite)
    if same_file(input_path, out):
        raise ConfigError(f"the output {str(out)!r} is the input file: writing it would destroy the original, even "
                          "with --overwrite; choose another output name")
    if save_model is not None and (same_file(input_path, save_model) or same_file(out, save_model)):
        raise ConfigError(f"--save-model {str(save_model)!r} is the input or the output file")
    return out


def _preflight(image: np.ndarray, config: ZSSRConfig, gt: np.ndarray | None, inference: Inference,
               save_model: str | Path | None, overwrite: bool) -> None:
    """What the array core checks before planning: the model path, the provider, the ground truth's size
    (``ceil(n * s)`` per axis) and whether the exporter can take the scale."""
    if save_model is not None:
        check_model_path(save_model, overwrite)
    if inference.engine == "onnx":
        from .runtime import check_provider

        check_provider(inference.provider)
    if inference.engine == "onnx" or save_model is not None:
        check_dynamic_scale(config.relative_scales[-1], "use --engine torch (and no --save-model), or a scale such as "
                                                        "1.5, 2, 2.5, 3 or 4/3")
    if gt is not None:
        want = (output_length(image.shape[0], config.final_scale[0]), output_length(image.shape[1], config.final_scale[1]))
        if gt.shape[:2] != want:
            raise ConfigError(f"--gt is {gt.shape[1]}x{gt.shape[0]} but the output will be {want[1]}x{want[0]}: give "
                              "the ground truth of this input at this scale")


@dataclass(frozen=True)
class PreparedFit:
    """An image checked, its kernel found and its fit planned (:func:`prepare_array`): what
    :func:`finish_array` needs once the fit (lone or packed) is over."""

    plan: FitPlan
    finding: KernelFinding | None
    """How the kernel was estimated (None: assumed bicubic or given)."""
    gt: np.ndarray | None
    """The ground truth to score the output against."""
    phases: Phases


def prepare_array(image: np.ndarray, config: ZSSRConfig | None = None, *, kernel: KernelSource = KernelSource(),
                  gt: np.ndarray | None = None, save_model: str | Path | None = None, inference: Inference = Inference(),
                  overwrite: bool = False, callbacks: Callbacks = Callbacks(), phases: Phases | None = None) -> PreparedFit:
    """Everything :func:`upscale_array` does before training (arguments as there): the checks, the kernel."""
    from .models.device import use_threads
    from .trainers.config import ZSSRConfig

    phases, config = phases or Phases(callbacks.phase), config or ZSSRConfig()
    _preflight(image, config, gt, inference, save_model, overwrite)
    use_threads(inference.compute)  # the estimate's and the fit's (the device is the config's)
    plan, finding = _plan(image, config, kernel, callbacks.kernel, phases)
    if inference.tile is not None and inference.engine == "onnx" and inference.tile < plan.final_halo:
        raise ConfigError(f"tile {inference.tile} is smaller than the model's halo of {plan.final_halo} LR pixels: "
                          f"use --tile {plan.final_halo} or more")
    return PreparedFit(plan, finding, gt, phases)


def finish_array(prepared: PreparedFit, result: FitResult, *, save_model: str | Path | None = None,
                 inference: Inference = Inference(), callbacks: Callbacks = Callbacks()) -> tuple[np.ndarray, FitAndRunReport]:
    """Everything :func:`upscale_array` does after training: the final image (exported and run, or the fit's
    own output), its scores and the report. ``result`` comes from a fit with ``final_inference`` as
    :func:`wants_final_inference` says."""
    plan, finding, gt, phases = prepared.plan, prepared.finding, prepared.gt, prepared.phases
    sr, providers, cached = _final_image(result, plan.config, inference, save_model, callbacks.tiles, finding, phases)
    psnr, ssim = score_output(sr, gt, int(round(max(plan.config.final_scale)))) if gt is not None else (None, None)
    return sr, FitAndRunReport(
        model_path=Path(save_model) if save_model is not None and inference.engine == "onnx" else None,
        providers=providers, iterations=[s.iterations for s in result.steps],
        learning_rate_drops=[s.learning_rate_drops for s in result.steps], seconds=result.seconds, device=result.device,
        precision=result.precision, psnr=psnr, ssim=ssim, kernel=finding, kernel_used=plan.kernel, phases=phases.seconds,
        wall_seconds=phases.wall(), export_cached=cached)


def wants_final_inference(inference: Inference) -> bool:
    """Whether the fit itself runs the last pipeline (the torch engine in float32) or leaves it to ONNX Runtime
    or a half-precision run."""
    return inference.engine == "torch" and not inference.fp16


def upscale_array(image: np.ndarray, config: ZSSRConfig | None = None, *, kernel: KernelSource = KernelSource(),
                  gt: np.ndarray | None = None, save_model: str | Path | None = None, inference: Inference = Inference(),
                  overwrite: bool = False, checkpoint: str | Path | None = None, callbacks: Callbacks = Callbacks(),
                  phases: Phases | None = None) -> tuple[np.ndarray, FitAndRunReport]:
    """Fit ZSSR to ``image`` (float32 ``HxWxC`` in [0, 1], C = 1 or 3) and super-resolve it: float32
    ``ceil(H*sy) x ceil(W*sx) x C`` in [0, 1], and the report (its ``output_path`` None: nothing is written but
    ``save_model``).

    ``gt``: the ground truth of the output's size, scored (Y-PSNR, SSIM). ``checkpoint``: a file for the training
    state between gradual steps (an existing one is resumed from); the caller removes it once the result is safe.
    """
    from .trainers.fitting import run_fit

    prepared = prepare_array(image, config, kernel=kernel, gt=gt, save_model=save_model, inference=inference,
                             overwrite=overwrite, callbacks=callbacks, phases=phases)
    with prepared.phases("training"):
        result = run_fit(prepared.plan, callbacks.progress, final_inference=wants_final_inference(inference),
                         checkpoint=checkpoint, on_step=callbacks.on_step)
    return finish_array(prepared, result, save_model=save_model, inference=inference, callbacks=callbacks)


def upscale_image(input_path: str | Path, output_path: str | Path, config: ZSSRConfig | None = None, *,
                  kernel: KernelSource = KernelSource(), gt_path: str | Path | None = None,
                  save_model: str | Path | None = None, inference: Inference = Inference(), overwrite: bool = False,
                  checkpoint: str | Path | None = None, callbacks: Callbacks = Callbacks()) -> FitAndRunReport:
    """Read an image file, fit ZSSR, super-resolve it (:func:`upscale_array`) and write the result (alpha
    upscaled with MATLAB bicubic, the input's bit depth). ``checkpoint``: as in :func:`upscale_array`; it is
    removed once the output is written."""
    from .trainers.config import ZSSRConfig

    phases, config = Phases(callbacks.phase), config or ZSSRConfig()
    out = _check_outputs(input_path, output_path, save_model, overwrite, inference)
    img = read_image(input_path)
    gt = read_image(gt_path).pixels if gt_path is not None else None
    sr, report = upscale_array(img.pixels, config, kernel=kernel, gt=gt, save_model=save_model, inference=inference,
                               overwrite=overwrite, checkpoint=checkpoint, callbacks=callbacks, phases=phases)
    with phases("write"):
        write_or_rescue(out, sr, img, config.final_scale, overwrite)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)  # spent, now that the result is safely written
    return replace(report, output_path=out, phases=phases.seconds, wall_seconds=phases.wall())


def fit_model(input_path: str | Path, model_path: str | Path, config: ZSSRConfig | None = None, *,
              kernel: KernelSource = KernelSource(), export: ModelExport = ModelExport(), overwrite: bool = False,
              checkpoint: str | Path | None = None, callbacks: Callbacks = Callbacks(),
              compute: Compute = Compute()) -> tuple[Path, list[int], float]:
    """Fit ZSSR to an image and export the result to ONNX as ``export`` says (the pipeline, or the network
    alone); returns the model's path, the iterations per step and the fit seconds. ``checkpoint``: as in
    :func:`upscale_image`; ``compute``: its threads are the fit's (its device reaches the trainer as
    ``config.device``)."""
    from .exporters import export_network, export_pipeline_cached
    from .models.device import use_threads
    from .trainers.config import ZSSRConfig
    from .trainers.fitting import run_fit

    config = config or ZSSRConfig()
    check_model_path(model_path, overwrite)
    static_shape = export.static_shape
    if export.fp16 and export.network_only:
        raise ConfigError("--fp16 exports the whole pipeline with its network in float16; not with --network-only")
    if static_shape is None and not export.network_only:
        check_dynamic_scale(config.relative_scales[-1], "give --static-shape H,W (the graph is then specialised to it)")
    use_threads(compute)
    plan, finding = _plan(read_image(input_path).pixels, config, kernel, callbacks.kernel)
    result = run_fit(plan, callbacks.progress, final_inference=False, checkpoint=checkpoint, on_step=callbacks.on_step)
    summary = _summary(result, plan.config, finding)
    if export.network_only:
        path = export_network(result.pipeline.net, model_path, result.pipeline.scale, summary, static_shape, overwrite)
    else:
        pipeline = result.pipeline.half_for("cuda") if export.fp16 else result.pipeline  # a float16 graph for a GPU
        path, _ = export_pipeline_cached(pipeline, model_path, summary, static_shape, overwrite)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return path, [s.iterations for s in result.steps], result.seconds
