"""One scale step of test-time training (the released code's ``train`` and ``quick_test``).

Each iteration cuts an HR father from the image's own sources, degrades it into its LR son, and teaches the
network to restore the father from the son's cubic upscale. Every ``test_every`` iterations the network
reconstructs the input from the input's own son; that error drives the learning-rate rule, which ends the
step once the rate has been divided by 10 three times.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from ..models.network import add_residual
from ..models.resize import Resize
from .augment import AugmentSettings, sample_father
from .config import ZSSRConfig
from .lr_policy import LearningRatePolicy
from .state import FitState, Progress, StepSummary

__all__ = ["ScaleStep", "reconstruction_regions", "train_scale_step"]

log = logging.getLogger(__name__)

#: smallest side of a reconstruction test crop
MIN_TEST_SIDE = 32


class ScaleStep:
    """The degradation and the prediction of one scale step, relative to its input."""

    def __init__(self, state: FitState, index: int, scale: tuple[float, float], kernel: np.ndarray | None) -> None:
        self.state, self.index, self.scale = state, index, scale
        self.down = Resize((1.0 / scale[0], 1.0 / scale[1]), "cubic" if kernel is None else kernel).to(state.device)
        self.up = Resize(scale, "cubic").to(state.device)

    def son(self, father: torch.Tensor) -> torch.Tensor:
        """LR son of a father ``(N, C, h, w)``: downscale, optional noise, clip."""
        s = self.down(father)
        if self.state.config.noise_std > 0:
            noise = torch.randn(s.shape, generator=self.state.gen, device=s.device, dtype=s.dtype)
            s = s + noise * self.state.config.noise_std
        return s.clamp(0.0, 1.0)

    def predict(self, son: torch.Tensor, out_hw: tuple[int, int], train: bool) -> torch.Tensor:
        """Network output for a son, upscaled to exactly ``out_hw`` (the father's shape); clipped unless training."""
        up = self.up(son, out_hw)
        with self.state.autocast():
            res = self.state.net(up.contiguous(memory_format=self.state.memory_format))
        return add_residual(up, res.float(), clamp=not train)

    @torch.no_grad()
    def reconstruction_error(self, regions: list[torch.Tensor]) -> float:
        """MSE between the input and the network's reconstruction of it from its own son."""
        self.state.net.eval()
        total, count = 0.0, 0
        for region in regions:
            rec = self.predict(self.son(region), (region.shape[2], region.shape[3]), train=False)
            total += float(((rec - region) ** 2).sum())
            count += region.numel()
        self.state.net.train()
        return total / count


def reconstruction_regions(image: torch.Tensor, config: ZSSRConfig) -> list[torch.Tensor]:
    """The whole image ``(1, C, H, W)``, or 4 fixed crops once it is large: the test costs at most
    ``test_max_pixels``, and fixed crops keep the error curve comparable from test to test."""
    _, _, h, w = image.shape
    budget = config.test_max_pixels
    if h * w <= budget:
        return [image]
    side = max(MIN_TEST_SIDE, int((budget / 4) ** 0.5))
    rng = np.random.default_rng(config.seed + 1)
    regions = []
    for _ in range(4):
        ch, cw = min(side, h), min(side, w)
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        regions.append(image[:, :, y0 : y0 + ch, x0 : x0 + cw])
    return regions


def _train_iteration(state: FitState, step: ScaleStep, augment: AugmentSettings) -> torch.Tensor:
    """One Adam step on one (son -> father) pair; returns the loss, left on the device."""
    father = sample_father(state.sources, state.base_scales, state.max_father_scale, state.rng, augment)[None]
    out = step.predict(step.son(father), (father.shape[2], father.shape[3]), train=True)
    loss = F.l1_loss(out, father)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    state.optimizer.step()
    return loss


def _set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def train_scale_step(state: FitState, step: ScaleStep, progress=None) -> StepSummary:
    """Train until the learning rate falls below its floor or ``max_iters``; ``progress(Progress)`` as documented
    on :class:`Progress`."""
    cfg = state.config
    t0 = time.perf_counter()
    policy = LearningRatePolicy.from_config(cfg)
    augment = AugmentSettings.from_config(cfg)
    if cfg.fresh_optimizer_each_step:
        # a new scale step is a new objective: kept moments froze the network on Set5 bird
        # (docs/benchmarks/quality.md, Set5 x2 gradual)
        state.restart_optimizer()
    _set_learning_rate(state.optimizer, policy.lr)
    regions = reconstruction_regions(state.current_input[None], cfg)
    report = _reporter(progress, step.index, len(cfg.scale_factors), cfg.max_iters)
    loss, iteration, rec_err, last_loss = torch.zeros((), device=state.device), 0, float("nan"), float("nan")
    for iteration in range(cfg.max_iters):
        loss = _train_iteration(state, step, augment)
        if iteration % cfg.test_every == 0:
            rec_err = step.reconstruction_error(regions)
            policy.record(iteration, rec_err)
            last_loss = float(loss.detach())  # the only device sync: once per test
            report(iteration + 1, last_loss, rec_err, policy.lr)
        elif iteration % 10 == 9:  # keep a progress bar moving without reading the loss from the device
            report(iteration + 1, last_loss, rec_err, policy.lr)
        if policy.update(iteration):
            _set_learning_rate(state.optimizer, policy.lr)
            log.info("iteration %d: learning rate -> %g", iteration, policy.lr)
        if policy.finished:
            break
    report(iteration + 1, float(loss.detach()), rec_err, policy.lr)
    return StepSummary(step.scale, iteration + 1, policy.changes[1:], policy.lr, rec_err, time.perf_counter() - t0)


def _reporter(progress, step: int, steps: int, max_iters: int):
    """``report(iteration, loss, error, lr)``: a :class:`Progress` to ``progress``, or nothing without one."""
    def report(iteration: int, loss: float, error: float, lr: float) -> None:
        if progress is not None:
            progress(Progress(step, steps, iteration, max_iters, loss, error, lr))
    return report
