"""Estimate the downscaling kernel of an LR image from the image alone (blind SR; the paper's Table 2).

The estimator is KernelGAN (:mod:`.kernel_gan`, Bell-Kligler, Shocher & Irani 2019): the right kernel is the one
whose downscaling of the image keeps the image's own distribution of small patches (patches recur across scales
in natural images), learnt adversarially against a discriminator that sees 7x7 patches. It replaced a
non-adversarial estimator (an anisotropic Gaussian fitted by the sliced Wasserstein distance between patch
sets), which recovered 3 % of the true kernel's gain on Set5 x2 and lost up to 3.9 dB on some images: its
estimates were too wide (docs/BENCHMARKS.md).

A flat or featureless image carries no evidence: the estimate is kept only when the image has structure and
the estimate explains its patches better than MATLAB bicubic does, measured on patches and projections that
training never saw (``confidence``: the sliced Wasserstein distance between the image's 7x7 patches and those
of its downscaling by each kernel); otherwise the result says "bicubic" and why, and ZSSR runs with its bicubic
assumption.

x2 is estimated; x4 is the x2 estimate composed with itself (two x2 steps, as DIV2KRK's x4 data are made and as
KernelGAN does); other factors, ``SY,SX`` included, stretch the x2 estimate by ``s / 2`` per axis. The returned
kernel is normalised and re-centred by the trainer's rule (:func:`~zssr_deploy.imageops.kernels.shift_kernel`).
Deterministic for a seed on the CPU.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..imageops.degrade import compose_x2
from ..imageops.guard import check_image
from ..imageops.kernels import shift_kernel
from ..imageops.resize import imresize
from ..imageops.scale import scale_pair
from .device import resolve_device
from .kernel_gan import KernelGANConfig, fit_kernel_gan, postprocess_kernel

__all__ = ["KernelEstimate", "KernelEstimationConfig", "estimate_kernel", "kernel_psnr", "stretch_kernel"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KernelEstimationConfig:
    """Settings of :func:`estimate_kernel`: KernelGAN's own, and the acceptance check's (chosen on scikit-image
    photos, never on benchmark images)."""

    iterations: int = 3000
    """KernelGAN's training steps (its default)."""
    gan: KernelGANConfig = KernelGANConfig()
    """KernelGAN's other settings (the authors' defaults); ``iterations`` above overrides its own."""
    patch_size: int = 7
    """Side of the patches the acceptance check compares (KernelGAN's discriminator sees 7x7)."""
    patches: int = 2048
    """Patches drawn from each image per draw of the acceptance check."""
    projections: int = 128
    """Random 1-D projections per draw of the acceptance check's sliced Wasserstein distance."""
    min_confidence: float = 0.05
    """Keep the estimate only if it lowers the held-out patch distance of MATLAB bicubic by this share."""
    min_structure: float = 2.0
    """Below this many 8-bit levels of smoothed standard deviation the image counts as flat."""
    seed: int = 0
    """Seeds every random draw (weights, crops, noise, patches): the same image and seed give the same kernel."""
    device: str = "cpu"
    """'auto', 'cpu' or 'cuda' (as the trainer's)."""


@dataclass(frozen=True)
class KernelEstimate:
    """What :func:`estimate_kernel` found."""

    kernel: np.ndarray | None
    """float64 2-D kernel for the asked scale, normalised and re-centred; None: use MATLAB bicubic."""
    x2_kernel: np.ndarray
    """The estimated x2 kernel (KernelGAN's 13x13, post-processed: weak taps zeroed, sum 1; not re-centred),
    before any fallback."""
    confidence: float
    """Share by which the estimate lowers bicubic's held-out patch distance (negative: it explains less)."""
    reason: str
    """Why bicubic was kept ("" when the estimate is used)."""
    seconds: float
    losses: list[float] = field(default_factory=list)
    """The generator's GAN loss every 10 iterations."""

    def summary(self) -> dict:
        """JSON-able facts for reports and model metadata."""
        return {"source": "estimated" if self.kernel is not None else "bicubic (estimate rejected)",
                "confidence": round(self.confidence, 4), "reason": self.reason, "seconds": round(self.seconds, 2)}


def _patch_offsets(width: int, p: int, device: torch.device) -> torch.Tensor:
    oy, ox = torch.meshgrid(torch.arange(p, device=device), torch.arange(p, device=device), indexing="ij")
    return (oy * width + ox).flatten()


class _Patches:
    """Draws ``p x p`` patches of a ``(C, H, W)`` image, where a weight map (its gradients) is strong."""

    def __init__(self, shape: tuple[int, int, int], weights: np.ndarray, p: int, device: torch.device) -> None:
        c, h, w = shape
        r = p // 2
        self.c, self.grid_w, self.width, self.p = c, w - p + 1, w, p
        self.weights = torch.from_numpy(np.ascontiguousarray(weights[r : h - r, r : w - r]).ravel() + 1e-8).to(device)
        self.offsets = _patch_offsets(w, p, device)

    def draw(self, image: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
        pos = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        base = (pos // self.grid_w) * self.width + pos % self.grid_w
        return image.reshape(self.c, -1)[:, base[:, None] + self.offsets[None]].permute(1, 0, 2)  # (n, C, p*p)


def _sliced_distance(real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator, projections: int) -> torch.Tensor:
    """Sliced Wasserstein distance of two patch sets ``(n, C, p*p)``, with and without each patch's mean."""
    n = real.shape[0]
    theta = torch.randn(projections, real.shape[1] * real.shape[2], generator=gen, device=real.device)
    theta = theta / theta.norm(dim=1, keepdim=True)
    loss = real.new_zeros(())
    for a, b in ((real, fake), (real - real.mean(2, keepdim=True), fake - fake.mean(2, keepdim=True))):
        pa, pb = theta @ a.reshape(n, -1).T, theta @ b.reshape(n, -1).T
        loss = loss + ((pa.sort(1)[0] - pb.sort(1)[0]) ** 2).mean()
    return loss


class _Problem:
    """The image, its patch samplers, and the downscaling by a candidate x2 kernel (for the acceptance check)."""

    def __init__(self, image: np.ndarray, cfg: KernelEstimationConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.image = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)).to(device)
        c, h, w = self.image.shape
        gy, gx = np.gradient(image.mean(2))
        strength = ndimage.uniform_filter(np.hypot(gx, gy), cfg.patch_size)
        self.down_hw = ((h + 1) // 2, (w + 1) // 2)
        small = ndimage.zoom(strength, 0.5, order=1)[: self.down_hw[0], : self.down_hw[1]]
        self.real = _Patches((c, h, w), strength, cfg.patch_size, device)
        self.fake = _Patches((c, *self.down_hw), small, cfg.patch_size, device)

    def downscale(self, kernel: torch.Tensor) -> torch.Tensor:
        """Correlate each channel with the kernel (mirrored borders) and keep every second row and column."""
        py, px = kernel.shape[0] // 2, kernel.shape[1] // 2
        padded = F.pad(self.image[None], (px, px, py, py), mode="reflect")[0]
        down = F.conv2d(padded[:, None], kernel[None, None], stride=2)[:, 0]
        return down[:, : self.down_hw[0], : self.down_hw[1]]

    def distance(self, down: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = self.cfg.patches
        return _sliced_distance(self.real.draw(self.image, n, gen), self.fake.draw(down, n, gen), gen,
                                self.cfg.projections)


@torch.no_grad()
def _confidence(problem: _Problem, kernel: np.ndarray, image: np.ndarray, cfg: KernelEstimationConfig) -> float:
    """1 - d(estimate) / d(bicubic): held-out patch distances (another seed), averaged over a few draws."""
    bicubic = torch.from_numpy(np.ascontiguousarray(imresize(image, 0.5).transpose(2, 0, 1), dtype=np.float32))
    est = problem.downscale(torch.from_numpy(kernel).float().to(problem.device))
    d_est = d_bic = 0.0
    for i in range(4):
        d_est += float(problem.distance(est, torch.Generator(device=problem.device).manual_seed(10_000 + cfg.seed + i)))
        d_bic += float(problem.distance(bicubic.to(problem.device),
                                        torch.Generator(device=problem.device).manual_seed(10_000 + cfg.seed + i)))
    return 1.0 - d_est / max(d_bic, 1e-12)


def _structure(img: np.ndarray) -> float:
    """Standard deviation of the image smoothed by a Gaussian of sigma 1 pixel (in 8-bit levels): edges and
    textures keep it, pixel noise (which a kernel cannot explain) loses most of it."""
    return float(ndimage.gaussian_filter(img.mean(2), 1.0).std() * 255.0)


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


def estimate_kernel(image: np.ndarray, scale: float | tuple[float, float] = 2.0,
                    config: KernelEstimationConfig = KernelEstimationConfig(),
                    progress: Callable[[int, int], None] | None = None) -> KernelEstimate:
    """Estimate the kernel that downscaled ``image`` (float ``HxWxC`` in [0, 1], the LR input) by ``scale``.

    ``progress(done, total)`` after each iteration. Raises :class:`InvalidImageError` for an image too small
    to estimate from: KernelGAN's generator takes 64x64 crops, so at least 64 pixels per side.
    """
    min_side = max(config.gan.crop, 4 * config.patch_size + 8)
    img = check_image(image, min_side=min_side, finite=True, needs="kernel estimation").astype(np.float32)
    img = np.clip(img, 0.0, 1.0)
    t0 = time.perf_counter()
    device = resolve_device(config.device)
    # exact repeatability on the CPU needs torch's deterministic kernels (parallel accumulation otherwise)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(deterministic or device.type == "cpu")
    try:
        raw, losses = fit_kernel_gan(img, replace(config.gan, iterations=config.iterations), config.seed, device,
                                     progress)
        x2 = postprocess_kernel(raw, config.gan.keep_taps)
        problem = _Problem(img, config, device)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    confidence = _confidence(problem, x2, img, config)
    reason = ""
    if _structure(img) < config.min_structure:
        reason = "the image is nearly flat (or only noise): no structure to learn the kernel from"
    elif not confidence >= config.min_confidence:
        reason = (f"the estimate explains the image's patches only {confidence:.0%} better than bicubic "
                  f"(needs {config.min_confidence:.0%})")
    if reason:
        log.warning("kernel estimation: %s; using the bicubic assumption", reason)
    kernel = None if reason else shift_kernel(stretch_kernel(x2, scale), scale_pair(scale))
    seconds = time.perf_counter() - t0
    log.info("kernel estimated in %.1f s, confidence %.2f", seconds, confidence)
    return KernelEstimate(None if kernel is None else kernel / kernel.sum(), x2, confidence, reason, seconds, losses)


def kernel_psnr(estimate: np.ndarray, truth: np.ndarray, scale: float | tuple[float, float] = 2.0) -> float:
    """FKP's kernel PSNR, ``20 log10(1 / RMSE)``, after both kernels are re-centred by the trainer's rule and
    zero-padded to one size (the middles aligned)."""
    a = shift_kernel(np.asarray(estimate, np.float64) / np.sum(estimate), scale)
    b = shift_kernel(np.asarray(truth, np.float64) / np.sum(truth), scale)
    n = max(a.shape[0], b.shape[0], a.shape[1], b.shape[1])

    def pad(k: np.ndarray) -> np.ndarray:
        py, px = n - k.shape[0], n - k.shape[1]
        return np.pad(k, ((py // 2, py - py // 2), (px // 2, px - px // 2)))

    rmse = math.sqrt(float(np.mean((pad(a) - pad(b)) ** 2)))
    return float("inf") if rmse == 0 else 20.0 * math.log10(1.0 / rmse)
