"""One scale step of test-time training (the released code's ``train`` and ``quick_test``).

Each iteration cuts an HR father from the image's own sources, degrades it into its LR son, and teaches the
network to restore the father from the son's cubic upscale. Every ``test_every`` iterations the network
reconstructs the input from the input's own son; that error drives the learning-rate rule, which ends the
step once the rate has been divided by 10 three times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..models.network import add_residual
from ..models.resize import Resize
from .augment import AugmentSettings, sample_father
from .config import ZSSRConfig
from .lr_policy import LearningRatePolicy
from .state import FitState, Progress, StepSummary

__all__ = ["ScaleStep", "StepRun", "draw_father", "reconstruction_regions", "set_learning_rate", "train_on", "train_pair",
           "train_scale_step"]

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
        return self.correct(self.up(son, out_hw), train)

    def correct(self, up: torch.Tensor, train: bool) -> torch.Tensor:
        """The network's correction of a cubic upscale ``(N, C, H, W)``; clipped unless training."""
        with self.state.autocast():
            res = self.state.net(up.contiguous(memory_format=self.state.memory_format))
        return add_residual(up, res.float(), clamp=not train)

    @torch.no_grad()
    def reconstruction_error(self, regions: list[torch.Tensor]) -> float:
        """MSE between the input and the network's reconstruction of it from its own son."""
        self.state.net.eval()
        # the regions' sums added in float64 on the device, read once: one host sync a test, not one a region
        # (the same double additions as adding Python floats, so the same error to the last bit)
        total, count = torch.zeros((), dtype=torch.float64, device=self.state.device), 0
        for region in regions:
            rec = self.predict(self.son(region), (region.shape[2], region.shape[3]), train=False)
            total = total + ((rec - region) ** 2).sum().double()
            count += region.numel()
        self.state.net.train()
        return float(total) / count


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


def train_pair(state: FitState, step: ScaleStep, augment: AugmentSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """One training pair of the step: an HR father ``(1, C, h, w)`` cut from the sources and the cubic upscale
    of its LR son to the father's shape (what the network corrects). Draws from the state's generators."""
    father = draw_father(state, augment)
    return father, step.up(step.son(father), (father.shape[2], father.shape[3]))


def train_on(state: FitState, step: ScaleStep, father: torch.Tensor) -> torch.Tensor:
    """One Adam step on an HR father ``(1, C, h, w)``: its son's cubic upscale corrected by the network, L1
    against the father. Returns the loss, left on the device. (The part of an iteration a CUDA graph replays.)"""
    up = step.up(step.son(father), (father.shape[2], father.shape[3]))
    loss = F.l1_loss(step.correct(up, train=True), father)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    state.optimizer.step()
    return loss


def _train_iteration(state: FitState, step: ScaleStep, augment: AugmentSettings) -> torch.Tensor:
    """One Adam step on a freshly drawn pair; returns the loss, left on the device."""
    return train_on(state, step, draw_father(state, augment))


def draw_father(state: FitState, augment: AugmentSettings) -> torch.Tensor:
    """The next HR father ``(1, C, h, w)`` from the state's sources and generators."""
    return sample_father(state.sources, state.base_scales, state.max_father_scale, state.rng, augment)[None]


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every group's rate; a rate held in a device tensor (a graphed fit's Adam) is overwritten in place, so the
    captured graphs read the new value."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


class StepRun:
    """The bookkeeping of one scale step's training, whoever runs its iterations (a lone fit, or a pack of fits
    sharing kernels): the learning-rate policy, the reconstruction tests that drive it, progress and the stop.

    Build it when the step starts (a fresh optimizer where the settings ask), call :meth:`after` after each
    Adam step with that iteration's loss (left on the device), and :meth:`summary` once it says the step is
    done."""

    def __init__(self, state: FitState, step: ScaleStep, progress=None) -> None:
        cfg = state.config
        self.state, self.step, self.t0 = state, step, time.perf_counter()
        self.policy = LearningRatePolicy.from_config(cfg)
        self.augment = AugmentSettings.from_config(cfg)
        if cfg.fresh_optimizer_each_step:
            # a new scale step is a new objective: kept moments froze the network on Set5 bird
            # (docs/benchmarks/quality.md, Set5 x2 gradual)
            state.restart_optimizer()
        set_learning_rate(state.optimizer, self.policy.lr)
        self.regions = reconstruction_regions(state.current_input[None], cfg)
        self.report = _reporter(progress, step.index, len(cfg.scale_factors), cfg.max_iters)
        self.iteration, self.rec_err, self.last_loss = -1, float("nan"), float("nan")
        self.loss = torch.zeros((), device=state.device)

    def after(self, loss: torch.Tensor) -> bool:
        """Account for the iteration just trained (its ``loss``); True when the step is over (the rate fell
        below its floor, or ``max_iters``)."""
        cfg, policy = self.state.config, self.policy
        self.iteration += 1
        iteration, self.loss = self.iteration, loss
        if iteration % cfg.test_every == 0:
            self.rec_err = self.step.reconstruction_error(self.regions)
            policy.record(iteration, self.rec_err)
            self.last_loss = float(loss.detach())  # the only device sync: once per test
            self.report(iteration + 1, self.last_loss, self.rec_err, policy.lr)
        elif iteration % 10 == 9:  # keep a progress bar moving without reading the loss from the device
            self.report(iteration + 1, self.last_loss, self.rec_err, policy.lr)
        if policy.update(iteration):
            set_learning_rate(self.state.optimizer, policy.lr)
            log.info("iteration %d: learning rate -> %g", iteration, policy.lr)
        return policy.finished or iteration + 1 >= cfg.max_iters

    def summary(self) -> StepSummary:
        """The finished step's record (reports its last progress)."""
        iterations = self.iteration + 1
        self.report(iterations, float(self.loss.detach()), self.rec_err, self.policy.lr)
        return StepSummary(self.step.scale, iterations, self.policy.changes[1:], self.policy.lr, self.rec_err,
                           time.perf_counter() - self.t0)


def train_scale_step(state: FitState, step: ScaleStep, progress=None,
                     iterations: Callable[[StepRun], Callable[[], torch.Tensor]] | None = None) -> StepSummary:
    """Train until the learning rate falls below its floor or ``max_iters``; ``progress(Progress)`` as documented
    on :class:`Progress`. ``iterations(run)`` makes the function that trains one iteration and returns its loss
    (default: the eager loop; a graphed fit gives :class:`~zssr_deploy.trainers.graphed.GraphedIterations`)."""
    run = StepRun(state, step, progress)
    if iterations is not None:
        iterate = iterations(run)
    else:
        def iterate() -> torch.Tensor:
            return _train_iteration(state, step, run.augment)
    while not run.after(iterate()):
        pass
    return run.summary()


def _reporter(progress, step: int, steps: int, max_iters: int):
    """``report(iteration, loss, error, lr)``: a :class:`Progress` to ``progress``, or nothing without one."""
    def report(iteration: int, loss: float, error: float, lr: float) -> None:
        if progress is not None:
            progress(Progress(step, steps, iteration, max_iters, loss, error, lr))
    return report
