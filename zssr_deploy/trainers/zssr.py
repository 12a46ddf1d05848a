"""Test-time training of ZSSR on one image (paper section 3; the released code's ``ZSSR.run``).

For each scale step: train the image-specific network on (LR son -> HR father) pairs cut from the image
itself, then super-resolve the image with :class:`~zssr_deploy.models.pipeline.ZSSRPipeline`. In gradual SR
each step's output joins the father sources, and may become the new input (base change).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CheckpointError, ConfigError, InvalidImageError, KernelError
from ..imageops.kernels import shift_kernel, validate_kernel
from ..models.network import ZSSRNet
from ..models.pipeline import ZSSRPipeline
from ..models.resize import Resize
from .augment import AugmentSettings, sample_father
from .checkpoint import check_checkpoint_path, fingerprint, load_checkpoint, save_checkpoint
from .config import ZSSRConfig
from .lr_policy import LearningRatePolicy

__all__ = ["FitResult", "Progress", "StepSummary", "fit", "resolve_device", "resolve_precision"]

log = logging.getLogger(__name__)

MIN_SIDE = 8


@dataclass(frozen=True)
class Progress:
    """Reported at every reconstruction test (each ``test_every`` iterations) and at the end of a step."""

    step: int
    """Index of the scale step (0 for one-jump SR)."""
    steps: int
    """Number of scale steps."""
    iteration: int
    """Training iterations done in this step."""
    max_iters: int
    loss: float
    """L1 loss of the last training iteration."""
    reconstruction_error: float
    """MSE between the input and the network's reconstruction of it from its own son."""
    learning_rate: float


@dataclass(frozen=True)
class StepSummary:
    scale: tuple[float, float]
    """Factor of this step relative to its input (after any base change)."""
    iterations: int
    learning_rate_drops: list[int]
    """Iterations at which the learning rate was divided by 10."""
    final_learning_rate: float
    reconstruction_error: float
    seconds: float


@dataclass
class FitResult:
    output: np.ndarray
    """float32 ``HxWxC`` in [0, 1]: the super-resolved image."""
    pipeline: ZSSRPipeline
    """The last step's inference pipeline (on CPU, eval mode): what the exporter writes to ONNX."""
    pipeline_input: np.ndarray
    """The LR image the last pipeline takes (the input, or the output a base change made the input)."""
    steps: list[StepSummary] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    precision: str = "fp32"
    resumed_steps: int = 0
    """Scale steps restored from a checkpoint rather than trained in this call (``seconds`` counts both)."""


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(device)


def bf16_supported(device: torch.device) -> bool:
    """Native bf16 matrix units: AMX/AVX-512-BF16 on CPU (via oneDNN), or a CUDA GPU with bf16."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' -> 'bf16' where the hardware has native bf16 units, else 'fp32'."""
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


def is_dihedral_symmetric(kernel: np.ndarray, tol: float = 1e-6) -> bool:
    """True when 90-degree rotations and mirrors leave the kernel unchanged (e.g. an isotropic Gaussian)."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.shape[0] != k.shape[1]:
        return False
    atol = tol * float(np.abs(k).max())
    return bool(np.allclose(k, np.rot90(k), atol=atol) and np.allclose(k, np.fliplr(k), atol=atol))


def _check_inputs(image: np.ndarray, config: ZSSRConfig, kernel: np.ndarray | None) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise InvalidImageError(f"expected an HxWxC image with C = 1 or 3, got shape {img.shape}")
    if not np.all(np.isfinite(img)):
        raise InvalidImageError("the image holds NaN or infinite values")
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InvalidImageError(f"the image is {h}x{w}; ZSSR needs at least {MIN_SIDE} pixels per side")
    sy, sx = config.scale_factors[0]
    if min(h / sy, w / sx) < 2:
        raise ConfigError(f"scale {config.scale_factors[0]} is too large for a {h}x{w} image: its son would be under 2 pixels")
    if kernel is not None and (kernel.shape[0] > h or kernel.shape[1] > w):
        raise KernelError(f"kernel {kernel.shape[0]}x{kernel.shape[1]} is larger than the {h}x{w} image")
    return np.clip(img.astype(np.float32), 0.0, 1.0)


class _Step:
    """Training state of one scale step (the released code's ``train`` and ``quick_test``)."""

    def __init__(self, trainer: _Trainer, scale: tuple[float, float], kernel: np.ndarray | None) -> None:
        self.t = trainer
        self.scale = scale
        self.down = Resize((1.0 / scale[0], 1.0 / scale[1]), "cubic" if kernel is None else kernel).to(trainer.device)
        self.up = Resize(scale, "cubic").to(trainer.device)

    def son(self, father: torch.Tensor) -> torch.Tensor:
        """LR son of a father ``(N, C, h, w)``: downscale, optional noise, clip."""
        s = self.down(father)
        if self.t.config.noise_std > 0:
            noise = torch.randn(s.shape, generator=self.t.gen, device=s.device, dtype=s.dtype)
            s = s + noise * self.t.config.noise_std
        return s.clamp(0.0, 1.0)

    def predict(self, son: torch.Tensor, out_hw: tuple[int, int], train: bool) -> torch.Tensor:
        """Network output for a son, upscaled to exactly ``out_hw`` (the father's shape)."""
        up = self.up(son, out_hw)
        with self.t.autocast():
            res = self.t.net(up.contiguous(memory_format=self.t.memory_format))
        out = up + res.float()
        return out if train else out.clamp(0.0, 1.0)

    @torch.no_grad()
    def reconstruction_error(self, test_regions: list[torch.Tensor]) -> float:
        """MSE between the input and the network's reconstruction of it from its own son."""
        self.t.net.eval()
        total, count = 0.0, 0
        for region in test_regions:
            rec = self.predict(self.son(region), (region.shape[2], region.shape[3]), train=False)
            total += float(((rec - region) ** 2).sum())
            count += region.numel()
        self.t.net.train()
        return total / count


class _Trainer:
    def __init__(self, config: ZSSRConfig, channels: int) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        if self.precision == "bf16" and not bf16_supported(self.device) and self.device.type == "cpu":
            log.warning("bf16 asked for, but this CPU has no native bf16 units: it will be slow")
        self.memory_format = torch.channels_last if self.precision == "bf16" else torch.contiguous_format
        self.rng = np.random.default_rng(config.seed)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(config.seed)
        init_gen = torch.Generator().manual_seed(config.seed)
        self.net = ZSSRNet(channels, config.width, config.depth, config.init_variance, generator=init_gen)
        self.net = self.net.to(self.device, memory_format=self.memory_format)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.learning_rate)
        #: the image the current step super-resolves, ``(C, H, W)`` on the device
        self.current_input = torch.empty(0)

    def state(self) -> dict:
        """Everything that carries over between scale steps: weights, Adam moments, every random state."""
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state, "gen": self.gen.get_state(), "torch_rng": torch.get_rng_state()}

    def load_state(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def test_regions(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The whole image, or a fixed set of crops once it is large (test cost bounded by test_max_pixels)."""
        _, _, h, w = image.shape
        budget = self.config.test_max_pixels
        if h * w <= budget:
            return [image]
        side = max(MIN_SIDE * 4, int((budget / 4) ** 0.5))
        rng = np.random.default_rng(self.config.seed + 1)  # fixed crops: the error curve must be comparable
        regions = []
        for _ in range(4):
            ch, cw = min(side, h), min(side, w)
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            regions.append(image[:, :, y0 : y0 + ch, x0 : x0 + cw])
        return regions

    def train_step(self, step: _Step, sources: list[torch.Tensor], base_scales: list[float], progress_cb,
                   step_index: int, n_steps: int) -> StepSummary:
        cfg = self.config
        t0 = time.perf_counter()
        aug = AugmentSettings.from_config(cfg)
        policy = LearningRatePolicy.from_config(cfg)
        if cfg.fresh_optimizer_each_step:
            # a new scale step is a new objective: kept moments froze the network on Set5 bird (docs/BENCHMARKS.md)
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.learning_rate)
        for group in self.optimizer.param_groups:
            group["lr"] = policy.lr
        regions = self.test_regions(self.current_input[None])
        max_scale = base_scales[len(sources) - 1]
        loss = torch.zeros((), device=self.device)
        iteration = 0
        rec_err = last_loss = float("nan")
        for iteration in range(cfg.max_iters):
            father = sample_father(sources, base_scales, max_scale, self.rng, aug)[None]
            out = step.predict(step.son(father), (father.shape[2], father.shape[3]), train=True)
            loss = F.l1_loss(out, father)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if iteration % cfg.test_every == 0:
                rec_err = step.reconstruction_error(regions)
                policy.record(iteration, rec_err)
                last_loss = float(loss.detach())  # the only device sync: once per test
                if progress_cb:
                    progress_cb(Progress(step_index, n_steps, iteration + 1, cfg.max_iters, last_loss, rec_err, policy.lr))
            elif progress_cb and iteration % 10 == 9:
                # keep a progress bar moving without reading the loss from the device
                progress_cb(Progress(step_index, n_steps, iteration + 1, cfg.max_iters, last_loss, rec_err, policy.lr))
            if policy.update(iteration):
                for group in self.optimizer.param_groups:
                    group["lr"] = policy.lr
                log.info("iteration %d: learning rate -> %g", iteration, policy.lr)
            if policy.finished:
                break
        iterations = iteration + 1
        if progress_cb:
            progress_cb(Progress(step_index, n_steps, iterations, cfg.max_iters, float(loss.detach()), rec_err, policy.lr))
        return StepSummary(step.scale, iterations, policy.changes[1:], policy.lr, rec_err, time.perf_counter() - t0)


def _to_tensor(img: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(device)


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def run_pipeline(pipeline: ZSSRPipeline, lr: np.ndarray, device: torch.device | str) -> np.ndarray:
    """Apply an inference pipeline to an ``HxWxC`` float32 image; returns ``H'xW'xC`` float32."""
    device = torch.device(device)
    pipeline = pipeline.to(device).eval()
    out = pipeline(_to_tensor(lr, device)[None])
    return out[0].permute(1, 2, 0).float().cpu().numpy()


def fit(image: np.ndarray, config: ZSSRConfig | None = None, kernel: np.ndarray | None = None,
        progress: Callable[[Progress], None] | None = None, net_tile: int | None = 512,
        final_inference: bool = True, checkpoint: str | Path | None = None) -> FitResult:
    """Fit ZSSR to ``image`` and super-resolve it.

    Args:
        image: float ``HxWxC`` (C = 1 or 3) or ``HxW`` in [0, 1]; the LR input.
        config: settings (default: the released code's x2 one-jump configuration).
        kernel: optional 2-D blur kernel (the LR image's degradation); it is validated, normalised and
            re-centred per step as the reference does. Without it, sons are made with MATLAB bicubic.
        progress: called at every reconstruction test and at the end of each step.
        net_tile: final inference runs the network in tiles of this many HR pixels (exact).
        final_inference: run the last step's pipeline here; False when the caller runs the exported model
            instead (``output`` is then the last pipeline's input).
        checkpoint: a file for the training state after each finished scale step but the last (gradual SR).
            If it exists, the fit resumes after the step it holds and gives the same output as an
            uninterrupted fit. The caller removes it when it no longer needs it.

    Returns:
        A :class:`FitResult`; ``output`` has shape ``(ceil(H*sy), ceil(W*sx), C)`` for the final factor.

    Raises:
        CheckpointError: ``checkpoint`` exists but is damaged or belongs to another image, kernel or settings.
    """
    config = config or ZSSRConfig()
    k = validate_kernel(kernel) if kernel is not None else None
    if k is not None and not is_dihedral_symmetric(k) and (config.allow_rotation or config.ensemble):
        # A network trained for one kernel orientation is not rotation-equivariant: rotating fathers (or the
        # input, in the ensemble) would train/apply it on kernels the image was not degraded with.
        log.info("non-symmetric kernel: rotations and the geometric ensemble are turned off")
        config = config.replace(allow_rotation=False, ensemble=False)
    img = _check_inputs(image, config, k)
    torch.manual_seed(config.seed)
    t0 = time.perf_counter()
    trainer = _Trainer(config, img.shape[2])
    device = trainer.device
    current = img
    trainer.current_input = _to_tensor(current, device)
    sources = [trainer.current_input]
    base_scales = [1.0] + [min(sf) for sf in config.scale_factors]
    base = (1.0, 1.0)
    base_change_steps = config.base_change_steps
    summaries: list[StepSummary] = []
    pipeline: ZSSRPipeline | None = None
    output = img
    n_steps = len(config.scale_factors)
    print_, state = "", None
    if checkpoint is not None:
        check_checkpoint_path(checkpoint)
        print_ = fingerprint(img, config, k)
        state = load_checkpoint(checkpoint, print_)
    steps_done, current_index, seconds_before = 0, 0, 0.0
    if state is not None:
        # Resume after the last finished step: the sources (earlier outputs), the current input after any
        # base change, the weights and Adam moments, and every random state, exactly as they were.
        trainer.load_state(state["trainer"])
        sources = [s.to(device) for s in state["sources"]]
        steps_done, current_index = int(state["steps_done"]), int(state["current_index"])
        if not 1 <= steps_done < n_steps:
            raise CheckpointError(f"{str(checkpoint)!r} holds {steps_done} finished steps of {n_steps}; "
                                  "delete it to start the fit afresh")
        base = tuple(state["base"])
        summaries = [StepSummary(**d) for d in state["summaries"]]
        seconds_before = float(state["seconds"])
        trainer.current_input = sources[current_index]
        current, output = _to_numpy(sources[current_index]), _to_numpy(sources[-1])
        log.info("resuming from %s after step %d/%d", checkpoint, steps_done, n_steps)
    for i, (sf, bp) in enumerate(zip(config.scale_factors, config.back_projection_iters)):
        if i < steps_done:
            continue
        rel = (sf[0] / base[0], sf[1] / base[1])
        step_kernel = shift_kernel(k, rel) if k is not None else None
        step = _Step(trainer, rel, step_kernel)
        log.info("step %d/%d: x%s (relative x%s)", i + 1, n_steps, sf, rel)
        summaries.append(trainer.train_step(step, sources, base_scales, progress, i, n_steps))
        pipeline = ZSSRPipeline(trainer.net, rel, "cubic" if step_kernel is None else step_kernel, bp,
                                config.ensemble, net_tile=net_tile)
        pipeline_input = current
        if i == n_steps - 1 and not final_inference:
            break
        trainer.net.eval()
        output = run_pipeline(pipeline, current, device)
        trainer.net.train()
        sources.append(_to_tensor(output, device))
        if i in base_change_steps:
            base = sf
            current = output
            current_index = len(sources) - 1
            trainer.current_input = sources[-1]
            log.info("base changed to x%s", sf)
        if checkpoint is not None and i < n_steps - 1:
            save_checkpoint(checkpoint, print_, {
                "steps_done": i + 1, "trainer": trainer.state(), "sources": [s.cpu() for s in sources],
                "current_index": current_index, "base": base,
                "summaries": [asdict(sm) for sm in summaries], "seconds": seconds_before + time.perf_counter() - t0})
    assert pipeline is not None
    pipeline = pipeline.to("cpu").eval().to(memory_format=torch.contiguous_format)
    return FitResult(output=output, pipeline=pipeline, pipeline_input=pipeline_input, steps=summaries,
                     seconds=seconds_before + time.perf_counter() - t0, device=str(device),
                     precision=trainer.precision, resumed_steps=steps_done)
