"""The released code's learning-rate policy: drop by 10 when the reconstruction error stops improving.

Every ``test_every`` iterations the reconstruction error is recorded. At iterations ``i`` with
``(i + 1) % check_every == 0`` and more than ``min_iters`` iterations since the last change, a line is fitted
(least squares with its covariance) to the last ``slope_range // test_every`` errors against their iteration
numbers; if ``-ratio * slope < std(slope)`` the improvement is within noise and the rate is divided by 10.
Training stops once the rate falls below ``min_lr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LearningRatePolicy"]


@dataclass
class LearningRatePolicy:
    lr: float = 1e-3
    min_lr: float = 9e-6
    ratio: float = 1.5
    check_every: int = 60
    min_iters: int = 256
    slope_range: int = 256
    test_every: int = 50
    steps: list[int] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    changes: list[int] = field(default_factory=lambda: [0])

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
        if len(x) < 3:
            return False
        (slope, _), cov = np.polyfit(x, y, 1, cov=True)
        std = float(np.sqrt(cov[0, 0]))
        if -self.ratio * slope < std:
            self.lr /= 10.0
            self.changes.append(iteration)
            return True
        return False

    @property
    def finished(self) -> bool:
        return self.lr < self.min_lr
