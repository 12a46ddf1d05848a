import numpy as np
import pytest
import torch

from zssr_deploy.imageops.resize import imresize
from zssr_deploy.models.network import ZSSRNet
from zssr_deploy.models.pipeline import (
    ZSSRPipeline,
    ensemble_transforms,
    forward_transform,
    inverse_transform,
    median_network,
    sorted_median,
)


def zero_net(channels=3):
    net = ZSSRNet(channels)
    with torch.no_grad():
        for conv in net.layers:
            conv.weight.zero_()
    return net.eval()


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_sorting_network_median_equals_numpy(n, rng):
    vals = rng.random((n, 4, 5))
    vals[0, 0, 0] = vals[1 % n, 0, 0]  # ties
    out = sorted_median([torch.from_numpy(v) for v in vals]).numpy()
    np.testing.assert_array_equal(out, np.median(vals, axis=0))


def test_network_size():
    assert len(median_network(8)) == 19


@pytest.mark.parametrize("k", range(8))
def test_transforms_invert_exactly(k):
    x = torch.rand(1, 3, 5, 7)
    np.testing.assert_array_equal(inverse_transform(forward_transform(x, k), k).numpy(), x.numpy())
    ref = np.rot90(x[0].permute(1, 2, 0).numpy(), k % 4)
    ref = np.fliplr(ref) if k >= 4 else ref
    np.testing.assert_array_equal(forward_transform(x, k)[0].permute(1, 2, 0).numpy(), ref)


def test_ensemble_modes():
    assert ensemble_transforms((2, 2), True) == list(range(8))
    assert ensemble_transforms((2, 1.5), True) == [0, 2, 4, 6]
    assert ensemble_transforms((2, 2), False) == [0]


@pytest.mark.parametrize("scale", [(2.0, 2.0), (2.0, 1.5), (3.0, 3.0)])
def test_zero_residual_without_bp_is_bicubic(scale, rng):
    lr = rng.random((11, 14, 3))
    pipe = ZSSRPipeline(zero_net(), scale, bp_iters=0, ensemble=True).eval()
    with torch.no_grad():
        out = pipe(torch.from_numpy(lr.astype(np.float32)).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, np.clip(imresize(lr, scale), 0, 1), atol=2e-6)


def test_back_projection_reduces_reconstruction_error(rng):
    lr = rng.random((12, 12, 3)).astype(np.float32)
    lr_t = torch.from_numpy(lr).permute(2, 0, 1)[None]
    sr0 = torch.rand(1, 3, 24, 24)  # a poor SR estimate
    pipe = ZSSRPipeline(zero_net(), (2.0, 2.0), bp_iters=1)
    errors = []
    sr = sr0
    for _ in range(4):
        errors.append(float(((pipe.down(sr, (12, 12)) - lr_t) ** 2).mean()))
        sr = pipe.back_project(sr, lr_t)
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.2 * errors[0]


def test_tiled_network_is_exact():
    torch.manual_seed(0)
    net = ZSSRNet(3).eval()
    x = torch.rand(1, 3, 37, 45)
    pipe = ZSSRPipeline(net, (2.0, 2.0), net_tile=16)
    with torch.no_grad():
        np.testing.assert_allclose(pipe.residual(x).numpy(), net(x).numpy(), atol=1e-6)
