"""Estimate the downscaling kernel of an LR image from the image alone (blind SR; the paper's Table 2).

Two estimators (``KernelEstimationConfig.method``), both built on one fact: small patches of a natural image
recur at its coarser scales, and recur best when the coarser scale is made with the kernel that made the image.

* ``recurrence`` (:mod:`.recurrence`, Michaeli & Irani 2013, the estimator the ZSSR paper used): the
  anisotropic Gaussian whose x2 downscaling of the image best reproduces the image's own edge patches (mean
  nearest-neighbour distance), found by a grid and a pattern search. Deterministic, seconds to a minute.
* ``kernelgan`` (:mod:`.kernel_gan`, Bell-Kligler, Shocher & Irani 2019): the same principle learnt adversarially
  against a discriminator that sees 7x7 patches. Two runs with different seeds are averaged (their centres of
  mass aligned): runs of a GAN vary, and on scikit-image photos the average scored above the two runs' mean
  kernel PSNR on every photo (docs/benchmarks/history.md#kernelgan-as-the-default-estimator). On one photo under
  a narrow and a wide kernel, its estimates (and those of the authors' own code) hardly differ; the
  patch-recurrence estimates follow the kernel (``benchmarks/blind_sr/kernel_sensitivity.py``).

The estimators these replaced are on the same history page.

KernelGAN runs that disagree are not trusted either: when the first two runs' kernels are further apart than
``min_agreement`` (kernel PSNR between them), the bicubic assumption is kept.

An image without edges carries no evidence about the kernel (blurring a smooth image hardly changes it), yet
KernelGAN still returns a kernel for it. So the estimate is used only when the
image has edges at the scales a kernel acts on: the 99th percentile of its band-pass detail (gray image,
difference of Gaussians of sigma 0.7 and 1.5 pixels, in 8-bit levels) must reach ``min_detail``, and its
smoothed contrast ``min_structure`` (pure noise has detail but no structure). Otherwise the result says
"bicubic" and why, and ZSSR runs with its bicubic assumption.

x2 is estimated; x4 is the x2 estimate composed with itself (two x2 steps, as DIV2KRK's x4 data are made and as
KernelGAN does); other factors, ``SY,SX`` included, stretch the x2 estimate by ``s / 2`` per axis. The returned
kernel is trimmed of its zero border and normalised; the fit plan re-centres it, once, by the trainer's rule
(:func:`~zssr_deploy.imageops.kernels.shift_kernel`), as it does a given kernel.
Deterministic for a seed on the CPU.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ..errors import ScaleError
from ..files import check_output_path
from ..imageops.degrade import compose_x2
from ..imageops.guard import check_image
from ..imageops.kernels import align_kernels, bicubic_kernel, kernel_picture, write_kernel
from ..imageops.scale import scale_pair
from ..io import check_image_path, read_image, write_image
from ..models.device import resolve_device
from .config import KernelEstimationConfig, KernelFinding
from .kernel_gan import fit_kernel_gan, postprocess_kernel
from .recurrence import fit_recurrence_kernel

__all__ = ["MAX_ESTIMATE_SCALE", "RECURRENCE_MIN_SIDE", "KernelEstimate", "estimate_kernel", "estimate_kernel_file",
           "image_detail", "kernel_psnr", "stretch_kernel", "verdict"]

log = logging.getLogger(__name__)

#: the largest factor an estimate is stretched to (x8: a 13-tap x2 Gaussian becomes about 50 taps)
MAX_ESTIMATE_SCALE = 8.0

#: the smallest side the patch-recurrence estimate takes (its coarse image keeps 16 pixels for 5x5 patches)
RECURRENCE_MIN_SIDE = 32


@dataclass(frozen=True)
class KernelEstimate:
    """What :func:`estimate_kernel` found."""

    kernel: np.ndarray | None
    """float64 2-D kernel for the asked scale, trimmed and normalised (the fit plan re-centres it); None: use MATLAB
    bicubic."""
    x2_kernel: np.ndarray
    """The estimated x2 kernel (the runs' post-processed kernels, centres of mass aligned, averaged; sum 1),
    before any fallback."""
    agreement: float
    """Kernel PSNR (dB) between the first two runs' kernels: how much the runs agree (inf with one run)."""
    detail: float
    """The image's band-pass detail (:func:`image_detail`, 8-bit levels)."""
    reason: str
    """Why bicubic was kept ("" when the estimate is used)."""
    seconds: float
    losses: list[float] = field(default_factory=list)
    """The first run's GAN loss (generator) every 10 iterations."""
    runs: list[np.ndarray] = field(default_factory=list)
    """Each run's post-processed x2 kernel, centre of mass in the middle (``x2_kernel`` is their mean)."""
    method: str = "kernelgan"
    """The estimator (:attr:`KernelEstimationConfig.method`)."""
    facts: dict = field(default_factory=dict)
    """The estimator's own findings (the patch-recurrence Gaussian's variances, angle and criterion)."""

    def summary(self) -> KernelFinding:
        """What reports and model metadata say of the estimate."""
        return KernelFinding(source="estimated" if self.kernel is not None else "bicubic (estimate rejected)",
                             method=self.method, agreement_db=round(min(self.agreement, 99.0), 2),
                             detail=round(self.detail, 2), reason=self.reason, seconds=round(self.seconds, 2),
                             gaussian=self.facts or None, confidence=self.facts.get("confidence"))


def image_detail(image: np.ndarray) -> float:
    """The 99th percentile of ``|G_0.7 * y - G_1.5 * y|`` over the gray image ``y`` in 8-bit levels: edges at the
    scales a downscaling kernel acts on. Linear ramps have none (a Gaussian keeps them), pixel noise little."""
    gray = np.asarray(image, np.float64).mean(2) * 255.0
    band = ndimage.gaussian_filter(gray, 0.7) - ndimage.gaussian_filter(gray, 1.5)
    return float(np.percentile(np.abs(band), 99))


def _structure(img: np.ndarray) -> float:
    """Standard deviation of the image smoothed by a Gaussian of sigma 1 pixel (in 8-bit levels): edges and
    textures keep it, pixel noise (which a kernel cannot explain) loses most of it."""
    return float(ndimage.gaussian_filter(img.mean(2), 1.0).std() * 255.0)


def _centred(kernel: np.ndarray, margin: int = 3) -> np.ndarray:
    """The kernel padded by ``margin`` taps and shifted so its centre of mass is the middle (runs align)."""
    k = np.pad(np.asarray(kernel, np.float64), margin)
    middle = (np.array(k.shape) - 1) / 2.0
    return ndimage.shift(k, middle - np.array(ndimage.center_of_mass(k)))


def verdict(image: np.ndarray, kernels: list[np.ndarray], config: KernelEstimationConfig) -> tuple[float, float, str]:
    """Whether the runs' ``kernels`` of ``image`` are to be used: (agreement in dB, detail, reason to keep the
    bicubic assumption or "")."""
    agreement = kernel_psnr(kernels[0], kernels[1]) if len(kernels) > 1 else math.inf
    detail = image_detail(image)
    reason = ""
    if _structure(image) < config.min_structure:
        reason = "the image is nearly flat (or only noise): no structure to learn the kernel from"
    elif detail < config.min_detail:
        reason = (f"the image has no edges to learn the kernel from (detail {detail:.1f} < {config.min_detail:g}: "
                  "smooth, blurry or dark)")
    elif agreement < config.min_agreement:
        reason = (f"the {len(kernels)} KernelGAN runs disagree (their kernels {agreement:.1f} dB apart, "
                  f"needs {config.min_agreement:g})")
    return agreement, detail, reason


def _recurrence_reason(kept: bool, facts: dict, min_confidence: float) -> str:
    """Why the patch-recurrence estimate keeps the bicubic assumption ("" when it does not)."""
    if kept and facts["at_widest"]:
        return ("the patch-recurrence criterion has no minimum: it keeps preferring wider kernels up to the widest "
                "(too little structure to tell the kernel)")
    if kept:
        return "bicubic downscaling reproduces the image's own patches better than any Gaussian kernel"
    if facts["confidence"] < min_confidence:
        return (f"the image cannot tell its kernel from one {facts['confidence']:.2f} times as wide (confidence "
                f"{facts['confidence']:.2f} < {min_confidence:g}): too little evidence of the kernel's width")
    return ""


def _trimmed(kernel: np.ndarray, tiny: float = 1e-7) -> np.ndarray:
    """The kernel without its outer rows and columns of (nearly) zero taps: the runs' alignment pads the x2
    estimate, and composing it for x4 triples that padding (a 63x63 x4 kernel for a 57-pixel-wide image)."""
    mass = np.abs(kernel) > tiny * np.abs(kernel).max()
    rows, cols = np.flatnonzero(mass.any(1)), np.flatnonzero(mass.any(0))
    return kernel[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def stretch_kernel(x2_kernel: np.ndarray, scale: float | tuple[float, float]) -> np.ndarray:
    """The kernel for another factor: x2 itself, x4 the x2 kernel composed with itself, other factors the x2
    kernel's profile stretched by ``s / 2`` per axis (cubic spline), normalised."""
    sy, sx = scale_pair(scale)
    k = np.asarray(x2_kernel, dtype=np.float64)
    if (sy, sx) == (2.0, 2.0):
        return k / k.sum()
    if (sy, sx) == (4.0, 4.0):
        return compose_x2(k)
    zoom = (sy / 2.0, sx / 2.0)
    out = np.clip(ndimage.zoom(k, zoom, order=3), 0.0, None)
    return out / out.sum()


def _fit_runs(img: np.ndarray, config: KernelEstimationConfig, device: torch.device, budget: int,
              progress: Callable[[int, int], None] | None) -> list[tuple[np.ndarray, list[float]]]:
    """The KernelGAN runs (seeds ``seed``, ``seed + 1``, ...), each on ``config.threads`` CPU threads. When the
    process's thread ``budget`` holds more than one run's threads, runs go in parallel threads of this process:
    each run's numbers are the same as alone (its own generators; the weights drawn in turn), and on 2 cores two
    runs side by side took 0.70 of the time of one after the other (not 0.5: the iterations are small, and the two
    threads share the GIL;
    docs/benchmarks/history.md#kernelgan-as-the-default-estimator). ``progress`` is called from this thread."""
    gan, per_run = config.gan, config.threads
    total = config.runs * gan.iterations
    done = [0] * config.runs
    stop = threading.Event()  # set when this thread is interrupted: the other runs end at their next iteration
    workers = 1 if per_run is None or device.type != "cpu" else max(1, min(config.runs, budget // per_run))

    def run(r: int) -> tuple[np.ndarray, list[float]]:
        if per_run is not None and device.type == "cpu":
            torch.set_num_threads(per_run)  # per thread: OpenMP's count belongs to the calling thread

        def step(i: int, _n: int) -> None:
            if stop.is_set():
                raise InterruptedError("kernel estimation stopped")
            done[r] = i
            if workers == 1 and progress is not None:
                progress(sum(done), total)
        return fit_kernel_gan(img, gan, config.seed + r, device, step)

    if workers == 1:
        return [run(r) for r in range(config.runs)]
    with ThreadPoolExecutor(workers, thread_name_prefix="kernelgan") as pool:
        futures = [pool.submit(run, r) for r in range(config.runs)]
        try:
            while not all(f.done() for f in futures):
                wait(futures, timeout=0.25, return_when=FIRST_EXCEPTION)
                if any(f.done() and f.exception() is not None for f in futures):
                    stop.set()  # one run failed: do not wait for the others
                if progress is not None:
                    progress(sum(done), total)
        except BaseException:  # Ctrl-C or a failing progress callback: stop the runs, then let it through
            stop.set()
            raise
        return [f.result() for f in futures]


def estimate_kernel(image: np.ndarray, scale: float | tuple[float, float] = 2.0,
                    config: KernelEstimationConfig = KernelEstimationConfig(),
                    progress: Callable[[int, int], None] | None = None) -> KernelEstimate:
    """Estimate the kernel that downscaled ``image`` (float ``HxWxC`` in [0, 1], the LR input) by ``scale``.

    ``progress(done, total)`` after each iteration (KernelGAN's, of all runs; or each kernel tried). Raises
    :class:`InvalidImageError` for an image too small to estimate from: KernelGAN's generator takes 64x64 crops, so
    at least 64 pixels per side; the patch-recurrence search compares 5x5 patches with those of the image's half,
    so at least 32 (:data:`RECURRENCE_MIN_SIDE`).
    """
    if not all(1.0 < s <= MAX_ESTIMATE_SCALE for s in scale_pair(scale)):
        raise ScaleError(f"kernel estimation takes factors above 1 and up to {MAX_ESTIMATE_SCALE:g} (the x2 estimate, "
                         f"composed or stretched), got {scale}")
    min_side = RECURRENCE_MIN_SIDE if config.method == "recurrence" else config.gan.crop
    img = check_image(image, min_side=min_side, finite=True, needs="kernel estimation", unit=True).astype(np.float32)
    img = np.clip(img, 0.0, 1.0)
    t0 = time.perf_counter()
    device = resolve_device(config.device)
    # exact repeatability on the CPU needs torch's deterministic kernels (parallel accumulation otherwise)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(deterministic or device.type == "cpu")
    threads = torch.get_num_threads()
    try:
        if config.method == "recurrence":
            if config.threads is not None and device.type == "cpu":
                torch.set_num_threads(config.threads)  # the same sums, so the same kernel, on any core count
            gauss, facts = fit_recurrence_kernel(img, config.recurrence, device, progress)
        else:
            raw = _fit_runs(img, config, device, threads, progress)
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
    if config.method == "recurrence":
        kernels, losses = [_centred(gauss if gauss is not None else bicubic_kernel(2))], []
    else:
        kernels, facts = [_centred(postprocess_kernel(k, config.gan.keep_taps)) for k, _ in raw], {}
        losses = raw[0][1]
    x2 = np.mean(kernels, axis=0)
    x2 /= x2.sum()
    agreement, detail, reason = verdict(img, kernels, config)
    if not reason and config.method == "recurrence":
        reason = _recurrence_reason(gauss is None, facts, config.min_confidence)
    if reason:
        log.warning("kernel estimation: %s; using the bicubic assumption", reason)
    kernel = None if reason else _trimmed(stretch_kernel(x2, scale))  # the fit plan alone re-centres it
    seconds = time.perf_counter() - t0
    log.info("kernel estimated in %.1f s (%s, agreement %.1f dB)", seconds, config.method, agreement)
    return KernelEstimate(None if kernel is None else kernel / kernel.sum(), x2, agreement, detail, reason, seconds,
                          losses, kernels, config.method, facts)


def kernel_psnr(estimate: np.ndarray, truth: np.ndarray, scale: float | tuple[float, float] = 2.0) -> float:
    """FKP's kernel PSNR, ``20 log10(1 / RMSE)``, after both kernels are re-centred by the trainer's rule and
    their middles aligned (:func:`~zssr_deploy.imageops.kernels.align_kernels`).

    The RMSE is over a fixed ``n x n`` grid: ``n`` is the larger kernel's longest side plus two taps on each
    side (the margin a re-centring shift of up to one tap needs), however far a particular shift made
    :func:`shift_kernel` pad. A mean over the padded grid itself would jump by up to 0.7 dB when a shift
    crosses a whole tap (two copies of one kernel differing by rounding in the 6th decimal did).
    """
    a, b = align_kernels(estimate, truth, scale)
    n = max(*np.shape(estimate), *np.shape(truth)) + 4
    rmse = float(np.linalg.norm(a - b)) / n
    return float("inf") if rmse == 0 else 20.0 * math.log10(1.0 / rmse)


def estimate_kernel_file(input_path: str | Path, output_path: str | Path, scale: float | tuple[float, float] = 2.0,
                         settings: KernelEstimationConfig = KernelEstimationConfig(), png: str | Path | None = None,
                         overwrite: bool = False, progress: Callable[[int, int], None] | None = None) -> KernelEstimate:
    """Estimate an image file's downscaling kernel and write it (``.npy``, or ``.mat`` with variable ``Kernel``),
    and optionally a magnified picture of it; every output is checked before the estimate. When the estimate is
    rejected (a flat image, or one without edges), MATLAB bicubic's kernel is written and the returned estimate
    says why."""
    check_output_path(output_path, overwrite, (".npy", ".mat"))
    if png is not None:
        check_image_path(png, overwrite)
    found = estimate_kernel(read_image(input_path).pixels, scale, settings, progress)
    kernel = found.kernel if found.kernel is not None else bicubic_kernel(scale)
    write_kernel(output_path, kernel, overwrite)
    if png is not None:
        write_image(png, kernel_picture(kernel), overwrite=overwrite)
    return found
