"""Packed fits: several images' test-time training in the same kernels (one fit's work per launch is tiny).

On a GPU a ZSSR iteration is launch-bound: each of its convolutions is microseconds of work behind a kernel
launch, so one fit leaves the device idle. A pack trains ``n`` image-specific networks at once: every
iteration each member draws its own father and son (its own generators, kernel and sources, exactly as a
lone fit does), their cubic upscales are stacked, and the ``n`` networks run as one grouped convolution per
layer (:func:`~zssr_deploy.models.network.packed_residuals`); one backward pass gives each network its own
gradient and each member's Adam steps its own weights. Each member keeps its own learning-rate policy,
reconstruction tests and stop (:class:`~zssr_deploy.trainers.step.StepRun`); a member whose step ends runs
its pipeline and either starts its next step in the pack or leaves it, finished.

Members must share the network's shape, the device and the precision. A packed member gives the pixels of
its lone fit up to the convolutions' summation order: a pack of one is the lone fit bit for bit; larger packs
match lone fits to about 1e-5 after tens of iterations (``tests/trainers/test_packed.py``). Checkpoints of
gradual fits are a lone fit's feature: resume a folder by its manifest instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..models.network import add_residual, packed_residuals
from .config import ZSSRConfig
from .fitting import FitPlan, FitResult, end_step, fit_result, start_step
from .state import FitState, Progress
from .step import ScaleStep, StepRun, train_pair

__all__ = ["MAX_PACK", "fit_packed", "member_bytes", "pack_size", "packed_fits"]

log = logging.getLogger(__name__)

#: the most fits one pack holds (beyond it a GPU is busy anyway, and an interrupted pack loses more)
MAX_PACK = 32


class _Member:
    """One image's fit inside a pack: the lone fit's state, its current step and that step's bookkeeping."""

    def __init__(self, index: int, plan: FitPlan, progress: Callable[[Progress], None] | None,
                 net_tile: int | None, final_inference: bool) -> None:
        self.index, self.plan, self.progress = index, plan, progress
        self.net_tile, self.final_inference = net_tile, final_inference
        self.t0 = time.perf_counter()
        self.state = FitState.start(plan.image, plan.config)
        self.result: FitResult | None = None
        self._begin(0)

    def _begin(self, i: int) -> None:
        self.step: ScaleStep = start_step(self.state, self.plan, i, None)
        self.run = StepRun(self.state, self.step, self.progress)

    def after(self, loss: torch.Tensor) -> bool:
        """Account for one packed iteration; True once the whole fit is over (``result`` is then set)."""
        if not self.run.after(loss):
            return False
        pipeline, pipeline_input, output = end_step(self.state, self.plan, self.step, self.run.summary(), None,
                                                    self.net_tile, self.final_inference)
        if self.step.index + 1 < len(self.state.config.scale_factors):
            self._begin(self.step.index + 1)
            return False
        self.result = fit_result(self.state, pipeline, pipeline_input, output, time.perf_counter() - self.t0, 0)
        return True


def _check_packable(plans: Sequence[FitPlan]) -> None:
    """Members must run in the same kernels: one network shape, one device, one precision."""
    def key(p: FitPlan) -> tuple:
        c = p.config
        return (p.image.shape[2], c.width, c.depth, c.device, c.precision)
    keys = {key(p) for p in plans}
    if len(keys) > 1:
        raise ConfigError("a pack's images must share channels, network width and depth, device and precision; "
                          f"got {sorted(keys)}: fit them in separate packs")


def _packed_iteration(members: Sequence[_Member]) -> list[torch.Tensor]:
    """One Adam step of every member on its own (son -> father) pair, the networks in shared kernels; returns
    each member's loss, left on the device."""
    pairs = [train_pair(m.state, m.step, m.run.augment) for m in members]
    hs, ws = [u.shape[2] for _, u in pairs], [u.shape[3] for _, u in pairs]
    h, w = max(hs), max(ws)
    # fathers smaller than the largest (small images, scaled-down crops) are padded at the bottom and right;
    # their networks' activations there are zeroed layer by layer (packed_residuals' mask)
    x = torch.cat([F.pad(u, (0, w - u.shape[3], 0, h - u.shape[2])) for _, u in pairs])
    valid = None
    if len(set(hs)) > 1 or len(set(ws)) > 1:
        valid = torch.zeros((len(pairs), 1, h, w), device=x.device, dtype=x.dtype)
        for j, (hj, wj) in enumerate(zip(hs, ws)):
            valid[j, :, :hj, :wj] = 1.0
    lead = members[0].state
    with lead.autocast():
        res = packed_residuals([m.state.net for m in members], x.contiguous(memory_format=lead.memory_format), valid)
    out = add_residual(x, res.float(), clamp=False)
    losses = [F.l1_loss(out[j : j + 1, :, : hs[j], : ws[j]], father) for j, (father, _) in enumerate(pairs)]
    for m in members:
        m.state.optimizer.zero_grad(set_to_none=True)
    # each loss depends on its own network alone: the sum's gradient is every member's own
    torch.stack(losses).sum().backward()
    for m in members:
        m.state.optimizer.step()
    return losses


def packed_fits(plans: Sequence[FitPlan], progress: Callable[[int, Progress], None] | None = None,
                net_tile: int | None = 512, final_inference: bool = True) -> Iterator[tuple[int, FitResult]]:
    """Fit several checked plans as one pack, yielding ``(index, result)`` as each image's fit ends while the
    others train on (see :func:`fit_packed`)."""
    if not plans:
        return
    _check_packable(plans)
    members = [_Member(i, p, None if progress is None else (lambda pr, i=i: progress(i, pr)), net_tile,
                       final_inference) for i, p in enumerate(plans)]
    active = list(members)
    log.info("packed fit of %d images", len(active))
    while active:
        losses = _packed_iteration(active)
        still = []
        for m, loss in zip(active, losses):
            if m.after(loss):
                log.info("image %d of the pack finished", m.index)
                yield m.index, m.result  # type: ignore[misc]
            else:
                still.append(m)
        active = still


def fit_packed(plans: Sequence[FitPlan], progress: Callable[[int, Progress], None] | None = None,
               net_tile: int | None = 512, final_inference: bool = True) -> list[FitResult]:
    """Fit several checked plans (:func:`~zssr_deploy.trainers.fitting.plan_fit`) as one pack.

    Args:
        plans: the images' plans; each keeps its own settings (seed, kernel, learning-rate rule, scale steps),
            but all must share channels, network width and depth, device and precision.
        progress: ``progress(index, Progress)`` for plan ``index``, as a lone fit reports.
        net_tile, final_inference: as for :func:`~zssr_deploy.trainers.fitting.fit`.

    Returns:
        One :class:`~zssr_deploy.trainers.fitting.FitResult` per plan, in order (``seconds``: the member's wall
        time in the pack, shared with the others).
    """
    results: dict[int, FitResult] = dict(packed_fits(plans, progress, net_tile, final_inference))
    return [results[i] for i in range(len(plans))]


def pack_size(config: ZSSRConfig, images: int, free_bytes: int | None) -> int:
    """How many fits a pack holds: all the images, at most :data:`MAX_PACK`, and as many as half the device's
    free memory takes at :func:`member_bytes` each (None: unknown, the cap alone)."""
    n = min(images, MAX_PACK)
    if free_bytes is not None:
        n = min(n, int(free_bytes // 2 // member_bytes(config)))
    return max(1, n)


def member_bytes(config: ZSSRConfig) -> int:
    """A generous bound on one member's training memory: per layer, the float32 activation, its ReLU mask and
    its gradient for the largest father (``crop_size`` square), the grouped convolution's workspace counted as
    much again; weights and sources are small beside it."""
    return 2 * 3 * config.depth * config.width * config.crop_size ** 2 * 4
