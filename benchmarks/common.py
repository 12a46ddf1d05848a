"""Helpers shared by the benchmark scripts: the machine's CPU model (recorded with every timing) and a kernel's
second moments (how wide and in which direction it blurs). Scripts in the topic folders import it with
``sys.path.insert(0, str(Path(__file__).resolve().parents[1]))``."""

from __future__ import annotations

import platform
import subprocess

import numpy as np

from zssr_deploy.imageops.kernels import kernel_spread

__all__ = ["angle_error", "covariance_xy", "cpu_model", "x2_covariance", "moments", "second_moments", "spread"]


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def second_moments(kernel: np.ndarray) -> np.ndarray:
    """The kernel's 2x2 second-moment matrix about its centre of mass (rows, columns; HR pixels squared)."""
    k = np.asarray(kernel, np.float64) / np.sum(kernel)
    y, x = np.mgrid[: k.shape[0], : k.shape[1]]
    dy, dx = y - (k * y).sum(), x - (k * x).sum()
    return np.array([[(k * dy * dy).sum(), (k * dy * dx).sum()], [(k * dy * dx).sum(), (k * dx * dx).sum()]])


def spread(kernel: np.ndarray) -> float:
    """Trace of the kernel's second-moment matrix (HR pixels squared): how much it blurs. Kernel PSNR hardly
    sees this (a too-wide kernel has small taps, so a small RMSE), and over-estimating it ruins ZSSR."""
    return kernel_spread(kernel)


def covariance_xy(kernel: np.ndarray) -> np.ndarray:
    """The kernel's covariance in (x right, y up) as displayed: the convention of the estimates' angles."""
    (yy, yx), (_, xx) = second_moments(kernel)
    return np.array([[xx, -yx], [-yx, yy]])  # rows point down, so y and the cross term flip


def x2_covariance(kernel: np.ndarray, scale: int) -> np.ndarray:
    """:func:`covariance_xy` in x2-kernel units: an x4 kernel of the blind-SR recipe is its x2 kernel composed with
    itself, which adds the covariance to four times itself, so the x2 kernel's is a fifth of it."""
    return covariance_xy(kernel) / {2: 1.0, 4: 5.0}[scale]


def moments(kernel: np.ndarray) -> dict:
    """Principal variances (HR pixels squared, largest first) and the major axis's angle in degrees in
    [0, 180), counter-clockwise from the x axis as displayed (rows pointing down)."""
    values, vectors = np.linalg.eigh(covariance_xy(kernel))  # ascending
    major = vectors[:, 1]
    return {"variances": [round(float(values[1]), 4), round(float(values[0]), 4)],
            "angle": round(float(np.degrees(np.arctan2(major[1], major[0])) % 180.0), 2)}


def angle_error(a: float, b: float) -> float:
    """Difference of two axis angles in degrees, in [0, 90]."""
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)
