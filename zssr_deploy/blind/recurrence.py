"""The x2 kernel of an LR image by internal patch recurrence across scales (Michaeli & Irani, ICCV 2013, the
estimator of the ZSSR paper's Table 2), over a family of anisotropic Gaussians.

The principle: small patches of a natural image recur at a coarser scale of the same image, and they recur best
when the coarser scale is made with the kernel that made the image. So the kernel is the one whose x2
downscaling of the LR image ``y`` best reproduces ``y``'s own small patches:

1. Downscale the image's luma by 2 with a candidate kernel (correlate, keep every second pixel, mirrored borders).
2. For every compared 5x5 patch of ``y``, the squared distance to its nearest 5x5 patch of that coarse image.
3. The criterion is their mean; the estimate is the candidate that minimises it.

Where Michaeli & Irani solve for a free-form kernel (alternating nearest-neighbour matches and least squares),
this searches anisotropic Gaussians (two variances and an angle: a grid, then a pattern search from its best
point), and MATLAB's bicubic kernel competes as one more candidate. The free-form least squares, tried first (by hand, during
development), drifted to kernels many times too wide on scikit-image photos; the parametric search is deterministic, needs no
seed, and costs seconds. It also shows what the method cannot know: an LR image made by kernel ``k`` from a soft
HR image is the very image made by a wider kernel from a sharper one, so on soft photos the estimate is too wide
(docs/benchmarks/blind.md#patch-recurrence-across-scales-x2).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..imageops.kernels import bicubic_kernel, gaussian_taps
from .config import RecurrenceConfig

__all__ = ["RecurrenceCriterion", "fit_recurrence_kernel", "gaussian_kernel"]

log = logging.getLogger(__name__)


def gaussian_kernel(major: float, minor: float, degrees: float, size: int = 13) -> np.ndarray:
    """A ``size x size`` Gaussian (float64, sum 1) with these principal variances (HR pixels squared), its major
    axis ``degrees`` counter-clockwise from the x axis as displayed (rows point down), centre of mass on the
    middle tap."""
    k = gaussian_taps(major, minor, math.radians(degrees), size, (size - 1) / 2.0, y_up=True)
    k = ndimage.shift(k, (size - 1) / 2.0 - np.array(ndimage.center_of_mass(k)))  # truncation can move it
    return k / k.sum()


class RecurrenceCriterion:
    """How well a kernel's x2 downscaling of an image reproduces the image's own patches: the mean squared
    distance (luma in [0, 1], summed over a patch) from each compared patch to its nearest coarse patch."""

    def __init__(self, image: np.ndarray, config: RecurrenceConfig, device: torch.device) -> None:
        img = np.asarray(image, np.float64)
        h, w = img.shape[:2]
        top, left = max(0, (h - config.max_side) // 2), max(0, (w - config.max_side) // 2)
        img = img[top : top + config.max_side, left : left + config.max_side]
        luma = img @ np.array([0.299, 0.587, 0.114]) if img.shape[2] == 3 else img.mean(2)
        y = torch.from_numpy(luma).float().to(device)[None, None]
        self.size, self.patch, self.device = config.size, config.patch, device
        half = config.size // 2
        # the window of y each coarse pixel sees: one matrix product downscales by any kernel
        windows = F.unfold(F.pad(y, (half,) * 4, mode="reflect"), config.size, stride=2)[0]
        self.coarse_shape = ((y.shape[2] + 1) // 2, (y.shape[3] + 1) // 2)
        self.windows = windows[:, : self.coarse_shape[0] * self.coarse_shape[1]]
        patches = F.unfold(y, config.patch)[0].T
        if config.edges < 1.0:
            gy, gx = torch.gradient(y[0, 0])
            energy = F.avg_pool2d((gx**2 + gy**2)[None, None], config.patch, stride=1).flatten()
            keep = torch.argsort(energy, descending=True, stable=True)[: max(1, int(config.edges * len(energy)))]
            patches = patches[torch.sort(keep).values]
        self.queries = patches[:: max(1, math.ceil(len(patches) / config.queries))]
        self.query_norms = (self.queries**2).sum(1, keepdim=True)

    def __call__(self, kernel: np.ndarray) -> float:
        k = np.zeros((self.size, self.size))
        top = (self.size - kernel.shape[0]) // 2
        left = (self.size - kernel.shape[1]) // 2
        k[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
        coarse = (torch.from_numpy(k).float().to(self.device).flatten() @ self.windows).reshape(self.coarse_shape)
        base = F.unfold(coarse[None, None], self.patch)[0].T
        best = torch.full((len(self.queries),), math.inf, device=self.device)
        for i in range(0, len(base), 4096):  # the distance matrix in slices (memory)
            b = base[i : i + 4096]
            d = self.query_norms + (b**2).sum(1)[None] - 2.0 * self.queries @ b.T
            best = torch.minimum(best, d.min(1).values)
        return float(best.clamp(min=0).mean())


def _search(criterion: Callable[[np.ndarray], float], config: RecurrenceConfig,
            progress: Callable[[int, int], None] | None) -> tuple[tuple[float, float, float], float]:
    """The grid's best Gaussian, refined by a pattern search in (log major, log minor, angle), the variances kept
    within the grid's range (unbounded, the search ran to variances of 20-70 on two nearly featureless photos)."""
    grid = [(a, b, 0.0 if a == b else 180.0 * j / config.angles)
            for i, a in enumerate(config.variances) for b in config.variances[: i + 1]
            for j in range(1 if a == b else config.angles)]
    seen: dict[tuple[float, float, float], float] = {}
    total = len(grid) + 60

    def value(p: tuple[float, float, float]) -> float:
        a, b, t = p
        if b > a:  # the same Gaussian with its axes named the other way round
            a, b, t = b, a, t + 90.0
        key = (round(a, 6), round(b, 6), round(t % 180.0, 4))
        if key not in seen:
            seen[key] = criterion(gaussian_kernel(a, b, t % 180.0, config.size))
            if progress is not None:  # the search's length is not known ahead: it is counted as at most 60 kernels tried
                progress(min(len(seen), total - 1), total)
        return seen[key]

    best = min(grid, key=value)
    lo, hi = config.variances[0], config.variances[-1]
    step = [math.log(config.variances[1] / config.variances[0]) / 2.0] * 2 + [90.0 / config.angles]
    while step[0] >= config.tolerance:
        moves = []
        for axis in range(3):
            for sign in (-1.0, 1.0):
                p = list(best)
                if axis < 2:  # variances stay in the grid's range: wider ones do not fit the kernel's taps
                    p[axis] = min(max(p[axis] * math.exp(sign * step[axis]), lo), hi)
                else:
                    p[axis] += sign * step[axis]
                moves.append(tuple(p))
        candidate = min(moves, key=value)
        if value(candidate) < value(best):
            best = candidate  # type: ignore[assignment]
        else:
            step = [s / 2.0 for s in step]
    if progress is not None:
        progress(total, total)
    a, b, t = best
    if b > a:
        a, b, t = b, a, t + 90.0
    return (a, b, t % 180.0), value(best)


def _narrowest_alike(criterion: Callable[[np.ndarray], float], best: tuple[float, float, float], value: float,
                     config: RecurrenceConfig) -> float:
    """The smallest factor ``f`` in [``config.narrowest``, 1] such that the best Gaussian with both variances
    times ``f`` is within ``config.margin`` of the best criterion ``value`` (bisection in log ``f``; the criterion
    rises as the kernel narrows below the best). 1 when ``margin`` is 0."""
    a, b, t = best
    limit = value * (1.0 + config.margin)

    def alike(f: float) -> bool:
        return criterion(gaussian_kernel(a * f, b * f, t, config.size)) <= limit

    if config.margin <= 0.0:
        return 1.0
    if alike(config.narrowest):
        return config.narrowest
    lo, hi = math.log(config.narrowest), 0.0  # not alike at lo, alike at hi
    while hi - lo > config.tolerance:
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if alike(math.exp(mid)) else (mid, hi)
    return math.exp(hi)


def fit_recurrence_kernel(image: np.ndarray, config: RecurrenceConfig = RecurrenceConfig(),
                          device: torch.device | None = None,
                          progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray | None, dict]:
    """The x2 kernel of ``image`` (float ``HxWxC`` in [0, 1], the LR input; at least ``2 * patch`` pixels a side)
    by patch recurrence: a ``size x size`` Gaussian (float64, sum 1, centre of mass on the middle tap), or None
    when MATLAB's bicubic kernel reproduces the patches better than every Gaussian, or when the best Gaussian is
    the widest the range allows (no minimum: ``facts["at_widest"]``).

    The Gaussian returned is the best one narrowed to the edge of the evidence: the narrowest of the same shape
    whose criterion is within ``config.margin`` of the best (:func:`_narrowest_alike`). Its width over the best's
    is ``facts["confidence"]``. Then each of its variances above ``config.max_variance`` is clipped to it
    (``facts["cap"]``: the used spread over the narrowed one, 1 when not capped). The facts: the best Gaussian's
    variances and angle, the used ones, and the criterion for the best and for bicubic."""
    with torch.no_grad():
        criterion = RecurrenceCriterion(image, config, device or torch.device("cpu"))
        (a, b, t), best = _search(criterion, config, progress)
        bicubic = criterion(bicubic_kernel(2))
        factor = _narrowest_alike(criterion, (a, b, t), best, config)
    # a best Gaussian on the range's wide end is no minimum: the criterion keeps preferring wider kernels (a
    # nearly featureless image), so the image does not tell its kernel
    unbounded = a >= config.variances[-1] * (1.0 - 1e-9)
    narrowed = (a * factor, b * factor)
    used = _capped(narrowed, config.max_variance)
    cap = sum(used) / sum(narrowed)
    facts = {"variances": [round(a, 4), round(b, 4)], "angle": round(t, 2), "criterion": best,
             "bicubic_criterion": bicubic, "at_widest": unbounded, "confidence": round(factor, 3),
             "cap": round(cap, 3), "used_variances": [round(used[0], 4), round(used[1], 4)]}
    log.info("patch recurrence: Gaussian %.2f / %.2f at %.0f degrees, criterion %.3g (bicubic %.3g); the image "
             "cannot tell it from %.2f times its width%s", a, b, t, best, bicubic, factor,
             f"; variances capped at {config.max_variance:g} ({cap:.2f} of its spread)" if cap < 1.0 else "")
    keep = bicubic <= best or unbounded
    return (None if keep else gaussian_kernel(*used, t, config.size)), facts


def _capped(variances: tuple[float, float], max_variance: float | None) -> tuple[float, float]:
    """Each principal variance clipped to ``max_variance`` (HR pixels squared): no direction wider than that."""
    if max_variance is None:
        return variances
    return (min(variances[0], max_variance), min(variances[1], max_variance))
