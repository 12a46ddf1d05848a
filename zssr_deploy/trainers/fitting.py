"""Test-time training of ZSSR on one image (paper section 3; the released code's ``ZSSR.run``).

For each scale step: train the image-specific network on (LR son -> HR father) pairs cut from the image
itself, then super-resolve the image with :class:`~zssr_deploy.models.pipeline.ZSSRPipeline`. In gradual SR
each step's output joins the father sources, and may become the new input (base change).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, KernelError
from ..imageops.guard import check_image
from ..imageops.kernels import is_dihedral_symmetric, shift_kernel, validate_kernel
from ..models.pipeline import ZSSRPipeline, halo_for
from .checkpoint import CheckpointFile
from .config import ZSSRConfig
from .state import FitState, Progress, StepSummary, image_to_tensor, tensor_to_image
from .step import ScaleStep, train_scale_step

__all__ = ["FitPlan", "FitResult", "StepEvent", "fit", "plan_fit", "run_fit", "run_pipeline"]

log = logging.getLogger(__name__)

#: the smallest image side ZSSR trains on
MIN_SIDE = 8


@dataclass(frozen=True)
class FitPlan:
    """A fit's checked inputs: made once by :func:`plan_fit`, so nothing is validated twice."""

    image: np.ndarray
    """float32 ``HxWxC`` in [0, 1], C = 1 or 3."""
    config: ZSSRConfig
    """The settings, with rotations and the ensemble off when the kernel is not dihedral-symmetric."""
    kernel: np.ndarray | None
    """The kernel, normalised to sum 1, or None (MATLAB bicubic)."""
    step_kernels: tuple[np.ndarray | None, ...]
    """Per scale step, the kernel re-centred for that step's relative factor (the reference's rule)."""

    @property
    def final_halo(self) -> int:
        """LR context a tile of the final pipeline needs (what its exported model's ``zssr.halo`` will say)."""
        k = self.step_kernels[-1]
        return halo_for(self.config.relative_scales[-1], self.config.depth, self.config.back_projection_iters[-1],
                        None if k is None else k.shape)


@dataclass(frozen=True)
class StepEvent:
    """Given to ``on_step`` before (``phase == "start"``) and after (``"end"``) each trained scale step."""

    index: int
    steps: int
    phase: str
    step: ScaleStep
    """The step's degradation and prediction (``step.scale``: its factor relative to its input)."""
    state: FitState
    """Everything the fit carries between steps (network, optimizer, sources, settings)."""
    summary: StepSummary | None = None


@dataclass
class FitResult:
    output: np.ndarray
    """float32 ``HxWxC`` in [0, 1]: the super-resolved image (without final inference: the last pipeline's input)."""
    pipeline: ZSSRPipeline
    """The last step's inference pipeline (on CPU, eval mode): what the exporter writes to ONNX."""
    pipeline_input: np.ndarray
    """The LR image the last pipeline takes (the input, or the output a base change made the input)."""
    steps: list[StepSummary] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    precision: str = "fp32"
    resumed_steps: int = 0
    """Scale steps restored from a checkpoint rather than trained in this call (``seconds`` counts both)."""


def _orientation_safe(config: ZSSRConfig, kernel: np.ndarray | None) -> ZSSRConfig:
    if kernel is not None and not is_dihedral_symmetric(kernel) and (config.allow_rotation or config.ensemble):
        # A network trained for one kernel orientation is not rotation-equivariant: rotating fathers (or the
        # input, in the ensemble) would train/apply it on kernels the image was not degraded with.
        log.info("non-symmetric kernel: rotations and the geometric ensemble are turned off")
        return config.replace(allow_rotation=False, ensemble=False)
    return config


def plan_fit(image: np.ndarray, config: ZSSRConfig | None = None, kernel: np.ndarray | None = None) -> FitPlan:
    """Check the image, the kernel and the settings together, before any training (see :func:`fit`)."""
    config = config or ZSSRConfig()
    k = validate_kernel(kernel) if kernel is not None else None
    config = _orientation_safe(config, k)
    img = check_image(image, min_side=MIN_SIDE, finite=True, needs="ZSSR", unit=True)
    h, w = img.shape[:2]
    sy, sx = config.scale_factors[0]
    if min(h / sy, w / sx) < 2:
        raise ConfigError(f"scale {config.scale_factors[0]} is too large for a {h}x{w} image: its son would be under 2 pixels")
    if k is not None and (k.shape[0] > h or k.shape[1] > w):
        raise KernelError(f"kernel {k.shape[0]}x{k.shape[1]} is larger than the {h}x{w} image")
    kernels = tuple(None if k is None else shift_kernel(k, rel, config.kernel_phase) for rel in config.relative_scales)
    return FitPlan(np.clip(img.astype(np.float32), 0.0, 1.0), config, k, kernels)


@torch.no_grad()
def run_pipeline(pipeline: ZSSRPipeline, lr: np.ndarray, device: torch.device | str) -> np.ndarray:
    """Apply an inference pipeline to an ``HxWxC`` float32 image; returns ``H'xW'xC`` float32."""
    device = torch.device(device)
    out = pipeline.to(device).eval()(image_to_tensor(lr, device)[None])
    return tensor_to_image(out[0])


def step_pipeline(state: FitState, plan: FitPlan, i: int, net_tile: int | None) -> ZSSRPipeline:
    """Step ``i``'s inference pipeline around the state's (trained) network."""
    cfg, kernel = state.config, plan.step_kernels[i]
    return ZSSRPipeline(state.net, cfg.relative_scales[i], "cubic" if kernel is None else kernel,
                        cfg.back_projection_iters[i], cfg.ensemble, net_tile=net_tile)


def start_step(state: FitState, plan: FitPlan, i: int, on_step) -> ScaleStep:
    """Step ``i``'s degradation and prediction, announced to ``on_step``."""
    cfg, n = state.config, len(state.config.scale_factors)
    step = ScaleStep(state, i, cfg.relative_scales[i], plan.step_kernels[i])
    log.info("step %d/%d: x%s (relative x%s)", i + 1, n, cfg.scale_factors[i], cfg.relative_scales[i])
    if on_step is not None:
        on_step(StepEvent(i, n, "start", step, state))
    return step


def end_step(state: FitState, plan: FitPlan, step: ScaleStep, summary: StepSummary, on_step, net_tile: int | None,
             final_inference: bool) -> tuple[ZSSRPipeline, np.ndarray, np.ndarray]:
    """After step ``step.index`` trained: its pipeline, the pipeline's input and the step's output, which joins
    the father sources (and after a base change becomes the input). The last step's output is its input when
    ``final_inference`` is off."""
    cfg, i, n = state.config, step.index, len(state.config.scale_factors)
    state.summaries.append(summary)
    if on_step is not None:
        on_step(StepEvent(i, n, "end", step, state, summary))
    pipeline = step_pipeline(state, plan, i, net_tile)
    pipeline_input = tensor_to_image(state.current_input)
    if i == n - 1 and not final_inference:
        return pipeline, pipeline_input, pipeline_input
    output = run_pipeline(pipeline, pipeline_input, state.device)
    state.net.train()
    state.add_output(output, i in cfg.base_change_steps)
    if i in cfg.base_change_steps:
        log.info("base changed to x%s", cfg.scale_factors[i])
    return pipeline, pipeline_input, output


def fit_result(state: FitState, pipeline: ZSSRPipeline, pipeline_input: np.ndarray, output: np.ndarray,
               seconds: float, resumed: int) -> FitResult:
    """A finished fit's record; its pipeline moved to the CPU for export."""
    pipeline = pipeline.to("cpu").eval().to(memory_format=torch.contiguous_format)
    return FitResult(output, pipeline, pipeline_input, state.summaries, state.seconds_before + seconds,
                     str(state.device), state.precision, resumed)


def _graphed(state: FitState, step: ScaleStep):
    """A graphed fit's iterations for ``train_scale_step`` (None: the eager loop)."""
    if not state.graphed:
        return None
    from .graphed import GraphedIterations

    return lambda run: GraphedIterations(state, step, run.augment)


def _resume(state: FitState, ckpt: CheckpointFile | None) -> None:
    saved = ckpt.load() if ckpt is not None else None
    if saved is not None:
        state.restore(saved, str(ckpt.path))  # type: ignore[union-attr]
        log.info("resuming from %s after step %d/%d", ckpt.path, state.steps_done, len(state.config.scale_factors))  # type: ignore[union-attr]


def run_fit(plan: FitPlan, progress: Callable[[Progress], None] | None = None, net_tile: int | None = 512,
            final_inference: bool = True, checkpoint: str | Path | None = None,
            on_step: Callable[[StepEvent], None] | None = None) -> FitResult:
    """Fit a checked plan (see :func:`fit` for the arguments)."""
    cfg, n = plan.config, len(plan.config.scale_factors)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    state = FitState.start(plan.image, cfg)
    ckpt = CheckpointFile(checkpoint, plan.image, cfg, plan.kernel) if checkpoint is not None else None
    _resume(state, ckpt)
    resumed = state.steps_done
    for i in range(resumed, n):
        step = start_step(state, plan, i, on_step)
        summary = train_scale_step(state, step, progress, _graphed(state, step))
        pipeline, pipeline_input, output = end_step(state, plan, step, summary, on_step, net_tile, final_inference)
        if ckpt is not None and i < n - 1:
            ckpt.save(state.to_checkpoint(state.seconds_before + time.perf_counter() - t0))
    return fit_result(state, pipeline, pipeline_input, output, time.perf_counter() - t0, resumed)


def fit(image: np.ndarray, config: ZSSRConfig | None = None, kernel: np.ndarray | None = None,
        progress: Callable[[Progress], None] | None = None, net_tile: int | None = 512,
        final_inference: bool = True, checkpoint: str | Path | None = None,
        on_step: Callable[[StepEvent], None] | None = None) -> FitResult:
    """Fit ZSSR to ``image`` and super-resolve it.

    Args:
        image: float ``HxWxC`` (C = 1 or 3) or ``HxW`` in [0, 1]; the LR input.
        config: settings (default: the released code's x2 one-jump configuration).
        kernel: optional 2-D blur kernel (the LR image's degradation); it is validated, normalised and
            re-centred per step as the reference does. Without it, sons are made with MATLAB bicubic.
        progress: called as documented on :class:`~zssr_deploy.trainers.state.Progress`.
        net_tile: final inference runs the network in tiles of this many HR pixels (exact).
        final_inference: run the last step's pipeline here; False when the caller runs the exported model
            instead (``output`` is then the last pipeline's input).
        checkpoint: a file for the training state after each finished scale step but the last (gradual SR).
            If it exists, the fit resumes after the step it holds and gives the same output as an
            uninterrupted fit. The caller removes it when it no longer needs it.
        on_step: called with a :class:`StepEvent` before and after each scale step trained in this call.

    Returns:
        A :class:`FitResult`; ``output`` has shape ``(ceil(H*sy), ceil(W*sx), C)`` for the final factor.

    Raises:
        CheckpointError: ``checkpoint`` exists but is damaged or belongs to another image, kernel or settings.
    """
    return run_fit(plan_fit(image, config, kernel), progress, net_tile, final_inference, checkpoint, on_step)
