"""Training iterations replayed as CUDA graphs (``ZSSRConfig.cuda_graphs``): the same arithmetic as the eager
loop, without a kernel launch per operation.

On a GPU one iteration is about a hundred small kernels, and launching them takes longer than running them
(docs/benchmarks/speed.md, "The single fit on CUDA"). A CUDA graph records the kernels once and replays them
with one launch, but only for tensors of the shapes and addresses it was recorded with. So:

* the father is still drawn eagerly (its random parameters are the eager loop's numpy draws, so a graphed fit
  trains on the same fathers), then copied into the graph's own input buffer;
* what follows (son, cubic upscale, network, L1 loss, backward, Adam) is one graph per father shape, recorded
  once that shape has come :data:`CAPTURE_AFTER` times (a photo draws one shape; a small input draws dozens,
  most of them rarely), at most :data:`MAX_GRAPHS` per scale step; other shapes run eagerly;
* Adam is ``capturable``: its rate and step counts live on the device, so a learning-rate drop is a write into
  that tensor (:func:`~zssr_deploy.trainers.step.set_learning_rate`) and needs no new recording;
* before recording, one warm-up iteration on a side stream initialises what must not be recorded (cuDNN plans,
  workspaces); its effect on the weights and Adam's moments is undone, so the fit's arithmetic is unchanged.

Experimental: written and tested on the CPU with an eager stand-in for the recording
(``tests/trainers/test_graphed.py``); not yet run on a GPU.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .augment import AugmentSettings
from .state import FitState
from .step import ScaleStep, draw_father, train_on

__all__ = ["CAPTURE_AFTER", "MAX_GRAPHS", "GraphedIterations", "Replay"]

log = logging.getLogger(__name__)

#: a father shape is recorded once it has been drawn this many times (rare shapes stay eager)
CAPTURE_AFTER = 3
#: graphs recorded per scale step at most (each holds its activations: ~40 MB at 128x128, width 64)
MAX_GRAPHS = 16


@dataclass
class Replay:
    """One recorded iteration: write the father into ``father``, call ``replay``, read ``loss``."""

    father: torch.Tensor
    loss: torch.Tensor
    replay: Callable[[], None]


def _snapshot(state: FitState) -> tuple[list[torch.Tensor], dict]:
    params = [p.detach().clone() for p in state.net.parameters()]
    moments = {p: {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
               for p, s in state.optimizer.state.items()}
    return params, moments


@torch.no_grad()
def _restore(state: FitState, saved: tuple[list[torch.Tensor], dict]) -> None:
    """The weights and Adam's state as :func:`_snapshot` found them (in place: the recorded addresses stay)."""
    params, moments = saved
    for p, v in zip(state.net.parameters(), params):
        p.copy_(v)
    for p, s in list(state.optimizer.state.items()):
        if p not in moments:
            del state.optimizer.state[p]  # Adam's first step made this state; it did not exist before
            continue
        for k, v in moments[p].items():
            if isinstance(v, torch.Tensor):
                s[k].copy_(v)
            else:
                s[k] = v


def record_cuda(state: FitState, step: ScaleStep, father: torch.Tensor) -> Replay:
    """Record :func:`~zssr_deploy.trainers.step.train_on` for ``father``'s shape as a CUDA graph (after a
    warm-up on a side stream whose training effect is undone)."""
    static = father.clone(memory_format=torch.contiguous_format)  # one layout, whatever turn the first father had
    saved = _snapshot(state)
    side = torch.cuda.Stream(device=state.device)
    side.wait_stream(torch.cuda.current_stream(state.device))
    with torch.cuda.stream(side):
        train_on(state, step, static)
    torch.cuda.current_stream(state.device).wait_stream(side)
    _restore(state, saved)
    graph = torch.cuda.CUDAGraph()
    state.optimizer.zero_grad(set_to_none=True)  # the recorded backward writes fresh gradients
    # recorded on the warm-up's stream: libraries cache handles and workspaces per stream, and one created in
    # the middle of a recording would fail it
    with torch.cuda.graph(graph, stream=side):
        loss = train_on(state, step, static)
    return Replay(static, loss, graph.replay)


class GraphedIterations:
    """One scale step's iterations, each call one Adam step: eager for shapes not (yet) recorded, a replay for
    the others. ``record`` makes a :class:`Replay` (a CUDA graph; tests give an eager stand-in)."""

    def __init__(self, state: FitState, step: ScaleStep, augment: AugmentSettings,
                 record: Callable[[FitState, ScaleStep, torch.Tensor], Replay] = record_cuda) -> None:
        self.state, self.step, self.augment, self.record = state, step, augment, record
        self.replays: dict[tuple[int, ...], Replay] = {}
        self.seen: Counter = Counter()
        self.replayed = 0

    def __call__(self) -> torch.Tensor:
        """One iteration; returns its loss, left on the device (a replay's loss buffer: read it before the next)."""
        father = draw_father(self.state, self.augment)
        shape = tuple(father.shape)
        replay = self.replays.get(shape)
        if replay is None:
            self.seen[shape] += 1
            if self.seen[shape] <= CAPTURE_AFTER or len(self.replays) >= MAX_GRAPHS:
                return train_on(self.state, self.step, father)
            replay = self.replays[shape] = self.record(self.state, self.step, father)
            log.debug("recorded the iteration for fathers of shape %s (%d graphs)", shape, len(self.replays))
        replay.father.copy_(father)
        replay.replay()
        self.replayed += 1
        return replay.loss
