"""What a fit journey (:mod:`zssr_deploy.api`) tells its caller while it works and reports when it is done:
:class:`Callbacks`, the seconds of each :class:`Phases` and the :class:`FitAndRunReport`; and what ``fit``
exports (:class:`ModelExport`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .blind.config import KernelFinding

if TYPE_CHECKING:
    from .trainers.fitting import StepEvent
    from .trainers.state import Progress

__all__ = ["Callbacks", "FitAndRunReport", "ModelExport", "Phases"]


@dataclass(frozen=True, kw_only=True)
class Callbacks:
    """What a caller (the CLI's progress bars, a test) is told while the work goes on."""

    progress: Callable[[Progress], None] | None = None
    """Training progress (see :class:`~zssr_deploy.trainers.state.Progress`)."""
    on_step: Callable[[StepEvent], None] | None = None
    """Before and after each scale step (see :class:`~zssr_deploy.trainers.fitting.StepEvent`)."""
    tiles: Callable[[int, int], None] | None = None
    """``(done, total)`` after each inference tile."""
    kernel: Callable[[int, int], None] | None = None
    """``(done, total)`` after each kernel-estimation iteration (an estimated :class:`KernelSource`)."""
    phase: Callable[[str], None] | None = None
    """At the start of each phase of a fit-and-run: kernel, training, export, inference, write."""


@dataclass(frozen=True, kw_only=True)
class ModelExport:
    """What :func:`~zssr_deploy.api.fit_model` writes (``zssr-deploy fit``'s export options)."""

    static_shape: tuple[int, int] | None = None
    """A fixed input size ``(H, W)`` (tiles for TensorRT or CUDA graphs); None: dynamic height and width."""
    network_only: bool = False
    """The network alone (run it on a cubic-upscaled image), instead of the whole pipeline."""
    fp16: bool = False
    """The pipeline with its network in float16 (float32 in and out): for the CUDA provider."""


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


@dataclass(frozen=True, kw_only=True)
class FitAndRunReport:
    """What a fit-and-run did: where the result went, the fit, the final inference, the kernel and the time."""

    output_path: Path | None = None
    """The written image (None from :func:`upscale_array`, which writes nothing)."""
    model_path: Path | None = None
    """The kept ONNX model (``save_model`` with the ONNX engine)."""
    providers: list[str]
    """What ran the final inference: ONNX Runtime's providers, or ``["torch"]``."""
    iterations: list[int]
    """Training iterations per scale step."""
    learning_rate_drops: list[list[int]]
    """Per scale step, the iterations at which the learning rate dropped."""
    seconds: float
    """Training seconds (across a resume)."""
    device: str
    """Where the fit trained (``cpu``, ``cuda:0``)."""
    precision: str
    """The fit's precision (``fp32`` or ``bf16``)."""
    psnr: float | None = None
    """Y-PSNR against the ground truth, when one was given."""
    ssim: float | None = None
    """SSIM on Y against the ground truth, when one was given."""
    kernel: KernelFinding | None = None
    """How the kernel was found: None (assumed bicubic or given), or the estimate's finding."""
    kernel_used: np.ndarray | None = None
    """The kernel the fit assumed (given, or estimated and accepted); None: MATLAB bicubic."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds of each phase: kernel (when estimated), training, export, inference, write."""
    wall_seconds: float = 0.0
    """From the call to the result (for :func:`upscale_image`, to the written file)."""
    export_cached: bool = False
    """The ONNX graph came from the export cache (only the weights were written)."""
