"""Settings of a ZSSR fit. Defaults are the authors' released code; presets are named instances."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..errors import ConfigError, ScaleError
from ..imageops.kernels import KERNEL_PHASES
from ..imageops.scale import scale_pair

__all__ = ["PRESETS", "ZSSRConfig", "build_config", "check_kernel_preset", "gradual_schedule",
           "parse_scale", "parse_schedule", "preset"]

#: the largest factor of one scale step, per axis
MAX_STEP_SCALE = 16.0

PAPER_X2_SCHEDULE = ((1.0, 1.5), (1.5, 1.0), (1.5, 1.5), (1.5, 2.0), (2.0, 1.5), (2.0, 2.0))
PAPER_X2_BP_ITERS = (6, 6, 8, 10, 10, 12)


@dataclass(frozen=True)
class ZSSRConfig:
    """Everything a fit needs but the image and the kernel."""

    scale_factors: tuple[tuple[float, float], ...] = ((2.0, 2.0),)
    """(vertical, horizontal) factors, relative to the original input; several = gradual SR."""
    back_projection_iters: tuple[int, ...] = (10,)
    """Back-projection steps per scale step (per ensemble output, and again on the median); 0 = off."""
    base_change_scales: tuple[float, ...] = ()
    """After a step whose (isotropic) factor is listed here, its output becomes the new input."""
    ensemble: bool = True
    """Geometric self-ensemble: 8 transforms (4 for anisotropic factors), median, back-projection."""
    kernel_phase: str = "zssr"
    """How a given kernel is re-centred: 'zssr' (the released code's rule; DIV2KRK-style data) or 'centered'
    (LR data made with a centred kernel keeping rows 0, s, 2s, ...: MZSR's convention)."""
    allow_rotation: bool = True
    """Rotations and mirrors in augmentation; turn off for non-symmetric kernels."""
    noise_std: float = 0.0
    """Std of Gaussian noise added to LR sons (about 0.0125, 3 grey levels, for noisy/JPEG images)."""
    max_iters: int = 3000
    """Hard cap on training iterations per scale step."""
    min_iters: int = 256
    """Iterations that must pass after a learning-rate change before the next one may happen."""
    learning_rate: float = 1e-3
    """Adam's initial learning rate (each scale step starts from it again, as in the released code)."""
    fresh_optimizer_each_step: bool = True
    """Restart Adam's moment estimates at each scale step of gradual SR (the weights are always kept). The
    released code kept them (False reproduces that): on Set5 bird that killed the last hidden layer's ReLUs
    early in step 2 and froze the network (measured:
    docs/benchmarks/quality.md#set5-x2-gradual-preset-3728-paper-3737); the likely cause, not measured on its
    own, is a new step's larger gradients divided by the previous step's small second moments."""
    min_learning_rate: float = 9e-6
    """Training stops when the learning rate falls below this (after three drops by 10)."""
    lr_change_ratio: float = 1.5
    """The rate drops when -ratio * slope < std(slope) of the reconstruction-error fit."""
    lr_check_every: int = 60
    """The learning-rate rule is checked at iterations i with (i + 1) % this == 0."""
    lr_slope_range: int = 256
    """Iterations of reconstruction-error history in the linear fit (256 / test_every = 5 points)."""
    test_every: int = 50
    """Iterations between reconstruction-error tests."""
    crop_size: int = 128
    """HR-father crop side; smaller when the sampled source is smaller."""
    father_placement: str = "paper"
    """'paper': each father is a crop inside the (scaled) source, smaller when the source is smaller.
    'released': the released code's geometry, a crop_size canvas whose random shift ignores that scaling is
    about the source's centre, so many fathers are partly zeros (measured:
    docs/benchmarks/quality.md#where-this-trainer-differs-from-the-released-code-by-design-and-how-much)."""
    width: int = 64
    """Channels of the hidden layers."""
    depth: int = 8
    """Number of 3x3 convolutions."""
    init_variance: float = 0.1
    """Weights start ~ N(0, init_variance / (9 * in_channels))."""
    leave_as_is_probability: float = 0.05
    """Probability that a father is a plain crop of the source."""
    no_interpolate_probability: float = 0.45
    """Probability of a 90-degree rotation/mirror with an integer shift (no interpolation)."""
    min_scale: float = 0.5
    """Smallest father scale relative to the input in affine augmentation."""
    scale_diff_sigma: float = 0.25
    """Std of the x/y scale difference in affine augmentation."""
    shear_sigma: float = 0.1
    """Std of the shear in affine augmentation (both axes)."""
    test_max_pixels: int = 256 * 256
    """Images with more pixels run the reconstruction test on fixed crops of this many pixels in all."""
    seed: int = 0
    """Seeds every random number generator of the fit."""
    device: str = "auto"
    """'auto' (CUDA when available), 'cpu' or 'cuda' (or 'cuda:N'): the CLI writes
    :attr:`~zssr_deploy.compute.Compute.torch_device` here, the estimator gets the same. The GPU index is not part
    of a fit's identity (:meth:`portable`)."""
    precision: str = "auto"
    """Training precision: 'fp32', 'bf16' (autocast, channels_last) or 'auto' (bf16 where the hardware has
    native bf16 units, else fp32)."""
    cuda_graphs: bool = False
    """On a CUDA device, replay each training iteration after the father's sampling (son, upscale, network,
    loss, backward, Adam) as a CUDA graph, one captured per father shape (:mod:`~zssr_deploy.trainers.graphed`):
    the same arithmetic without a kernel launch per operation. Ignored on the CPU and with ``noise_std`` (the
    noise generator is not captured). Experimental: not yet run on a GPU (docs/benchmarks/speed.md)."""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    """Free-form notes carried into exported metadata (e.g. the preset name)."""

    def __post_init__(self) -> None:
        if not self.scale_factors:
            raise ConfigError("at least one scale factor is needed")
        for sf in self.scale_factors:
            check_step_scale(sf)
        self._base_change_walk()  # raises ConfigError on a base change that fits no step
        if len(self.back_projection_iters) != len(self.scale_factors):
            raise ConfigError("give one back-projection count per scale step")
        if any(b < 0 for b in self.back_projection_iters):
            raise ConfigError("back-projection iterations must be >= 0")
        if self.max_iters < 1:
            raise ConfigError("max_iters must be at least 1")
        if self.crop_size < 8:
            raise ConfigError("crop_size must be at least 8")
        if self.father_placement not in ("paper", "released"):
            raise ConfigError(f"father_placement must be 'paper' or 'released', got {self.father_placement!r}")
        if self.kernel_phase not in KERNEL_PHASES:
            raise ConfigError(f"kernel_phase must be one of {KERNEL_PHASES}, got {self.kernel_phase!r}")
        if not self.noise_std >= 0 or not math.isfinite(self.noise_std):  # NaN passes every comparison
            raise ConfigError(f"noise_std must be a finite number >= 0, got {self.noise_std}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be between 0 and 2^32 - 1, got {self.seed}")
        if self.precision not in ("fp32", "bf16", "auto"):
            raise ConfigError(f"precision must be fp32, bf16 or auto, got {self.precision!r}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def portable(self) -> ZSSRConfig:
        """These settings without the GPU index (``cuda:1`` -> ``cuda``): which GPU of a machine ran a fit does not
        change its result, so fingerprints (checkpoints, batch manifests) leave it out and a resume may move."""
        return replace(self, device="cuda") if self.device.startswith("cuda:") else self

    @property
    def base_change_steps(self) -> tuple[int, ...]:
        """Indices of the steps after which the output becomes the new input: each of ``base_change_scales``,
        in order, matched to the next earlier isotropic step with that factor (the last step never changes it)."""
        return self._base_change_walk()

    @property
    def relative_scales(self) -> tuple[tuple[float, float], ...]:
        """Each step's factor relative to its input: the original input, or the output of the last base change."""
        return self._base_change_walk(relative=True)

    def _base_change_walk(self, relative: bool = False) -> tuple:
        """Walk the steps as the trainer does; every later step must still upscale relative to the new base."""
        pending, base, changes, rels = list(self.base_change_scales), (1.0, 1.0), [], []
        for i, sf in enumerate(self.scale_factors):
            rel = (sf[0] / base[0], sf[1] / base[1])
            if min(rel) < 1.0 - 1e-9 or max(rel) <= 1.0 + 1e-9:
                raise ConfigError(f"step {i + 1} (x{sf[0]:g},{sf[1]:g}) does not upscale the base x{base[0]:g} it "
                                  "follows: after a base change, later steps must be larger than its factor")
            rels.append(rel)
            if pending and i < len(self.scale_factors) - 1 and all(abs(f - pending[0]) < 1e-3 for f in sf):
                base = sf
                pending.pop(0)
                changes.append(i)
        if pending:
            steps = ";".join(f"{a:g},{b:g}" for a, b in self.scale_factors[:-1]) or "none"
            raise ConfigError(f"base change x{pending[0]:g} matches no isotropic step before the last, in order "
                              f"(earlier steps: {steps})")
        return tuple(rels) if relative else tuple(changes)

    @property
    def final_scale(self) -> tuple[float, float]:
        return self.scale_factors[-1]

    def with_scale(self, scale: float | Sequence[float]) -> ZSSRConfig:
        """The same preset for another final factor (a one-jump preset keeps one jump; gradual re-plans)."""
        sy, sx = check_step_scale(scale_pair(scale))
        if len(self.scale_factors) == 1:
            return replace(self, scale_factors=((sy, sx),))
        if (sy, sx) == self.final_scale:
            return self
        steps, bps, bases = gradual_schedule((sy, sx))
        return replace(self, scale_factors=steps, back_projection_iters=bps, base_change_scales=bases)

    def replace(self, **changes: object) -> ZSSRConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


def check_step_scale(sf: Sequence[float]) -> tuple[float, float]:
    """The range of one step's factor ``(sy, sx)``: upscaling (both >= 1, one > 1), at most x16 per axis."""
    sy, sx = scale_pair(sf)
    if min(sy, sx) < 1.0 or max(sy, sx) <= 1.0:
        raise ConfigError(f"scale factors must be greater than 1 (upscaling), got {sy:g},{sx:g}")
    if max(sy, sx) > MAX_STEP_SCALE:
        raise ConfigError(f"scale {sy:g},{sx:g} is too large: at most {MAX_STEP_SCALE:g} per axis and step")
    return sy, sx


def parse_scale(scale: float | str | Sequence[float]) -> tuple[float, float]:
    """``2``, ``"2"``, ``"2,1.5"`` or ``(2, 1.5)`` -> ``(sy, sx)``; :class:`ConfigError` when it is not one.

    Only the form is checked here; :class:`ZSSRConfig` checks the range.
    """
    try:
        parts = [float(p) for p in scale.replace(" ", "").split(",")] if isinstance(scale, str) else scale
        return scale_pair(parts[0] if isinstance(parts, list) and len(parts) == 1 else parts)  # type: ignore[arg-type]
    except (ValueError, TypeError, ScaleError):
        raise ConfigError(f"scale must be a number or 'SY,SX' (positive), got {scale!r}") from None


def _numbers(text: str, kind: type, option: str, expected: str) -> tuple:
    """Comma-separated numbers of a command-line option; :class:`ConfigError` naming the option."""
    try:
        return tuple(kind(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"{option}: expected {expected}, got {text!r}") from None


def parse_schedule(steps: str | None, bp_iters: str | None, base_change: str | None,
                   final_scale: Sequence[float]) -> dict[str, object]:
    """:class:`ZSSRConfig` fields from the schedule options (empty when none is given).

    ``steps``: ``'SY,SX;SY,SX;...'`` relative to the input, the last equal to ``final_scale``;
    ``bp_iters``: ``N`` (every step) or one per step ``'N,N,...'``; ``base_change``: ``'S[,S...]'``, the isotropic
    factors after which the output becomes the input. An explicit schedule changes base only where
    ``base_change`` says, and back-projects 10 times per step unless ``bp_iters`` says otherwise.
    """
    out: dict[str, object] = {}
    if steps:
        try:
            sched = tuple(parse_scale(part) for part in steps.split(";") if part.strip())
        except (ScaleError, ConfigError) as exc:
            raise ConfigError(f"--steps {steps!r}: {exc} (steps are 'SY,SX;SY,SX;...', e.g. '2;4')") from None
        if not sched or sched[-1] != tuple(final_scale):
            raise ConfigError(f"--steps: the last step must equal the final scale {final_scale[0]:g},{final_scale[1]:g}")
        out.update(scale_factors=sched, back_projection_iters=(10,) * len(sched), base_change_scales=())
    if bp_iters:
        vals = _numbers(bp_iters, int, "--bp-iters", "N or N,N,...")
        out["back_projection_iters"] = vals * len(out["scale_factors"]) if len(vals) == 1 and steps else vals  # type: ignore[arg-type]
    if base_change:
        out["base_change_scales"] = _numbers(base_change, float, "--base-change",
                                             "S or S,S,... (isotropic factors of earlier steps)")
    return out


def check_kernel_preset(config: ZSSRConfig, has_kernel: bool) -> None:
    """The ``given-kernel`` preset is the released code's settings for a known kernel: without one it would
    silently fit the bicubic assumption with them. A :class:`ConfigError` before any work."""
    if config.extra.get("preset") == "given-kernel" and not has_kernel:
        raise ConfigError("--preset given-kernel needs a kernel: --kernel FILE (.mat/.npy/.txt/.csv) or --kernel "
                          "estimate; without one, use --preset ideal (clean bicubic downscale) or real (noisy/JPEG)")


def build_config(preset_name: str = "ideal", scale: float | str | Sequence[float] = 2.0, *, steps: str | None = None,
                 bp_iters: str | None = None, base_change: str | None = None, **fields: object) -> ZSSRConfig:
    """The settings of a fit: a preset for the final ``scale``, an optional schedule (see
    :func:`parse_schedule`), then any other :class:`ZSSRConfig` fields (those given as None keep the preset's)."""
    final = parse_scale(scale)
    cfg = preset(preset_name).with_scale(final)
    changes = {**parse_schedule(steps, bp_iters, base_change, final), **{k: v for k, v in fields.items() if v is not None}}
    return cfg.replace(**changes)


def gradual_schedule(scale: Sequence[float]) -> tuple[tuple[tuple[float, float], ...], tuple[int, ...], tuple[float, ...]]:
    """Gradual steps for a final factor ``(sy, sx)``: every jump is made in the paper's 6 intermediate steps.

    The paper grows the factor through 6 intermediate scales (its x2 schedule: (1, 1.5), (1.5, 1), (1.5, 1.5),
    (1.5, 2), (2, 1.5), (2, 2), back-projection 6, 6, 8, 10, 10, 12). Larger factors are reached one doubling at
    a time, each doubling in those 6 steps and followed by a base change (its output becomes the new input,
    the released code's advice for large factors), then the rest of the way in the same 6-step pattern:
    x4 = the x2 schedule, base change at 2, then (2, 3), (3, 2), (3, 3), (3, 4), (4, 3), (4, 4).
    A jump from base ``b`` to ``t`` goes through the midpoint ``m = (b + t) / 2`` per axis as
    (b, m_x), (m_y, b), (m_y, m_x), (m_y, t_x), (t_y, m_x), (t_y, t_x); steps that repeat an earlier one or
    do not upscale (an axis that does not grow) are left out. Returns (steps, back-projection iterations per
    step, base-change scales), all relative to the original input.
    """
    sy, sx = float(scale[0]), float(scale[1])
    steps: list[tuple[float, float]] = []
    bps: list[int] = []
    bases: list[float] = []

    def jump(by: float, bx: float, ty: float, tx: float) -> None:
        my, mx = (by + ty) / 2, (bx + tx) / 2
        pattern = [(by, mx), (my, bx), (my, mx), (my, tx), (ty, mx), (ty, tx)]
        for step, bp in zip(pattern, PAPER_X2_BP_ITERS):
            if step != (by, bx) and step not in steps:
                steps.append(step)
                bps.append(bp)

    base = 1.0
    while 2 * base <= min(sy, sx) + 1e-9:  # whole doublings, isotropic
        jump(base, base, 2 * base, 2 * base)
        base *= 2
        if (base, base) != (sy, sx):
            bases.append(base)
    if not steps or steps[-1] != (sy, sx):  # the remainder (or the whole factor), from the last base
        jump(base, base, sy, sx)
    return tuple(steps), tuple(bps), tuple(bases)


_GRADUAL = ZSSRConfig(scale_factors=PAPER_X2_SCHEDULE, back_projection_iters=PAPER_X2_BP_ITERS,
                      extra={"preset": "gradual"})

#: Named presets of the released code (all for x2; use ``.with_scale(s)`` for other factors).
PRESETS: dict[str, ZSSRConfig] = {
    "ideal": ZSSRConfig(extra={"preset": "ideal"}),
    "gradual": _GRADUAL,
    "given-kernel": ZSSRConfig(back_projection_iters=(2,), ensemble=False, allow_rotation=False,
                               extra={"preset": "given-kernel"}),
    "real": ZSSRConfig(back_projection_iters=(0,), ensemble=False, allow_rotation=False, noise_std=0.0125,
                       scale_diff_sigma=0.0, shear_sigma=0.0, min_scale=0.75, extra={"preset": "real"}),
}


def preset(name: str) -> ZSSRConfig:
    """A named preset (see :data:`PRESETS`); :class:`ConfigError` naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
