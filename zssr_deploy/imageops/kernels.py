"""Blur kernels: loading, validation, the reference re-centring, and the paper's random Gaussians.

A kernel is a 2-D float64 array that sums to 1. Downscaling with it correlates each channel and keeps
every ``sf``-th row and column (see :func:`zssr_deploy.imageops.resize.kernel_downscale`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..errors import KernelError
from ..files import check_output_path, write_bytes_atomic
from .resize import contributions
from .scale import scale_pair

#: re-centring rules of :func:`shift_kernel`
KERNEL_PHASES = ("zssr", "centered")

__all__ = ["KERNEL_PHASES", "MAX_MAGNITUDE_RATIO", "align_kernels", "bicubic_kernel", "gaussian_taps",
           "is_dihedral_symmetric", "kernel_picture", "kernel_spread", "load_kernel", "random_gaussian_kernel",
           "read_kernel_file", "shift_kernel", "validate_kernel", "write_kernel", "zssr_centre"]


#: the most a kernel's total magnitude may exceed its sum (MATLAB bicubic's negative lobes: 1.32-1.41)
MAX_MAGNITUDE_RATIO = 2.0


def validate_kernel(kernel: np.ndarray, source: str = "kernel") -> np.ndarray:
    """Check a kernel (2-D, non-empty, finite, positive sum) and return it as float64 normalised to sum 1."""
    try:
        k = np.asarray(kernel, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise KernelError(f"{source}: not a numeric array ({exc})") from None
    if k.ndim != 2:
        raise KernelError(f"{source}: a kernel must be a 2-D array, got {k.ndim} dimension(s) of shape {k.shape}")
    if k.size == 0:
        raise KernelError(f"{source}: the kernel is empty")
    if not np.all(np.isfinite(k)):
        raise KernelError(f"{source}: the kernel holds NaN or infinite values")
    total = float(k.sum())
    if not total > 0:
        raise KernelError(f"{source}: the kernel's entries sum to {total:g}; a blur kernel must sum to a positive value")
    magnitude = float(np.abs(k).sum())
    if magnitude > MAX_MAGNITUDE_RATIO * total:
        # normalising would multiply it by magnitude / total, and its centre of mass would fly off the grid
        # (a 13x13 PSF with its background subtracted became a 12005x12005 kernel, and the fit hung)
        raise KernelError(f"{source}: the kernel's negative taps cancel most of its positive ones (sum {total:.3g} "
                          f"against a total magnitude of {magnitude:.3g}); a blur kernel is mostly positive: clip its "
                          "negative taps to 0 (a PSF measured with its background subtracted) or check the file")
    k = k / total
    y, x = np.mgrid[: k.shape[0], : k.shape[1]]
    cy, cx = float((k * y).sum()), float((k * x).sum())
    if not (0 <= cy <= k.shape[0] - 1 and 0 <= cx <= k.shape[1] - 1):
        raise KernelError(f"{source}: the kernel's centre of mass ({cy:.1f}, {cx:.1f}) lies outside its "
                          f"{k.shape[0]}x{k.shape[1]} grid (negative taps on one side); clip its negative taps to 0")
    return k


def load_kernel(path: str | Path) -> np.ndarray:
    """Read a kernel file (see :func:`read_kernel_file`) and validate it: a float64 2-D array summing to 1."""
    return validate_kernel(read_kernel_file(path), source=str(path))


def read_kernel_file(path: str | Path) -> np.ndarray:
    """The array of a kernel file, ``.mat`` (variable ``Kernel`` or ``kernel``), ``.npy``, ``.txt`` or ``.csv``,
    as stored: :class:`KernelError` when the file cannot be read, unchecked otherwise (whoever uses the kernel
    validates it once, with :func:`validate_kernel`)."""
    p = Path(path)
    if not p.is_file():
        raise KernelError(f"kernel file {str(p)!r} does not exist")
    if p.stat().st_size == 0:
        raise KernelError(f"kernel file {str(p)!r} is empty")
    suffix = p.suffix.lower()
    try:
        if suffix == ".mat":
            from scipy.io import loadmat

            data = loadmat(str(p))
            names = [n for n in ("Kernel", "kernel") if n in data]
            if not names:
                found = sorted(n for n in data if not n.startswith("__"))
                raise KernelError(f"{str(p)!r} has no variable 'Kernel' or 'kernel' (it has {found})")
            arr = data[names[0]]
        elif suffix == ".npy":
            arr = np.load(str(p), allow_pickle=False)
        elif suffix in (".txt", ".csv"):
            arr = np.loadtxt(str(p), delimiter="," if suffix == ".csv" else None, ndmin=2)
        else:
            raise KernelError(f"kernel file {str(p)!r}: unknown type {suffix!r}; use .mat, .npy, .txt or .csv")
    except KernelError:
        raise
    except Exception as exc:  # every reader has its own exception types
        raise KernelError(f"cannot read kernel file {str(p)!r}: {exc}") from None
    return np.asarray(arr)


def write_kernel(path: str | Path, kernel: np.ndarray, overwrite: bool) -> Path:
    """Write a kernel as ``.npy`` or ``.mat`` (variable ``Kernel``, as ZSSR's released code reads), atomically."""
    from scipy.io import savemat

    p = check_output_path(path, overwrite, (".npy", ".mat"))
    buf = io.BytesIO()
    if p.suffix.lower() == ".npy":
        np.save(buf, np.asarray(kernel, dtype=np.float64))
    else:
        savemat(buf, {"Kernel": np.asarray(kernel, dtype=np.float64)})
    return write_bytes_atomic(p, buf.getvalue(), overwrite)


def shift_kernel(kernel: np.ndarray, scale: float | Sequence[float], phase: str = "zssr") -> np.ndarray:
    """Re-centre a kernel as the reference implementation does before training.

    The centre of mass moves to ``shape/2 + 0.5 * (sf - shape % 2)`` per axis, after zero-padding so that
    nothing is lost, with a cubic-spline shift. That removes any shift the kernel carries (it cannot be
    known) and aligns the downscaled son so that plain bicubic upscaling of it stays aligned with the father.
    ``phase="centered"`` moves it to the middle tap instead: LR data made with a centred kernel and rows
    ``0, s, 2s, ...`` (MZSR's convention) are half an LR pixel off ZSSR's rule.
    """
    if phase not in KERNEL_PHASES:
        raise KernelError(f"kernel phase must be one of {KERNEL_PHASES}, got {phase!r}")
    k = np.asarray(kernel, dtype=np.float64)
    sf = np.array(scale_pair(scale))
    current = np.array(ndimage.center_of_mass(k))
    size = np.array(k.shape)
    wanted = zssr_centre(k.shape, sf) if phase == "zssr" else (size - 1) / 2.0
    shift = wanted - current
    pad = int(math.ceil(np.max(np.abs(shift)))) + 1
    return ndimage.shift(np.pad(k, pad, mode="constant"), shift)


def align_kernels(a: np.ndarray, b: np.ndarray, scale: float | Sequence[float] = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Two kernels made comparable tap by tap: each normalised to sum 1 and re-centred by the trainer's rule
    (:func:`shift_kernel`), then zero-padded to one shape with their middles aligned. float64 2-D arrays of
    equal shape; how far each was padded varies with its shift, so compare them with padding-blind measures
    (sums of squared differences), never a mean over this grid."""
    ka, kb = (shift_kernel(np.asarray(k, np.float64) / np.sum(k), scale) for k in (a, b))
    shape = np.maximum(ka.shape, kb.shape)

    def pad(k: np.ndarray) -> np.ndarray:
        py, px = shape - k.shape
        return np.pad(k, ((py // 2, py - py // 2), (px // 2, px - px // 2)))

    return pad(ka), pad(kb)


def kernel_picture(kernel: np.ndarray, zoom: int = 16) -> np.ndarray:
    """A kernel as a gray picture to look at: each tap a ``zoom x zoom`` square, the largest tap white
    (float ``HxWx1`` in [0, 1]; negative taps black)."""
    k = np.clip(np.asarray(kernel, dtype=np.float64), 0.0, None)
    k = k / k.max() if k.max() > 0 else k
    return np.kron(k, np.ones((zoom, zoom)))[..., None]


def bicubic_kernel(scale: float | Sequence[float]) -> np.ndarray:
    """MATLAB's antialiased bicubic downscaling by ``scale`` (> 1) as a 2-D kernel (the weights one output
    pixel gives its neighbourhood), normalised: what "assume bicubic" means as numbers."""
    sy, sx = scale_pair(scale)
    rows = [contributions(64, int(64 / s), 1.0 / s)[0][int(16 / s)] for s in (sy, sx)]
    k = np.outer(rows[0], rows[1])
    return k / k.sum()


def kernel_spread(kernel: np.ndarray) -> float:
    """How much a kernel blurs: the trace of its second-moment matrix about its centre of mass, in the kernel's
    pixels squared (a Gaussian's two variances summed; the width the benchmarks compare)."""
    k = np.asarray(kernel, np.float64) / np.sum(kernel)
    y, x = np.mgrid[: k.shape[0], : k.shape[1]]
    return float((k * (y - (k * y).sum()) ** 2).sum() + (k * (x - (k * x).sum()) ** 2).sum())


def is_dihedral_symmetric(kernel: np.ndarray, tol: float = 1e-6) -> bool:
    """True when 90-degree rotations and mirrors leave the kernel unchanged (e.g. an isotropic Gaussian).

    A network trained for one kernel orientation is not rotation-equivariant: only such kernels allow the
    rotated fathers and the geometric ensemble.
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.shape[0] != k.shape[1]:
        return False
    atol = tol * float(np.abs(k).max())
    return bool(np.allclose(k, np.rot90(k), atol=atol) and np.allclose(k, np.fliplr(k), atol=atol))


def zssr_centre(shape: Sequence[int], scale: float | Sequence[float]) -> np.ndarray:
    """Where the trainer's rule puts a kernel's centre of mass (row, column index) for ``scale``:
    ``shape / 2 + 0.5 * (scale - shape % 2)`` per axis, so that the downscaled son stays aligned with its father."""
    size = np.array(shape)
    return size / 2.0 + 0.5 * (np.asarray(scale) - size % 2)


def gaussian_taps(l1: float, l2: float, theta: float, size: int, centre: float, y_up: bool = False) -> np.ndarray:
    """``exp(-z^T C^-1 z / 2)`` on a ``size x size`` grid (float64, not normalised): the one Gaussian that every
    kernel made here starts from.

    ``C = U diag(l1, l2) U^T`` with ``U`` the rotation by ``theta`` radians (``l1``, ``l2``: variances in pixels
    squared along the rotated axes); ``z = (x, y)`` is a tap's offset from ``(centre, centre)`` (row and column
    index), x to the right and y down the rows, or up them with ``y_up`` (angles counter-clockwise as displayed).
    """
    u = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    inv_cov = np.linalg.inv(u @ np.diag([l1, l2]) @ u.T)
    y, x = np.mgrid[:size, :size] - centre
    z = np.stack([x, -y if y_up else y], -1)
    return np.exp(-0.5 * np.einsum("...i,ij,...j->...", z, inv_cov, z))


def random_gaussian_kernel(
    scale: float, seed: int, size: int | None = None, min_eigenvalue: float = 0.05
) -> np.ndarray:
    """An anisotropic Gaussian as in the paper's Eq. 1 (Table 2's random kernels).

    Covariance ``U diag(l1, l2) U^T`` with ``l1, l2 ~ U[0, s^2]`` and ``theta ~ U[0, pi]``. Eigenvalues are
    floored at ``min_eigenvalue`` (pixels^2) so the covariance stays invertible. ``size`` defaults to
    ``2 * ceil(3 * s) + 1``. Same seed, same kernel.
    """
    rng = np.random.default_rng(seed)
    l1, l2 = np.maximum(rng.uniform(0.0, scale**2, size=2), min_eigenvalue)
    theta = rng.uniform(0.0, np.pi)
    n = size if size is not None else 2 * math.ceil(3 * scale) + 1
    k = gaussian_taps(l1, l2, theta, n, (n - 1) / 2.0)
    return validate_kernel(k)
