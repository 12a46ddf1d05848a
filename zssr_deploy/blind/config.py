"""Settings of blind SR (torch-free): the two kernel estimators', and where a fit's kernel comes from.

A fit's kernel is a :class:`KernelSource`: MATLAB bicubic (the paper's assumption), a given array, or an
estimate from the LR image itself with a :class:`KernelEstimationConfig` (:mod:`.estimate`). The command line
builds one with :func:`kernel_source` from ``--kernel`` and the estimator options; the library never reads the
word "estimate" again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..imageops.kernels import read_kernel_file

__all__ = ["ESTIMATE", "KERNEL_ESTIMATORS", "KernelEstimationConfig", "KernelFinding", "KernelGANConfig", "KernelSource",
           "RecurrenceConfig", "estimation_settings", "kernel_source"]

#: the ways a kernel can be estimated (:mod:`.estimate`)
KERNEL_ESTIMATORS = ("kernelgan", "recurrence")

#: the ``--kernel`` value that asks for the kernel to be estimated from the image
ESTIMATE = "estimate"


@dataclass(frozen=True)
class KernelGANConfig:
    """KernelGAN's settings (the authors' defaults)."""

    iterations: int = 3000
    """Training iterations (one G update and one D update each)."""
    crop: int = 64
    """Side of G's input crops; D's crops are G's output size (26)."""
    g_structure: tuple[int, ...] = (7, 5, 3, 1, 1, 1)
    """G's layer sizes: a 13x13 kernel in all."""
    g_channels: int = 64
    """Width of G's hidden layers."""
    d_channels: int = 64
    """Width of D's layers."""
    d_layers: int = 7
    """D's depth: one 7x7 layer, five 1x1 blocks, one 1x1 output layer."""
    learning_rate: float = 2e-4
    """Adam's rate for G and D."""
    beta1: float = 0.5
    """Adam's first-moment decay."""
    lr_step: int = 750
    """Both rates are divided by ``lr_drop`` every this many iterations."""
    lr_drop: float = 10.0
    """Divisor of the learning-rate steps."""
    keep_taps: int = 40
    """Post-processing: taps below 0.75 of the (keep_taps + 1)-th largest are zeroed."""



@dataclass(frozen=True)
class RecurrenceConfig:
    """Settings of the patch-recurrence estimate (chosen on scikit-image photos, never on benchmark images)."""

    patch: int = 5
    """Side of the compared patches in LR pixels (Michaeli & Irani's 5x5)."""
    size: int = 19
    """Side of the kernel grid (taps): room for variances up to about 12 HR pixels squared (2.7 sigmas a side)."""
    queries: int = 3000
    """At most about this many of the image's patches are compared (every n-th, in raster order)."""
    edges: float = 0.25
    """The share of the image's patches compared, those with the most gradient energy (1: every patch). Smooth
    patches find close matches in any blurred copy, so comparing them all pulls the estimate wide (a check by
    hand during development, scikit-image's astronaut under a narrow kernel: 3.0 times the true spread with all
    patches, 2.2 with a quarter)."""
    max_side: int = 320
    """Larger images are cut to their central ``max_side`` square first (time and memory of the search)."""
    variances: tuple[float, ...] = (0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.2)
    """The grid's principal variances (HR pixels squared; the DIV2KRK x2 range 0.6-5 and twice beyond). The best
    Gaussian of a kernel near the top of that range often lies past 5.6 (its taps' noise and the photo's own
    softness both widen it): with the range ending at 5.6, five of the design half's 34 estimates had no minimum
    and kept the bicubic assumption, while to 11.2 all but one found one, narrowed to 0.94-1.22 times the true
    spread (benchmarks/blind_sr/wide_range.py); the design half's ZSSR rows then recovered 68 % of the true
    kernel's gain instead of 56 %, none below the bicubic assumption (docs/benchmarks/blind.md, "The wider search
    range"). It costs 2-3 times the search's time (at most 0.3 of a fit)."""
    angles: int = 8
    """The grid's angles of the major axis: this many steps over 180 degrees."""
    tolerance: float = 0.02
    """The pattern search stops when its step in log-variance falls below this."""
    margin: float = 0.015
    """Kernels whose criterion is within this fraction of the best one's are ones the image cannot tell apart from
    it. The estimate is the narrowest of them along the best Gaussian's width (both variances scaled alike): an
    LR image is the same whether a soft photo met a narrow kernel or a sharper one a wider kernel, and a kernel
    too wide costs ZSSR far more than one too narrow (docs/benchmarks/blind.md#held-out-corpus-a-design-half-and-a-test-half).
    Chosen on the held-out corpus's design half (kernel-only runs: no design estimate stays more than 1.3 times
    too wide), never on its test half or a benchmark set. 0 keeps the best Gaussian."""
    narrowest: float = 0.25
    """The evidence interval is searched down to this fraction of the best Gaussian's width; an image that cannot
    tell even that from the best has no evidence of its kernel's width (confidence 0: the bicubic assumption)."""
    max_variance: float | None = 1.75
    """The widest kernel the estimate hands to ZSSR, along any axis: each principal variance of the used Gaussian
    (HR pixels squared; 1.75 is a sigma of 1.32 pixels) is clipped to this, the angle kept. Why: the estimate's
    width error is mostly the photo's own (the two kernels of a corpus photo err alike, +0.89), so no rescaling
    of it is safe, and a kernel too wide in any direction costs ZSSR dB (over-sharpening that direction) while
    one too narrow only leaves gain (docs/benchmarks/blind.md, "The width cap"). A wider blur is then
    under-corrected, never over-sharpened; give the kernel (``--kernel FILE``) to undo it fully. Chosen on
    development data only (both halves of the held-out corpus): a cap on the spread (3.5) was chosen first and
    one development fit under it still lost (an elongated estimate 2.1 times too wide along its long axis), so
    the cap went per axis at half of it, which keeps every development estimate at most 1.85 times too wide in
    any direction (the narrowest loss measured: 2.06). None: no cap."""



@dataclass(frozen=True)
class KernelEstimationConfig:
    """Settings of :func:`estimate_kernel`: KernelGAN's own, the number of runs, and the flat-image check's
    thresholds (chosen on scikit-image photos and synthetic flat images, never on benchmark images)."""

    method: str = "recurrence"
    """'kernelgan' (two KernelGAN runs averaged) or 'recurrence' (the Gaussian whose downscaling of the image best
    reproduces its own patches, :mod:`.recurrence`)."""
    recurrence: RecurrenceConfig = RecurrenceConfig()
    """The patch-recurrence search's settings (``method="recurrence"``)."""
    runs: int = 2
    """KernelGAN runs (seeds ``seed``, ``seed + 1``, ...) whose kernels are averaged."""
    gan: KernelGANConfig = KernelGANConfig()
    """KernelGAN's settings per run (the authors' defaults), its training iterations (``gan.iterations``) included."""
    min_detail: float = 4.0
    """The 99th percentile of the image's band-pass detail (8-bit levels) below which it has no edges to learn
    from (scikit-image photos: 4.9 to 30, except the dark retina photo's 1.9:
    docs/benchmarks/history.md#kernelgan-as-the-default-estimator)."""
    min_structure: float = 2.0
    """Below this many 8-bit levels of smoothed standard deviation the image counts as flat (or only noise)."""
    min_confidence: float = 0.5
    """The patch-recurrence estimate's confidence (:attr:`KernelFinding.confidence`) below which the bicubic
    assumption is kept: an image that cannot tell its kernel from one half as wide says little about it."""
    min_agreement: float = 44.0
    """Kernel PSNR (dB) the first two runs' kernels must reach between them: runs that disagree are not trusted
    (scikit-image photos: 40.9-43.3 on the three whose averaged estimates were 1.7-1.8 times too wide, 48.1-67.0
    on the eight others)."""
    seed: int = 0
    """Seeds every random draw (weights, crops, noise): the same image and seed give the same kernel."""
    device: str = "auto"
    """'auto' (CUDA when torch sees a GPU), 'cpu' or 'cuda[:N]': the trainer's choice, so an estimate runs where
    the fit it feeds runs, from ``estimate-kernel`` as from ``--kernel estimate``."""
    threads: int | None = 1
    """CPU threads per KernelGAN run (torch's count is restored afterwards); None: the process's setting, runs one
    after the other. KernelGAN's iterations are too small to share out: on 2 cores, 1 thread is faster than 2
    (docs/benchmarks/history.md#kernelgan-as-the-default-estimator), and the kernel then does not depend on the
    machine's core count. Where the process has threads for more than one run
    (``torch.get_num_threads() >= 2 * threads``), runs go side by side."""

    def __post_init__(self) -> None:
        if self.method not in KERNEL_ESTIMATORS:
            raise ConfigError(f"unknown kernel estimator {self.method!r}: use one of {', '.join(KERNEL_ESTIMATORS)}")


@dataclass(frozen=True, kw_only=True)
class KernelFinding:
    """How a fit's kernel was found: what the closing summary, the model metadata (``zssr.training``), the batch
    manifest and the report say of it. Only ``source`` for a kernel that was assumed or given."""

    source: str
    """'bicubic' (assumed), 'given', 'estimated', or 'bicubic (estimate rejected)'."""
    method: str | None = None
    """The estimator (:attr:`KernelEstimationConfig.method`)."""
    agreement_db: float | None = None
    """Kernel PSNR between KernelGAN's first two runs (capped at 99; 99 with one run or the other estimator)."""
    detail: float | None = None
    """The image's band-pass detail (8-bit levels): no edges, no evidence about the kernel."""
    reason: str = ""
    """Why the estimate was rejected ("" when it was used)."""
    seconds: float | None = None
    """Time the estimate took."""
    gaussian: dict | None = None
    """The patch-recurrence estimator's Gaussian (variances, angle, criterion; the used variances and ``cap``,
    their spread over the narrowed Gaussian's after :attr:`RecurrenceConfig.max_variance`, 1 when not capped)."""
    kernel_psnr: float | None = None
    """How close the estimate came to a known true kernel (benchmarks; FKP's kernel PSNR)."""
    confidence: float | None = None
    """How firmly the image pins the kernel's width, 0-1 (patch recurrence): the narrowed kernel's width over the
    best-matching one's, before the width cap (1: any narrower kernel reproduces the image's patches clearly
    worse; 0.5: one half as wide does as well, so the estimate is only an upper bound). None for the other
    estimator."""

    @property
    def estimated(self) -> bool:
        return self.method is not None

    @property
    def capped(self) -> bool:
        """Whether the kernel the fit used was clipped by :attr:`RecurrenceConfig.max_variance` (False when the
        estimate was rejected: its cap changed nothing; ``gaussian["cap"]`` still records it)."""
        return self.source == "estimated" and bool(self.gaussian) and self.gaussian.get("cap", 1.0) < 1.0

    def headline(self) -> str:
        """A few words for tables: where the kernel came from and, for an estimate, how sure it is."""
        if not self.estimated:
            return self.source
        sure = f", confidence {self.confidence:.2f}" if self.confidence is not None else ""
        capped = ", width capped" if self.capped else ""
        return f"{self.source} ({self.method}{sure}{capped})"

    def to_json(self) -> dict:
        """The JSON form (fields that do not apply left out)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if not self.estimated:
            out.pop("reason")
        return out

    @classmethod
    def from_json(cls, data: dict) -> KernelFinding:
        """Read :meth:`to_json`'s form back (unknown keys ignored: manifests of other versions)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


KERNEL_KINDS = ("bicubic", "given", "estimate")


@dataclass(frozen=True, eq=False)
class KernelSource:
    """Where a fit's downscaling kernel comes from. Build it with :meth:`bicubic`, :meth:`given` or
    :meth:`estimate` (or :func:`kernel_source` from a command-line value)."""

    kind: str = "bicubic"
    """'bicubic' (MATLAB bicubic: the paper's assumption), 'given' (:attr:`array`) or 'estimate' (from the LR
    image, with :attr:`estimation`)."""
    array: np.ndarray | None = field(default=None, repr=False)
    """The given kernel, 2-D as read (the fit plan validates, normalises and re-centres it)."""
    estimation: KernelEstimationConfig | None = None
    """The estimator's settings (kind 'estimate')."""

    def __post_init__(self) -> None:
        if self.kind not in KERNEL_KINDS:
            raise ConfigError(f"kernel source must be one of {KERNEL_KINDS}, got {self.kind!r}")
        if (self.array is not None) != (self.kind == "given") or (self.estimation is not None) != (self.kind == "estimate"):
            raise ConfigError("a given kernel source holds an array, an estimated one its settings, bicubic neither")

    @classmethod
    def bicubic(cls) -> KernelSource:
        return cls()

    @classmethod
    def given(cls, array: np.ndarray) -> KernelSource:
        return cls("given", array=np.asarray(array))

    @classmethod
    def estimate(cls, settings: KernelEstimationConfig | None = None) -> KernelSource:
        return cls("estimate", estimation=settings or KernelEstimationConfig())

    @property
    def is_estimate(self) -> bool:
        return self.kind == "estimate"

    def identity(self) -> object:
        """What of the source changes a fit's output, JSON-able (for batch fingerprints): None, the rounded
        taps, or the estimator's settings (not where it runs)."""
        if self.array is not None:
            return np.round(np.asarray(self.array, np.float64), 9).tolist()
        if self.estimation is not None:
            settings = asdict(self.estimation)
            for where in ("device", "threads"):
                settings.pop(where)
            return {ESTIMATE: settings}
        return None


def estimation_settings(method: str | None = None, iterations: int | None = None, seed: int = 0,
                        device: str = "auto", max_variance: float | None = None) -> KernelEstimationConfig:
    """The estimator's settings from the command line's options (None keeps the default; ``max_variance`` 0: no
    cap): the one place they are built, for ``estimate-kernel`` and ``--kernel estimate`` alike."""
    gan = KernelGANConfig() if iterations is None else KernelGANConfig(iterations=iterations)
    recurrence = RecurrenceConfig() if max_variance is None else RecurrenceConfig(max_variance=max_variance or None)
    return KernelEstimationConfig(method=method or KernelEstimationConfig.method, gan=gan, seed=seed, device=device,
                                  recurrence=recurrence)


def kernel_source(value: str | Path | None, estimation: KernelEstimationConfig | None = None) -> KernelSource:
    """``--kernel``'s value as a source: None (bicubic), ``"estimate"`` (with ``estimation``) or a kernel file
    (read now: :class:`~zssr_deploy.errors.KernelError` before any work when it cannot be read)."""
    if value is None:
        return KernelSource.bicubic()
    if str(value) == ESTIMATE:
        return KernelSource.estimate(estimation)
    return KernelSource.given(read_kernel_file(value))
