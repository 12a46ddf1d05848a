"""KernelGAN's pieces: the one-convolution generator equals the layered network (function and gradients), the
crop weights follow the image's gradients, and the post-processing keeps the strong taps."""

import numpy as np
import torch

from zssr_deploy.blind.config import KernelGANConfig
from zssr_deploy.blind.kernel_gan import (
    Generator,
    crop_probabilities,
    gradient_map,
    postprocess_kernel,
)


def test_composed_kernel_equals_the_layered_generator():
    """G applied as its composed 13x13 kernel gives the layered network's output and the same gradient on every
    layer's weights (float64, to 1e-10 relative): training through the composition is training G."""
    torch.manual_seed(0)
    g = Generator(KernelGANConfig()).double()
    assert g.size == 13
    x = torch.rand(3, 1, 40, 40, dtype=torch.float64)
    target = torch.rand(3, 1, 14, 14, dtype=torch.float64)

    layered = g.layered(x)
    composed = Generator.downscale(x[:, 0], g.kernel())[:, None]
    assert layered.shape == composed.shape == (3, 1, 14, 14)
    torch.testing.assert_close(composed, layered, rtol=1e-10, atol=1e-14)

    grads = []
    for out in (layered, composed):
        g.zero_grad()
        ((out - target) ** 2).sum().backward(retain_graph=True)
        grads.append([w.grad.clone() for w in g.weights])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-14)


def test_composed_kernel_is_a_correlation_kernel():
    """A one-layer G with a known asymmetric 3x3 filter: the composed kernel is that filter, not its mirror."""
    g = Generator(KernelGANConfig(g_structure=(3,), g_channels=1))
    w = torch.arange(9.0).reshape(1, 1, 3, 3)
    with torch.no_grad():
        g.weights[0].copy_(w)
    torch.testing.assert_close(g.kernel(), w[0, 0])


def test_crops_are_drawn_where_the_gradients_are():
    """An image flat on its left half and striped on its right: crop centres fall right of the middle only,
    and never within half a crop of the border."""
    img = np.zeros((64, 96, 3))
    img[:, 48:] = (np.arange(48) % 4 < 2)[None, :, None]
    p = crop_probabilities(gradient_map(img), 16).reshape(64, 96)
    assert p.sum() == np.float64(1.0) or abs(p.sum() - 1) < 1e-12
    assert p[:, :40].sum() == 0 and p[:, 48:].sum() > 0.95
    assert p[:8].sum() == 0 and p[-8:].sum() == 0 and p[:, -8:].sum() == 0


def test_postprocessing_zeroes_weak_taps_and_normalises():
    k = np.zeros((13, 13))
    k[4:9, 4:9] = np.arange(25).reshape(5, 5) + 10.0  # 25 strong taps
    k[0, 0] = k[12, 12] = 0.5  # weak ones far away
    out = postprocess_kernel(k, keep_taps=20)
    assert out.sum() == np.float64(1.0) or abs(out.sum() - 1) < 1e-12
    assert out[0, 0] == 0 and out[12, 12] == 0 and (out[4:9, 4:9] > 0).sum() >= 20


def test_a_gray_image_trains():
    """One channel (a gray photo): crop weights from the channel itself, D built for one channel."""
    from zssr_deploy.blind.kernel_gan import fit_kernel_gan
    from zssr_deploy.samples import load_sample

    gray = load_sample("astronaut", 96).mean(2, keepdims=True).astype(np.float64)
    assert gradient_map(gray).shape == (96, 96)
    k, losses = fit_kernel_gan(gray, KernelGANConfig(iterations=3), 0, torch.device("cpu"))
    assert k.shape == (13, 13) and np.isfinite(k).all() and len(losses) == 1
