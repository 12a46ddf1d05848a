"""The graphed fit's bookkeeping (``trainers/graphed.py``), on the CPU with an eager stand-in for the CUDA
recording: which iterations replay, the father copied into the recorded buffer, the warm-up undone. The CUDA
recording itself needs a GPU (``benchmarks/gpu/gpu_check.py``)."""

from __future__ import annotations

import logging

import numpy as np
import torch

from zssr_deploy.trainers import graphed
from zssr_deploy.trainers.augment import AugmentSettings
from zssr_deploy.trainers.config import ZSSRConfig
from zssr_deploy.trainers.fitting import fit
from zssr_deploy.trainers.state import FitState
from zssr_deploy.trainers.step import ScaleStep, _train_iteration, set_learning_rate, train_on


def _stand_in(state, step, father):
    """What record_cuda does, eagerly: a warm-up iteration whose effect is undone, then a 'replay' that runs the
    iteration on the recorded buffer and leaves its loss in the recorded loss tensor."""
    static = father.clone()
    saved = graphed._snapshot(state)
    train_on(state, step, static.clone())
    graphed._restore(state, saved)
    loss = torch.zeros(())
    return graphed.Replay(static, loss, lambda: loss.copy_(train_on(state, step, static)))


def _start(img, cfg):
    state = FitState.start(img, cfg)
    return state, ScaleStep(state, 0, (2.0, 2.0), None), AugmentSettings.from_config(cfg)


def test_replayed_iterations_equal_eager_ones_bit_for_bit():
    """A small input draws many father shapes: the common ones are 'recorded' and replayed, the rest run eagerly;
    losses, weights and Adam's moments equal the eager loop's exactly (the warm-up left no trace)."""
    img = np.random.default_rng(3).random((40, 36, 3), dtype=np.float32)
    cfg = ZSSRConfig(crop_size=24, device="cpu", precision="fp32", seed=4)
    a, step_a, aug = _start(img, cfg)
    b, step_b, _ = _start(img, cfg)
    iterate = graphed.GraphedIterations(b, step_b, aug, record=_stand_in)
    eager = [float(_train_iteration(a, step_a, aug).detach()) for _ in range(60)]
    replayed = [float(iterate().detach()) for _ in range(60)]
    assert eager == replayed
    assert iterate.replayed > 10 and 1 <= len(iterate.replays) <= graphed.MAX_GRAPHS
    assert len(iterate.seen) > len(iterate.replays)  # some shapes stayed eager
    for p, q in zip(a.net.parameters(), b.net.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(a.net.parameters(), b.net.parameters()):
        sa, sb = a.optimizer.state[p], b.optimizer.state[q]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_at_most_max_graphs(monkeypatch):
    monkeypatch.setattr(graphed, "MAX_GRAPHS", 1)
    monkeypatch.setattr(graphed, "CAPTURE_AFTER", 0)
    img = np.random.default_rng(1).random((40, 36, 1), dtype=np.float32)
    cfg = ZSSRConfig(crop_size=24, device="cpu", precision="fp32")
    state, step, aug = _start(img, cfg)
    iterate = graphed.GraphedIterations(state, step, aug, record=_stand_in)
    for _ in range(30):
        iterate()
    assert len(iterate.replays) == 1 and len(iterate.seen) > 1


def test_a_rate_held_on_the_device_is_written_in_place():
    """A graphed fit's Adam reads its rate from a tensor the graphs recorded: a drop must change that tensor,
    not replace it."""
    p = torch.nn.Parameter(torch.ones(2))
    lr = torch.tensor(1e-3)
    opt = torch.optim.Adam([p], lr=lr, foreach=False)
    set_learning_rate(opt, 1e-4)
    assert opt.param_groups[0]["lr"] is lr and float(lr) == np.float32(1e-4)
    plain = torch.optim.Adam([p], lr=1e-3)
    set_learning_rate(plain, 1e-4)
    assert plain.param_groups[0]["lr"] == 1e-4


def test_on_the_cpu_the_option_is_said_and_the_fit_unchanged(caplog):
    img = np.random.default_rng(2).random((20, 20, 3), dtype=np.float32)
    cfg = ZSSRConfig(max_iters=12, crop_size=16, device="cpu", precision="fp32", seed=1)
    plain = fit(img, cfg).output
    with caplog.at_level(logging.WARNING):
        asked = fit(img, cfg.replace(cuda_graphs=True)).output
    assert np.array_equal(plain, asked)
    assert any("cuda_graphs" in r.message and "CUDA device" in r.message for r in caplog.records)
