"""The released code's learning-rate policy: drop by 10 when the reconstruction error stops improving.

Every ``test_every`` iterations the reconstruction error is recorded. At iterations ``i`` with
``(i + 1) % check_every == 0`` and more than ``min_iters`` iterations since the last change, a line is fitted
(least squares with its covariance) to the last ``slope_range // test_every`` errors against their iteration
numbers; if ``-ratio * slope < std(slope)`` the improvement is within noise and the rate is divided by 10.
Training stops once the rate falls below ``min_lr``.

The slope's variance is scaled as the numpy of 2017 did, which the released code ran with: residual sum of
squares over ``n - 4`` (``np.polyfit(..., cov=True)`` divided by ``n - order - 2`` until numpy 1.16; it now
divides by ``n - 2``, which makes the rule drop markedly later with 5 points).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ZSSRConfig

__all__ = ["LearningRatePolicy"]


def slope_and_std(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``y`` against ``x`` and its standard deviation (2017 numpy scaling, n > 4)."""
    n = len(x)
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    resid = float(((y - ym - slope * (x - xm)) ** 2).sum())
    return slope, float(np.sqrt(resid / (n - 4) / sxx))


@dataclass
class LearningRatePolicy:
    """The rule's state for one scale step. Its settings are fields of
    :class:`~zssr_deploy.trainers.config.ZSSRConfig` (documented and defaulted there, once): build it with
    :meth:`from_config`."""

    lr: float
    min_lr: float
    ratio: float
    check_every: int
    min_iters: int
    slope_range: int
    test_every: int
    steps: list[int] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    changes: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def from_config(cls, cfg: ZSSRConfig) -> LearningRatePolicy:
        """A fresh policy (no history) with the learning-rate fields of a fit's settings, by name."""
        return cls(lr=cfg.learning_rate, min_lr=cfg.min_learning_rate, ratio=cfg.lr_change_ratio,
                   check_every=cfg.lr_check_every, min_iters=cfg.min_iters, slope_range=cfg.lr_slope_range,
                   test_every=cfg.test_every)

    def record(self, iteration: int, error: float) -> None:
        """Record a reconstruction error measured at ``iteration``."""
        self.steps.append(iteration)
        self.errors.append(float(error))

    def update(self, iteration: int) -> bool:
        """Apply the rule after ``iteration``; True when the rate was just divided by 10."""
        if (iteration + 1) % self.check_every or iteration - self.changes[-1] <= self.min_iters:
            return False
        n = self.slope_range // self.test_every
        x, y = np.asarray(self.steps[-n:], float), np.asarray(self.errors[-n:], float)
        if len(x) < 5:
            return False
        slope, std = slope_and_std(x, y)
        if -self.ratio * slope < std:
            self.lr /= 10.0
            self.changes.append(iteration)
            return True
        return False

    @property
    def finished(self) -> bool:
        return self.lr < self.min_lr
