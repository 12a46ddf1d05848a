"""KernelGAN (Bell-Kligler, Shocher & Irani, NeurIPS 2019) in torch, on the trainer's device: the x2 kernel of
an LR image, learnt as the downscaling that keeps the image's distribution of small patches.

The method, as the authors' released code does it (their settings unless a comment says otherwise):

1. G, a deep *linear* network (7x7, 5x5, 3x3, 1x1, 1x1, 1x1 convolutions over 64 channels, no biases, stride 2
   at the end), downscales 64x64 crops of the image by 2; each colour channel is its own batch item. Being
   linear, G *is* one 13x13 kernel: the composition of its layers.
2. D, fully convolutional with a 7x7 receptive field (one 7x7 layer, then 1x1 layers with spectral norm, batch
   norm and ReLU, a sigmoid), tells crops of the image itself from G's downscaled crops, pixel by pixel.
3. Crops are drawn where the image's gradients are strong (G's on the image's bicubic half, D's on the image).
4. Besides the GAN loss, G's kernel is pulled to bicubic downscaling early on (the weight decays once it is
   close), to sum to 1, to vanish near its borders, and, later, to be centred and sparse.
5. 3000 iterations of Adam (2e-4, beta1 0.5) for both, the rates divided by 10 every 750.
6. The kernel: taps below 0.75 of the 41st largest zeroed, normalised, re-centred by the trainer's rule.

Two small departures from the released code: the early pull towards bicubic compares each colour channel with
its own bicubic downscaling (the released code's ``k.expand(C, C, ...)`` convolution sums the three channels
into each reference channel, which looks like a slip: it pulls the kernel's sum towards 3 while another term
pulls it to 1), and no 10-pixel border is cut from synthetic inputs (crop centres already stay half a crop away
from the border).

One change that does not change the mathematics: G's forward pass applies the composed 13x13 kernel in one
convolution instead of running the six layers. The composition is computed from G's weights each iteration, so the
function, its gradients with respect to every layer's weights (the deep-linear over-parameterisation that
shapes KernelGAN's optimisation) and hence the training are those of the layered network
(``tests/blind/test_kernel_gan.py`` checks the equality). It costs about 32 M multiply-adds an iteration (an
impulse through the layers) instead of 1.3 G (three 64x64 channel crops through them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import signal
from torch import nn

from ..imageops.kernels import bicubic_kernel
from ..imageops.resize import imresize
from .config import KernelGANConfig

__all__ = ["Discriminator", "Generator", "crop_probabilities", "fit_kernel_gan", "gradient_map",
           "postprocess_kernel"]

log = logging.getLogger(__name__)

#: the weights are drawn from torch's global generator (as KernelGAN does); runs in parallel threads take turns
_GLOBAL_RNG = threading.Lock()


def _pad_edges(a: np.ndarray, edge: int) -> np.ndarray:
    """Zero a border of ``edge`` pixels (no crop centre there)."""
    out = np.zeros_like(a)
    out[edge:-edge, edge:-edge] = a[edge:-edge, edge:-edge]
    return out


def _clip_extreme(a: np.ndarray, percent: float) -> np.ndarray:
    """Values above the ``percent`` quantile count as 'strong' (a step from 0), the rest as nothing."""
    s = np.sort(a.ravel())
    pivot = int(percent * len(s))
    lo = s[pivot]
    hi = s[pivot + 1] if s[pivot + 1] > lo else lo + 1e-5
    out = np.clip(a, lo, hi) - lo
    # KernelGAN's rule leaves nothing when more than 1 - percent of the values tie at the top (synthetic images:
    # stripes, text); then the tied values are the strong ones, rather than no crop weighting at all
    return out if out.any() or lo <= s[0] else (a >= lo).astype(a.dtype)


def gradient_map(image: np.ndarray, window: int = 5, percent: float = 0.97) -> np.ndarray:
    """Where the image has strong gradients (KernelGAN's crop weights), mean 1: the strongest 3 % of |dx|, |dy|
    and the gradient magnitude, each normalised, summed and box-blurred."""
    gray = image @ np.array([0.299, 0.587, 0.114]) if image.shape[2] == 3 else image.mean(2)
    gy, gx = np.gradient(gray)
    mag, gx, gy = np.hypot(gx, gy), np.abs(gx), np.abs(gy)
    parts = [_clip_extreme(_pad_edges(g, window), percent) for g in (gx, gy, mag)]
    comb = sum(p / max(p.sum(), 1e-12) for p in parts)
    m = signal.convolve2d(comb, np.ones((window, window)), "same") / window**2
    return m / max(m.mean(), 1e-12)


def crop_probabilities(weights: np.ndarray, crop: int) -> np.ndarray:
    """Probability of each pixel as a crop centre: the weights summed over half a crop, none near the border."""
    blurred = signal.convolve2d(weights, np.ones((crop // 2, crop // 2)), "same") / (crop // 2) ** 2
    p = _pad_edges(blurred, crop // 2).ravel()
    return p / p.sum() if p.sum() > 0 else np.full(p.shape, 1.0 / p.size)


class Generator(nn.Module):
    """The deep linear downscaler; :meth:`kernel` is the single kernel it equals."""

    def __init__(self, cfg: KernelGANConfig) -> None:
        super().__init__()
        sizes, ch = cfg.g_structure, cfg.g_channels
        chans = [1] + [ch] * (len(sizes) - 1) + [1]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(chans[i + 1], chans[i], s, s)) for i, s in enumerate(sizes))
        self.size = sum(s - 1 for s in sizes) + 1
        for w in self.weights:
            nn.init.xavier_normal_(w, 0.1)

    def kernel(self) -> torch.Tensor:
        """The composed correlation kernel (``size x size``): a unit impulse through the layers, mirrored."""
        w0 = self.weights[0]
        k = F.pad(torch.ones(1, 1, 1, 1, device=w0.device, dtype=w0.dtype), (self.size - 1,) * 4)
        for w in self.weights:
            k = F.conv2d(k, w)
        return k[0, 0].flip(0, 1)

    def layered(self, x: torch.Tensor) -> torch.Tensor:
        """G as KernelGAN runs it, layer by layer (``(N, 1, H, W)`` in; for the equality test)."""
        for i, w in enumerate(self.weights):
            x = F.conv2d(x, w, stride=2 if i == len(self.weights) - 1 else 1)
        return x

    @staticmethod
    def downscale(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Downscale ``(C, H, W)`` crops by 2 with ``kernel`` (valid correlation, every second pixel)."""
        return F.conv2d(x[:, None], kernel[None, None], stride=2)[:, 0]


class Discriminator(nn.Module):
    """Per-pixel real/fake map of a ``(1, C, H, W)`` crop, from a 7x7 receptive field."""

    def __init__(self, cfg: KernelGANConfig, channels: int) -> None:
        super().__init__()
        sn, ch = nn.utils.spectral_norm, cfg.d_channels
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, ch, 7))]
        for _ in range(cfg.d_layers - 2):
            layers += [sn(nn.Conv2d(ch, ch, 1)), nn.BatchNorm2d(ch), nn.ReLU(True)]
        layers += [sn(nn.Conv2d(ch, 1, 1)), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight, 0.1)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Constraints:
    """G's kernel terms, with KernelGAN's weights and schedule (:meth:`update`)."""

    def __init__(self, size: int, device: torch.device) -> None:
        self.w_bicubic, self.w_sum, self.w_bound, self.w_centre, self.w_sparse = 5.0, 0.5, 0.5, 0.0, 0.0
        z = np.arange(-size // 2 + 1, size // 2 + 1)
        g = np.exp(-(z**2) / (2.0 * size**2))
        mask = 1.0 - np.outer(g, g) / np.outer(g, g).max()
        margin = (size - (size // 2 + size % 2)) // 2 - 1
        mask[margin:-margin, margin:-margin] = 0.0
        self.mask = torch.tensor(30.0 * mask, dtype=torch.float32, device=device)
        self.idx = torch.arange(size, dtype=torch.float32, device=device)
        self.centre = float(size // 2 + 0.5 * (2 - size % 2))
        self.bicubic = torch.tensor(bicubic_kernel(2)[1:-1, 1:-1], dtype=torch.float32, device=device)
        self.close_count, self.close, self.added = 0, False, False

    def bicubic_loss(self, g_in: torch.Tensor, g_out: torch.Tensor) -> torch.Tensor:
        """MSE between G's output and MATLAB bicubic's downscaling of the same crop (centre-cropped to fit)."""
        ref = F.conv2d(g_in[:, None], self.bicubic[None, None], stride=2, padding=3)[:, 0]
        sr, sc = ref.shape[1] - g_out.shape[1], ref.shape[2] - g_out.shape[2]
        ref = ref[:, sr // 2 : ref.shape[1] - sr // 2 - sr % 2, sc // 2 : ref.shape[2] - sc // 2 - sc % 2]
        return F.mse_loss(g_out, ref)

    def loss(self, k: torch.Tensor, g_in: torch.Tensor, g_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bic = self.bicubic_loss(g_in, g_out)
        total = self.w_bicubic * bic + self.w_sum * (k.sum() - 1).abs() + self.w_bound * (k * self.mask).abs().mean()
        if self.w_centre:
            com = torch.stack((k.sum(1) @ self.idx, k.sum(0) @ self.idx)) / k.sum()
            total = total + self.w_centre * ((com - self.centre) ** 2).mean()
        if self.w_sparse:
            total = total + self.w_sparse * (k.abs() ** 0.2).mean()
        return total, bic.detach()

    def update(self, it: int, bicubic_loss: torch.Tensor) -> None:
        """KernelGAN's Learner: once G is near bicubic three times in a row, the bicubic weight drops by 100x
        every 200 iterations; when it is below 5e-3 the centre and sparsity terms come in. (The bicubic loss is
        read back from the device only until then.)"""
        if not self.close:
            if float(bicubic_loss) < 0.4:
                self.close_count += 1
                self.close = self.close_count > 2
            else:
                self.close_count = 0
        elif it % 200 == 0 and self.w_bicubic > 5e-6:
            self.w_bicubic = max(self.w_bicubic / 100.0, 5e-6)
            if not self.added and self.w_bicubic < 5e-3:
                self.w_centre, self.w_sparse, self.added = 1.0, 5.0, True


def _crop(image: torch.Tensor, centre: int, size: int) -> torch.Tensor:
    """The ``size`` crop of a ``(C, H, W)`` image around a flat pixel index, inside the image, at even
    coordinates (as KernelGAN: keeps G's crops on the sampling grid)."""
    h, w = image.shape[1:]
    row, col = centre // w, centre % w
    top = min(max(0, row - size // 2), h - size)
    left = min(max(0, col - size // 2), w - size)
    top, left = top - top % 2, left - left % 2
    return image[:, top : top + size, left : left + size]


def _crop_centres(img: np.ndarray, crop: int, d_size: int, n: int, gen: torch.Generator) -> tuple[list[int], list[int]]:
    """All crop centres, drawn up front (KernelGAN's lists): G's where the image's bicubic half has gradients
    (their map enlarged back, pixel by pixel), D's where the image has them."""
    h, w = img.shape[:2]
    small = gradient_map(imresize(img, 0.5))
    p_g = crop_probabilities(np.kron(small, np.ones((2, 2)))[:h, :w], crop)
    p_d = crop_probabilities(gradient_map(img), d_size)
    return tuple(torch.multinomial(torch.from_numpy(p), n, replacement=True, generator=gen).tolist()  # type: ignore[return-value]
                 for p in (p_g, p_d))


def _learning_rate_steps(it: int, cfg: KernelGANConfig, optimizers: tuple[torch.optim.Optimizer, ...]) -> None:
    """Both rates divided by ``lr_drop`` every ``lr_step`` iterations."""
    if it % cfg.lr_step == 0:
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] /= cfg.lr_drop


def fit_kernel_gan(image: np.ndarray, cfg: KernelGANConfig, seed: int, device: torch.device,
                   progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[float]]:
    """Train KernelGAN on ``image`` (float ``HxWxC`` in [0, 1], at least ``crop`` pixels per side, sides cut to
    even) and return G's raw 13x13 kernel (float64, not post-processed) and the GAN loss every 10 iterations."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    img = np.ascontiguousarray(image[:h, :w], dtype=np.float64)
    gen = torch.Generator().manual_seed(seed)
    # the per-iteration noise is drawn on the training device (on the CPU from the same stream as the crops)
    noise = gen if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed)
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # runs in parallel threads draw their weights in turn
        torch.manual_seed(seed)
        g_net = Generator(cfg).to(device)
        d_net = Discriminator(cfg, img.shape[2]).to(device)
    d_size = (cfg.crop - g_net.size) // 2 + 1
    centres_g, centres_d = _crop_centres(img, cfg.crop, d_size, cfg.iterations, gen)
    x = torch.from_numpy(img.transpose(2, 0, 1) * 2.0 - 1.0).float().to(device)  # KernelGAN works in [-1, 1]

    cons = _Constraints(g_net.size, device)
    opt_g = torch.optim.Adam(g_net.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(d_net.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, 0.999))
    losses: list[float] = []
    for it in range(cfg.iterations):
        g_in = _crop(x, centres_g[it], cfg.crop)
        d_real = _crop(x, centres_d[it], d_size)
        d_real = d_real + 2.0 / 255.0 * torch.randn(d_real.shape, generator=noise, device=device)  # noise on [0, 1]
        # G update: fool D, under the kernel constraints
        opt_g.zero_grad(set_to_none=True)
        k = g_net.kernel()
        g_out = Generator.downscale(g_in, k)
        loss_gan = (d_net(g_out[None]) - 1.0).abs().mean()
        loss_k, bic = cons.loss(k, g_in, g_out)
        (loss_gan + loss_k).backward()
        opt_g.step()
        # D update: real crops -> 1, G's (noisy, detached) output -> 0
        opt_d.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = Generator.downscale(g_in, g_net.kernel())
            fake = fake + torch.randn(fake.shape, generator=noise, device=device) / 255.0
        loss_d = 0.5 * (d_net(d_real[None]) - 1.0).abs().mean() + 0.5 * d_net(fake[None]).abs().mean()
        loss_d.backward()
        opt_d.step()
        if it > 0:  # KernelGAN's Learner
            _learning_rate_steps(it, cfg, (opt_g, opt_d))
            cons.update(it, bic)
        if it % 10 == 0:
            losses.append(float(loss_gan.detach()))
        if progress is not None:
            progress(it + 1, cfg.iterations)
    with torch.no_grad():
        return g_net.kernel().double().cpu().numpy(), losses


def postprocess_kernel(kernel: np.ndarray, keep_taps: int = 40) -> np.ndarray:
    """KernelGAN's clean-up: taps below 0.75 of the (keep_taps + 1)-th largest are zeroed (the rest lowered by
    that much), then normalised. Re-centring is the caller's (the trainer's rule)."""
    k = np.asarray(kernel, dtype=np.float64)
    floor = 0.75 * np.sort(k.ravel())[-keep_taps - 1]
    k = np.clip(k - floor, 0.0, None)
    return k / k.sum()

