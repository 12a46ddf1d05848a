"""One image of a batch, as a self-contained task: bytes in, bytes out.

The same function runs in the driver (``jobs=1``), in a worker process (``jobs>1``) and as a Ray task on
another machine, so it takes the image (and its ground truth) as bytes and returns the output as bytes; only
the driver touches the output folder and the manifest (one writer: nothing half-written, nothing raced).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..blind.config import KernelFinding, KernelSource
from ..errors import ZSSRError
from ..io import decode_image, encode_image
from ..runtime.run import Inference, upscaled_alpha

if TYPE_CHECKING:
    from ..trainers.config import ZSSRConfig
    from ..trainers.state import Progress

__all__ = ["ImageResult", "ImageTask", "process_image", "process_pack"]

log = logging.getLogger(__name__)

#: at most this many points of each training curve are kept (for the report)
CURVE_POINTS = 200


@dataclass(frozen=True, kw_only=True)
class ImageTask:
    """Everything one image's fit-and-run needs (picklable: it travels to worker processes and Ray tasks)."""

    image: str
    """The image's relative path (its key in the manifest)."""
    data: bytes
    """The input file's bytes."""
    out_suffix: str
    """The output's extension."""
    config: ZSSRConfig
    """The fit's settings."""
    inference: Inference
    """How the final image is computed, and where the task runs (``inference.compute``: this task's share of the
    threads; the fit's threads too)."""
    kernel: KernelSource = KernelSource()
    """Where the fit's kernel comes from."""
    gt: bytes | None = None
    """The ground truth's bytes (PNG/TIFF/...), to score the output."""


@dataclass
class ImageResult:
    """What became of one image: the output's bytes, or why there is none."""

    image: str
    status: str
    """'done' or 'failed'."""
    output: bytes | None = None
    error: str = ""
    """One line: what went wrong (status 'failed')."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Iterations, seconds, kernel, PSNR/SSIM, training curves: fields of the image's
    :class:`~zssr_deploy.batch.manifest.BatchRecord`, by name."""


class _Curves:
    """The training curves (loss, reconstruction error, learning rate) from the progress reports."""

    def __init__(self, forward: Callable[[Progress], None] | None) -> None:
        self.points: list[list[float]] = []
        self.forward = forward

    def __call__(self, p: Progress) -> None:
        self.points.append([p.step, p.iteration, p.loss, p.reconstruction_error, p.learning_rate])
        if self.forward is not None:
            self.forward(p)

    def thinned(self) -> list[list[float]]:
        stride = max(1, -(-len(self.points) // CURVE_POINTS))
        keep = self.points[::stride]
        return keep if not self.points or keep[-1] is self.points[-1] else [*keep, self.points[-1]]


def _decoded(task: ImageTask):
    """The task's image and its ground truth's pixels."""
    img = decode_image(task.data, task.image)
    gt = None if task.gt is None else decode_image(task.gt, f"the ground truth of {task.image}").pixels
    return img, gt


def _encoded(task: ImageTask, img, sr: np.ndarray, r) -> tuple[bytes, dict[str, Any]]:
    """The output file's bytes (alpha, bit depth and metadata of the input) and the image's manifest facts."""
    finding = r.kernel or KernelFinding(source="given" if r.kernel_used is not None else "bicubic")
    facts = {"iterations": r.iterations, "learning_rate_drops": r.learning_rate_drops, "fit_seconds": round(r.seconds, 3),
             "device": r.device, "precision": r.precision, "providers": r.providers, "kernel": finding,
             "kernel_taps": None if r.kernel_used is None else np.round(r.kernel_used, 6).tolist()}
    if r.psnr is not None:
        facts.update(psnr=round(r.psnr, 4), ssim=round(r.ssim, 5))
    alpha = upscaled_alpha(img, sr, task.config.final_scale)
    meta = None if img.meta is None else img.meta.scaled(task.config.final_scale, sr.shape[:2])
    return encode_image(sr, task.out_suffix, alpha, img.bit_depth, meta), facts


def _run(task: ImageTask, curves: _Curves) -> tuple[bytes, dict[str, Any]]:
    """Decode, fit-and-run in memory (:func:`~zssr_deploy.api.upscale_array`), encode: no temporary files."""
    from ..api import Callbacks, upscale_array

    img, gt = _decoded(task)
    sr, r = upscale_array(img.pixels, task.config, kernel=task.kernel, gt=gt, inference=task.inference,
                          callbacks=Callbacks(progress=curves))
    return _encoded(task, img, sr, r)


def _guarded(task: ImageTask, t0: float, work: Callable[[], Any]) -> tuple[Any, ImageResult | None]:
    """``work()``'s value, or the failed result that says why it raised (a batch goes on past a bad image);
    ``KeyboardInterrupt`` still stops it."""
    try:
        return work(), None
    except ZSSRError as exc:
        error = str(exc)
    except (MemoryError, RuntimeError, ValueError, OSError) as exc:  # keep the batch going; say what it was
        log.debug("%s failed:\n%s", task.image, traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None, ImageResult(task.image, "failed", error=error, facts={"seconds": round(time.perf_counter() - t0, 3)})


def _done(task: ImageTask, t0: float, curves: _Curves, out: tuple[bytes, dict[str, Any]]) -> ImageResult:
    data, facts = out
    facts.update(seconds=round(time.perf_counter() - t0, 3), curves=curves.thinned())
    return ImageResult(task.image, "done", data, facts=facts)


def process_image(task: ImageTask, progress: Callable[[Progress], None] | None = None) -> ImageResult:
    """Fit ZSSR to one image and super-resolve it. Never raises for a bad image: the result says 'failed' and
    why (a batch goes on past a bad image); ``KeyboardInterrupt`` still stops it."""
    t0, curves = time.perf_counter(), _Curves(progress)
    out, failed = _guarded(task, t0, lambda: _run(task, curves))
    return failed or _done(task, t0, curves, out)


@dataclass
class _Packed:
    """One image of a pack between planning and its result."""

    task: ImageTask
    t0: float
    curves: _Curves
    image: Any
    """The decoded :class:`~zssr_deploy.io.Image` (alpha, bit depth and metadata for the output)."""
    prepared: Any
    """Its :class:`~zssr_deploy.api.PreparedFit`."""


def _prepared(task: ImageTask, progress: Callable[[str, Progress], None] | None) -> _Packed | ImageResult:
    """Decode and plan one image of a pack (its kernel estimated if asked), or its failed result."""
    from ..api import Callbacks, prepare_array

    t0 = time.perf_counter()
    curves = _Curves(None if progress is None else (lambda p: progress(task.image, p)))

    def prepare() -> _Packed:
        img, gt = _decoded(task)
        prepared = prepare_array(img.pixels, task.config, kernel=task.kernel, gt=gt, inference=task.inference,
                                 callbacks=Callbacks(progress=curves))
        return _Packed(task, t0, curves, img, prepared)
    got, failed = _guarded(task, t0, prepare)
    return failed or got


def _finished(m: _Packed, result: Any) -> ImageResult:
    """A packed image's output once its fit ended: exported and run (or the torch output), encoded."""
    from ..api import finish_array

    def finish() -> tuple[bytes, dict[str, Any]]:
        sr, report = finish_array(m.prepared, result, inference=m.task.inference)
        return _encoded(m.task, m.image, sr, report)
    out, failed = _guarded(m.task, m.t0, finish)
    return failed or _done(m.task, m.t0, m.curves, out)


def process_pack(tasks: Sequence[ImageTask], progress: Callable[[str, Progress], None] | None = None) -> Iterator[ImageResult]:
    """Fit several images as one pack (:mod:`~zssr_deploy.trainers.packed`: their networks in shared kernels)
    and super-resolve each, yielding each image's result as its fit ends. One task is a lone fit
    (:func:`process_image`). An image that cannot be read or planned fails alone, before the pack trains; an
    error inside the pack's training fails the images still in it."""
    if len(tasks) == 1:
        forward = None if progress is None else (lambda p, name=tasks[0].image: progress(name, p))
        yield process_image(tasks[0], forward)
        return
    from ..api import wants_final_inference
    from ..trainers.packed import packed_fits

    members: list[_Packed] = []
    for task in tasks:
        got = _prepared(task, progress)
        if isinstance(got, ImageResult):
            yield got
        else:
            members.append(got)
    if not members:
        return
    fits = packed_fits([m.prepared.plan for m in members], lambda i, p: members[i].curves(p),
                       final_inference=wants_final_inference(members[0].task.inference))
    left = set(range(len(members)))
    while left:
        lead = members[min(left)]
        item, failed = _guarded(lead.task, lead.t0, lambda: next(fits))
        if failed is not None:  # the pack itself failed: every image still in it
            for i in sorted(left):
                yield dataclasses.replace(failed, image=members[i].task.image)
            return
        i, result = item
        left.discard(i)
        yield _finished(members[i], result)
