"""Checkpoints between gradual steps: an interrupted fit resumes and gives exactly the uninterrupted output."""

import numpy as np
import pytest

from zssr_deploy.errors import CheckpointError
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.trainers.config import ZSSRConfig
from zssr_deploy.trainers.fitting import fit

# three steps with a base change after the second: the resumed fit must restore sources, base and input
CFG = ZSSRConfig(scale_factors=((1.5, 1.5), (2.0, 2.0), (3.0, 3.0)), back_projection_iters=(1, 2, 1),
                 base_change_scales=(2.0,), max_iters=6, test_every=2, crop_size=16, device="cpu",
                 precision="fp32", seed=3)


class Interrupt(Exception):
    pass


def _interrupt_at(step):
    def progress(p):
        if p.step == step:
            raise Interrupt
    return progress


@pytest.fixture
def lr(photo):
    return imresize(photo, 0.5)[:20, :22].astype(np.float32)


@pytest.mark.parametrize("fresh_adam", [True, False])  # False: Adam's moments carry over and are restored too
@pytest.mark.parametrize("stop_at", [1, 2])
def test_resumed_fit_equals_uninterrupted(lr, tmp_path, stop_at, fresh_adam):
    cfg = CFG.replace(fresh_optimizer_each_step=fresh_adam)
    ref = fit(lr, cfg)
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(Interrupt):
        fit(lr, cfg, progress=_interrupt_at(stop_at), checkpoint=ckpt)
    assert ckpt.exists()

    trained_steps = []
    res = fit(lr, cfg, checkpoint=ckpt, on_step=lambda ev: ev.phase == "start" and trained_steps.append(ev.step.scale))
    # only the steps after the checkpoint were trained again (relative factors: x1.5 after the base change)
    assert trained_steps == [(2.0, 2.0), (1.5, 1.5)][stop_at - 1:]
    np.testing.assert_array_equal(res.output, ref.output)  # bit-exact on CPU
    np.testing.assert_array_equal(res.pipeline_input, ref.pipeline_input)
    assert [(s.scale, s.iterations, s.learning_rate_drops) for s in res.steps] == \
        [(s.scale, s.iterations, s.learning_rate_drops) for s in ref.steps]


def test_checkpoint_of_another_fit_is_refused_and_kept(lr, tmp_path):
    ckpt = tmp_path / "fit.ckpt"
    with pytest.raises(Interrupt):
        fit(lr, CFG, progress=_interrupt_at(1), checkpoint=ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(CheckpointError, match="another image, kernel, settings"):
        fit(lr, CFG.replace(seed=4), checkpoint=ckpt)
    with pytest.raises(CheckpointError, match="another image"):
        fit(lr[:, :20], CFG, checkpoint=ckpt)
    assert ckpt.read_bytes() == before


def test_damaged_checkpoint_is_refused(lr, tmp_path):
    ckpt = tmp_path / "fit.ckpt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        fit(lr, CFG, checkpoint=ckpt)
    assert ckpt.read_bytes() == b"not a checkpoint"


def test_one_jump_fit_writes_no_checkpoint(lr, tmp_path):
    ckpt = tmp_path / "fit.ckpt"
    fit(lr, CFG.replace(scale_factors=((2.0, 2.0),), back_projection_iters=(1,), base_change_scales=()),
        checkpoint=ckpt)
    assert not ckpt.exists()


def test_the_gpu_index_stays_out_of_the_fingerprints():
    """Which GPU ran a fit does not change it: a checkpoint or a batch manifest made on cuda:1 resumes on cuda:0;
    another device kind (cpu) or any other setting still changes the fingerprint."""
    import numpy as np

    from zssr_deploy.batch.runner import _settings
    from zssr_deploy.blind.config import KernelSource
    from zssr_deploy.runtime.run import Inference
    from zssr_deploy.trainers.checkpoint import fingerprint
    from zssr_deploy.trainers.config import ZSSRConfig

    img = np.zeros((16, 16, 3), np.float32)
    one, zero, cpu = (ZSSRConfig(device=d) for d in ("cuda:1", "cuda:0", "cpu"))
    assert fingerprint(img, one, None) == fingerprint(img, zero, None) != fingerprint(img, cpu, None)
    assert fingerprint(img, one, None) != fingerprint(img, one.replace(seed=1), None)
    assert _settings(one, Inference(), KernelSource()) == _settings(zero, Inference(), KernelSource())
    assert _settings(one, Inference(), KernelSource()) != _settings(cpu, Inference(), KernelSource())
