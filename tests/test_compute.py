"""Compute: where the work runs, one record built once by the CLI and handed on whole."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zssr_deploy.batch.options import BatchOptions
from zssr_deploy.cli.options import compute_from, config_from, kernel_from
from zssr_deploy.compute import Compute
from zssr_deploy.errors import ConfigError


def test_torch_device_and_device_id():
    assert Compute().torch_device == "auto" and Compute().device_id == 0
    assert Compute("cpu").torch_device == "cpu"
    assert Compute("cuda").torch_device == "cuda"
    assert Compute("cuda", gpu=2).torch_device == "cuda:2" and Compute("cuda", gpu=2).device_id == 2
    assert Compute(gpu=1).torch_device == "cuda:1"  # asking for a GPU by index asks for a GPU


@pytest.mark.parametrize("words, want", [
    (("cuda:3", None, None), Compute("cuda", 3)),
    (("cuda:3", 3, 2), Compute("cuda", 3, 2)),
    ((None, None, None), Compute()),
    (("cpu", None, 4), Compute("cpu", None, 4)),
])
def test_parse(words, want):
    assert Compute.parse(*words) == want


@pytest.mark.parametrize("words, says", [
    (("cpu", 1, None), "disagree"),
    (("cuda:1", 2, None), "disagree"),
    (("cuda:x", None, None), "not a device"),
    (("tpu", None, None), "auto, cpu or cuda"),
    ((None, None, 0), "--threads"),
    ((None, -1, None), "--gpu"),
])
def test_bad_words_are_config_errors(words, says):
    with pytest.raises(ConfigError, match=says):
        Compute.parse(*words)


def test_shares_divide_the_threads():
    assert Compute(threads=8).shared(1) == Compute(threads=8)  # one job: all of them, as given
    assert Compute(threads=8).shared(3).threads == 2
    assert Compute(threads=2).shared(4).threads == 1  # never none
    assert Compute().shared(2).threads >= 1  # the machine's cores, divided
    ray = BatchOptions(cluster="ray", cpus_per_task=3)
    assert ray.task_compute(Compute("cuda", 1, 16)) == Compute("cuda", 1, 3)  # a Ray task: its reserved CPUs
    assert BatchOptions(jobs=2).task_compute(Compute(threads=6)).threads == 3


def _opts(**given):
    opts = dict(preset="ideal", scale="2", device=None, gpu=None, threads=None, seed=0, kernel_path="estimate",
                kernel_estimator=None, kernel_iters=None)
    opts.update(given)
    return opts


def test_the_cli_builds_it_once_without_touching_torch():
    """Parsing leaves torch's threads alone (they are set when the work starts), and the trainer and the
    estimator get one device from the one record (they used to be able to differ)."""
    before = torch.get_num_threads()
    opts = _opts(device="cpu", threads=max(1, before - 1) if before > 1 else 2)
    compute = compute_from(opts)
    cfg = config_from(opts, compute)
    source = kernel_from(opts, cfg)
    assert torch.get_num_threads() == before
    assert cfg.device == "cpu" == source.estimation.device
    assert not {"device", "gpu", "threads"} & set(opts)  # popped: nothing else reads them


def test_the_gpu_index_reaches_trainer_and_estimator_but_not_the_fingerprints():
    from zssr_deploy.batch.runner import _settings
    from zssr_deploy.blind.config import KernelSource
    from zssr_deploy.runtime.run import Inference

    one = _opts(gpu=1)
    compute = compute_from(one)
    cfg = config_from(one, compute)
    assert cfg.device == "cuda:1" == kernel_from(one, cfg).estimation.device
    zero = _opts(gpu=0)
    cfg0 = config_from(zero, compute_from(zero))
    assert _settings(cfg, Inference(compute=compute), KernelSource()) == _settings(cfg0, Inference(), KernelSource())


def test_the_fit_runs_on_the_threads_it_was_given():
    """``Inference.compute.threads`` are the fit's threads too (the library's way to say ``--threads``)."""
    from zssr_deploy.api import upscale_array
    from zssr_deploy.runtime.run import Inference
    from zssr_deploy.trainers.config import ZSSRConfig

    before = torch.get_num_threads()
    seen = []
    try:
        want = 1 if before != 1 else 2
        img = np.random.default_rng(0).random((12, 12, 1), dtype=np.float32)
        from zssr_deploy.journey import Callbacks

        upscale_array(img, ZSSRConfig(max_iters=2, crop_size=8, device="cpu"), inference=Inference(
            engine="torch", compute=Compute("cpu", threads=want)),
            callbacks=Callbacks(progress=lambda p: seen.append(torch.get_num_threads())))
        assert seen and set(seen) == {want}
    finally:
        torch.set_num_threads(before)
