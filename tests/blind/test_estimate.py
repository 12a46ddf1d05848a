"""Kernel estimation from the LR image alone: it recovers a known kernel, falls back on flat images, and
ZSSR given a true kernel with the data's phase beats bicubic."""

import numpy as np
import pytest

from zssr_deploy.blind.config import KernelEstimationConfig, KernelFinding, KernelGANConfig
from zssr_deploy.blind.estimate import (
    estimate_kernel,
    kernel_psnr,
    stretch_kernel,
    verdict,
)
from zssr_deploy.errors import InvalidImageError
from zssr_deploy.imageops.degrade import compose_x2, degrade
from zssr_deploy.imageops.kernels import bicubic_kernel
from zssr_deploy.imageops.resize import imresize, kernel_downscale
from zssr_deploy.metrics import score_output
from zssr_deploy.samples import load_sample
from zssr_deploy.trainers.config import ZSSRConfig
from zssr_deploy.trainers.fitting import fit

FAST = KernelEstimationConfig(method="kernelgan", gan=KernelGANConfig(iterations=300))


def gaussian(s1, s2, theta, n=11, mean=5.5):
    ax = np.arange(n) - mean
    yy, xx = np.meshgrid(ax, ax, indexing="ij")
    u, v = np.cos(theta) * xx + np.sin(theta) * yy, -np.sin(theta) * xx + np.cos(theta) * yy
    k = np.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2))
    return k / k.sum()


@pytest.fixture(scope="module")
def blurred():
    """A 96x96 LR image: scikit-image's astronaut (192x192 crop) degraded x2 by a known anisotropic Gaussian."""
    k = gaussian(1.0, 2.0, 0.5)
    return degrade(load_sample("astronaut", 192), k, 2).astype(np.float32), k


def test_recovers_a_known_anisotropic_gaussian(blurred):
    """Two KernelGAN runs of 300 iterations (about 14 s on one core), averaged: kernel PSNR >= 40 dB and >= 7 dB
    above assuming bicubic (measured: 45.0 for one run against 33.0); the same seed gives the same kernel."""
    lr, k = blurred
    est = estimate_kernel(lr, 2, FAST)
    assert est.kernel is not None and est.reason == "" and est.detail >= FAST.min_detail
    assert est.agreement >= FAST.min_agreement and len(est.runs) == 2
    got, bic = kernel_psnr(est.x2_kernel, k), kernel_psnr(bicubic_kernel(2), k)
    assert got >= 40 and got >= bic + 7, (got, bic)
    assert est.kernel.sum() == pytest.approx(1.0) and est.kernel.min() > -0.01
    np.testing.assert_array_equal(estimate_kernel(lr, 2, FAST).x2_kernel, est.x2_kernel)  # deterministic on CPU


def test_estimation_runs_on_one_thread_whatever_the_process_uses(blurred):
    """Each KernelGAN run is on ``config.threads`` = 1 thread: with one thread the runs go one after the other,
    with two side by side, and the kernel is the same either way (and with ``threads=None`` on one thread);
    torch's count is restored afterwards, and progress reaches the total."""
    import torch

    lr, _ = blurred
    cfg = KernelEstimationConfig(method="kernelgan", gan=KernelGANConfig(iterations=40))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = estimate_kernel(lr, 2, cfg).x2_kernel
        np.testing.assert_array_equal(
            estimate_kernel(lr, 2, cfg.__class__(method="kernelgan", gan=cfg.gan, threads=None)).x2_kernel, one)
        torch.set_num_threads(2)
        seen: list[tuple[int, int]] = []
        side_by_side = estimate_kernel(lr, 2, cfg, progress=lambda done, total: seen.append((done, total)))
        np.testing.assert_array_equal(side_by_side.x2_kernel, one)
        assert torch.get_num_threads() == 2 and seen[-1] == (80, 80)

        def fail(done, total):
            raise RuntimeError("display closed")
        with pytest.raises(RuntimeError, match="display closed"):  # the runs stop; the error is the caller's
            estimate_kernel(lr, 2, cfg, progress=fail)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_runs_that_disagree_keep_bicubic(blurred):
    """An image with edges, two runs' kernels: kept when they are close, not when one is twice as wide."""
    lr, _ = blurred
    narrow, wide, slightly = gaussian(1.0, 1.0, 0.0), gaussian(2.0, 2.0, 0.0), gaussian(1.05, 1.0, 0.0)
    cfg = KernelEstimationConfig()
    agreement, detail, reason = verdict(lr, [narrow, slightly], cfg)
    assert reason == "" and agreement >= cfg.min_agreement and detail >= cfg.min_detail
    agreement, _, reason = verdict(lr, [narrow, wide], cfg)
    assert "disagree" in reason and agreement < cfg.min_agreement
    assert verdict(lr, [wide], cfg)[2] == ""  # one run: nothing to compare


def test_other_scales_come_from_the_x2_estimate(blurred):
    _, k = blurred
    np.testing.assert_allclose(stretch_kernel(k, 4), compose_x2(k))  # x4: the x2 kernel twice, as the data
    k3 = stretch_kernel(k, (3.0, 2.0))  # anisotropic: stretched by 1.5 vertically only
    assert k3.shape == (16, 11) and k3.sum() == pytest.approx(1.0)  # ndimage.zoom: round(11 * 1.5) rows


def _flat(kind: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if kind == "constant":
        return np.full((64, 64, 3), 0.4)
    if kind == "noise":
        return np.clip(0.5 + rng.normal(0, 0.01, (64, 64, 3)), 0, 1)
    y, x = np.mgrid[:96, :96] / 95.0  # a smooth colour ramp, 1 grey level of noise: contrast but no edges
    return np.clip(np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.2 * x * y], -1) + rng.normal(0, 1 / 255, (96, 96, 3)), 0, 1)


@pytest.mark.parametrize(("image", "why"), [("constant", "flat"), ("noise", "flat"), ("ramp", "no edges")])
def test_flat_image_falls_back_to_bicubic(image, why):
    """KernelGAN returns some kernel for any image: for these the image checks decide."""
    est = estimate_kernel(_flat(image), 2, KernelEstimationConfig(method="kernelgan", gan=KernelGANConfig(iterations=20)))
    assert est.kernel is None and why in est.reason and est.summary().source.startswith("bicubic")
    assert est.x2_kernel.sum() == pytest.approx(1.0)  # the estimate itself is still there, for inspection


def test_too_small_image_is_refused():
    with pytest.raises(InvalidImageError, match="kernel estimation needs at least 64 pixels"):
        estimate_kernel(np.zeros((63, 80, 3)), 2, FAST)


def test_true_kernel_with_the_datas_phase_beats_bicubic(photo):
    """MZSR's convention: a centred kernel, rows 0, 2, 4, ... ZSSR given that kernel with
    ``kernel_phase="centered"`` beats bicubic interpolation, and beats the same fit with ZSSR's own phase."""
    k = gaussian(1.2, 1.2, 0.0, n=9, mean=4.0)  # centred on the middle tap
    lr = np.round(kernel_downscale(photo, k, (0.5, 0.5), (48, 48)) * 255) / 255
    cfg = ZSSRConfig(max_iters=150, crop_size=48, device="cpu", precision="fp32", back_projection_iters=(2,))
    bicubic = score_output(np.clip(imresize(lr, 2.0), 0, 1), photo, 2)[0]
    centred = score_output(fit(lr, cfg.replace(kernel_phase="centered"), kernel=k).output, photo, 2)[0]
    zssr_phase = score_output(fit(lr, cfg, kernel=k).output, photo, 2)[0]
    assert centred > bicubic + 0.5 and centred > zssr_phase, (centred, bicubic, zssr_phase)


def test_kernel_psnr_is_over_a_fixed_grid():
    """Two copies of one kernel whose centres of mass sit 2e-6 taps either side of a whole-tap re-centring shift
    score alike against a third kernel (within 0.01 dB; a mean over the padded grid put them 0.7 dB apart), and
    the score is ``20 log10(n / L2 difference)`` with ``n`` the larger side plus 4."""
    from scipy import ndimage

    from zssr_deploy.imageops.kernels import align_kernels

    k = gaussian(1.2, 1.6, 0.3, n=19, mean=9.0)  # middle tap: x2 re-centring moves it by one whole tap
    below, above = (ndimage.shift(k, d) for d in (-1e-6, 1e-6))
    truth = gaussian(1.0, 2.0, 0.5)
    a, b = align_kernels(below, truth)
    assert a.shape == b.shape and a.sum() == pytest.approx(1.0, abs=1e-4) and b.sum() == pytest.approx(1.0, abs=1e-4)
    assert kernel_psnr(below, truth) == pytest.approx(20 * np.log10(23 / np.linalg.norm(a - b)))
    assert abs(kernel_psnr(below, truth) - kernel_psnr(above, truth)) < 0.01
    assert kernel_psnr(truth, truth) == float("inf")


def test_width_capped_speaks_of_the_kernel_the_fit_used():
    """A cap on an estimate that was rejected changed nothing: the finding is not "capped" and its headline does
    not say so, while the JSON keeps the cap; a used one says it, an uncapped one does not."""
    g = {"variances": [3.0, 1.0], "angle": 30.0, "used_variances": [1.75, 1.0], "cap": 0.69}
    used = KernelFinding(source="estimated", method="recurrence", confidence=0.7, gaussian=g)
    kept = KernelFinding(source="bicubic (estimate rejected)", method="recurrence", confidence=0.7, gaussian=g,
                         reason="no edges")
    free = KernelFinding(source="estimated", method="recurrence", confidence=0.7, gaussian={**g, "cap": 1.0})
    assert used.capped and used.headline().endswith(", width capped)")
    assert not kept.capped and "capped" not in kept.headline() and kept.to_json()["gaussian"]["cap"] == 0.69
    assert not free.capped and "capped" not in free.headline()
