"""The standard SR scoring protocols (``docs/benchmarks/protocols.md``).

Common to both: HR cropped to a multiple of the scale; MATLAB bicubic; luma ``Y = 16 + 65.481 R + 128.553 G
+ 24.966 B`` rounded to 8 bit (single-channel images are scored on their own intensity); ``s`` pixels shaved;
PSNR on 0..255; SSIM of Wang et al. on Y.

* ``y``: HR -> 8-bit Y, then the Y channel is down- and upscaled in floating point with no rounding in
  between, and rounded at the end (the SRCNN/VDSR scripts, which produced the published bicubic rows).
* ``rgb``: the LR input is the RGB HR downscaled with MATLAB bicubic and stored as 8 bit; the method's RGB
  output is rounded to 8 bit and then scored on Y (how ZSSR and other RGB methods are run).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .blind.config import KernelSource
from .compute import Compute
from .errors import ConfigError, ImageReadError, InvalidImageError
from .imageops.color import rgb_to_y255
from .imageops.resize import imresize
from .imageops.scale import scale_pair
from .io import list_images, read_image
from .metrics import luma8, mod_crop, psnr, rgb_protocol_lr, score_output, ssim, to8
from .results import EvalResult, ImageScore, ResultsFile, load_results, save_results, start_run, step_checkpoint_path

if TYPE_CHECKING:
    from .trainers.config import ZSSRConfig
    from .trainers.fitting import StepEvent

__all__ = [
    "EvalResult", "FolderEvaluation", "ImageScore", "ResultsFile", "Upscaler", "ZSSRUpscaler", "bicubic_upscaler", "load_results",
    "save_results", "score_given_lr", "score_image", "select_images", "start_run", "step_checkpoint_path", "zssr_settings",
]

log = logging.getLogger(__name__)

#: An upscaler maps (LR float32 HxWxC in [0, 1], scale) to an SR float array of shape (H*s, W*s, C).
Upscaler = Callable[[np.ndarray, float], np.ndarray]

PROTOCOLS = ("rgb", "y")


def bicubic_upscaler(lr: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB bicubic upscaling (the baseline method)."""
    return imresize(lr, scale)


def score_image(
    hr: np.ndarray, scale: int, upscaler: Upscaler = bicubic_upscaler, protocol: str = "rgb", name: str = ""
) -> ImageScore:
    """Score one HR image (float ``HxWxC`` in [0, 1], values on an 8-bit grid) under ``protocol``."""
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; use one of {PROTOCOLS}")
    hr = mod_crop(hr, scale)
    hr_y = to8(rgb_to_y255(hr))
    t0 = time.perf_counter()
    if protocol == "y":
        lr_y = imresize(hr_y, 1.0 / scale)
        sr_y = to8(upscaler(lr_y[..., None] / 255.0, scale)[..., 0] * 255.0)
    else:
        sr = upscaler(rgb_protocol_lr(hr, scale), scale)
        sr_y = luma8(sr)
    seconds = time.perf_counter() - t0
    if sr_y.shape != hr_y.shape:
        raise InvalidImageError(f"{name}: the method returned {sr_y.shape}, expected {hr_y.shape}")
    return ImageScore(name, psnr(hr_y, sr_y, shave=scale), ssim(hr_y, sr_y, shave=scale), seconds)


def select_images(files: list[Path], only: Sequence[str] = (), limit: int | None = None) -> list[Path]:
    """The files to score: those whose stem is in ``only`` (all when empty), then the first ``limit``.

    Raises :class:`ConfigError` naming any ``only`` entry that matches no file.
    """
    if only:
        stems, wanted = {f.stem for f in files}, set(only)
        missing = [n for n in only if n not in stems]
        if missing:
            raise ConfigError(f"no image named {', '.join(map(repr, missing))} in the folder "
                            f"(names without extension: {', '.join(sorted(stems))})")
        files = [f for f in files if f.stem in wanted]
    return files[:limit]


def score_given_lr(hr: np.ndarray, lr: np.ndarray, scale: int, upscaler: Upscaler, name: str = "") -> ImageScore:
    """Score an upscaler on an LR image made elsewhere (a blind-SR folder): ``hr`` mod-cropped to ``scale``
    must be ``scale`` times ``lr``; the output is rounded to 8 bit and scored on Y as in the RGB protocol."""
    hr = mod_crop(hr, scale)
    if lr.shape[:2] != (hr.shape[0] // scale, hr.shape[1] // scale) or lr.shape[2] != hr.shape[2]:
        raise InvalidImageError(f"{name}: the LR image is {lr.shape[1]}x{lr.shape[0]}x{lr.shape[2]}, but its HR image "
                                f"cropped to x{scale} needs {hr.shape[1] // scale}x{hr.shape[0] // scale}x{hr.shape[2]}")
    t0 = time.perf_counter()
    sr = upscaler(lr.astype(np.float32), scale)
    seconds = time.perf_counter() - t0
    p, s = score_output(np.asarray(sr, np.float64), hr, scale)
    return ImageScore(name, p, s, seconds)


def _score_file(f: Path, scale: int, upscaler: Upscaler, protocol: str, lr_dir: Path | None) -> ImageScore:
    hr = read_image(f).pixels.astype(np.float64)
    if lr_dir is None:
        score = score_image(hr, scale, upscaler, protocol, name=f.stem)
    else:
        score = score_given_lr(hr, read_image(lr_dir / f"{f.stem}.png").pixels, scale, upscaler, f.stem)
    report = getattr(upscaler, "last_fit", None)  # upscalers that train say how (see api.ZSSRUpscaler)
    if report:
        score = replace(score, fit=dict(report))
    log.info("%s: %.2f dB / %.4f (%.1f s)", f.stem, score.psnr_y, score.ssim_y, score.seconds)
    return score


def zssr_settings(config: Any, preset: str, max_iters: int | None, steps: str | None = None,
                  bp_iters: str | None = None, base_change: str | None = None, kernel: str = "none",
                  estimator: str | None = None) -> dict:
    """The settings a ZSSR results file is identified by, so that ``--resume`` never mixes two runs.

    ``config`` is the run's :class:`~zssr_deploy.trainers.config.ZSSRConfig`; ``preset``, ``max_iters`` and the
    schedule options are recorded as typed, the schedule only when given (results files written before those
    options existed stay resumable), as is a non-default father placement.
    """
    settings: dict[str, object] = {"preset": preset, "seed": config.seed, "max_iters": max_iters,
                                   "adam": "restart" if config.fresh_optimizer_each_step else "kept"}
    settings.update({k: v for k, v in (("steps", steps), ("bp_iters", bp_iters), ("base_change", base_change)) if v})
    if config.father_placement != "paper":
        settings["father_placement"] = config.father_placement
    if kernel != "none":
        settings["kernel"] = kernel
    if config.kernel_phase != "zssr":
        settings["kernel_phase"] = config.kernel_phase
    if kernel == "estimate" and estimator != "kernelgan":  # KernelGAN's files predate the choice
        settings["kernel_estimator"] = estimator
    return settings


class ZSSRUpscaler:
    """An upscaler for :class:`zssr_deploy.evaluate.FolderEvaluation` that fits ZSSR to each LR image.

    After each call, ``last_fit`` says how the fit went: iterations and learning-rate drops per step, total
    fit seconds (across a resume) and the steps restored from ``checkpoint`` (give one upscaler per image when
    using a checkpoint), and how an estimated kernel was found (scored against ``true_kernel`` when given).
    """

    def __init__(self, config: ZSSRConfig, checkpoint: str | Path | None = None,
                 on_step: Callable[[StepEvent], None] | None = None, kernel: KernelSource = KernelSource(),
                 true_kernel: np.ndarray | None = None, compute: Compute = Compute()) -> None:
        self.config, self.checkpoint, self.on_step = config, checkpoint, on_step
        self.compute = compute  # its threads (the device is the config's)
        self.kernel, self.true_kernel = kernel, true_kernel
        self.last_fit: dict = {}

    def _kernel(self, lr: np.ndarray) -> tuple[np.ndarray | None, dict]:
        """The kernel to fit with (estimated from ``lr`` when the source says so) and what to report of it."""
        if not self.kernel.is_estimate:
            return self.kernel.array, {}
        from .blind.estimate import estimate_kernel, kernel_psnr, stretch_kernel

        scale = self.config.final_scale
        found = estimate_kernel(lr, scale, self.kernel.estimation)  # type: ignore[arg-type]
        finding = found.summary()
        if self.true_kernel is not None:  # how close the estimate came (FKP's kernel PSNR), fallback or not
            truth = kernel_psnr(stretch_kernel(found.x2_kernel, scale), self.true_kernel, scale)
            finding = replace(finding, kernel_psnr=round(truth, 3))
        return found.kernel, {"kernel": finding.to_json()}

    def __call__(self, lr: np.ndarray, scale: float) -> np.ndarray:
        from .models.device import use_threads
        from .trainers.fitting import fit

        if scale_pair(scale) != self.config.final_scale:
            raise ConfigError(f"this upscaler was set up for x{self.config.final_scale}, not x{scale}")
        use_threads(self.compute)
        kernel, facts = self._kernel(lr)
        result = fit(lr, self.config, kernel=kernel, checkpoint=self.checkpoint, on_step=self.on_step)
        self.last_fit = {**facts, "iterations": [s.iterations for s in result.steps],
                         "learning_rate_drops": [list(s.learning_rate_drops) for s in result.steps],
                         "fit_seconds": round(result.seconds, 3), "resumed_steps": result.resumed_steps,
                         "device": result.device, "precision": result.precision}
        log.info("fit: %s, %.1f s", [(s.iterations, s.learning_rate_drops) for s in result.steps], result.seconds)
        return result.output


def _check_lr_sizes(files: list[Path], lr_dir: Path, scale: int) -> None:
    """Every LR image the size its HR image cropped to ``scale`` needs, checked before the first fit (a wrong
    one once failed only when its turn came, hours into a run)."""
    for f in files:
        hr, lr = read_image(f).pixels.shape, read_image(lr_dir / f"{f.stem}.png").pixels.shape
        if lr[:2] != (hr[0] // scale, hr[1] // scale) or lr[2] != hr[2]:
            raise InvalidImageError(f"{f.stem}: the LR image is {lr[1]}x{lr[0]}x{lr[2]}, but its HR image cropped to "
                                    f"x{scale} needs {hr[1] // scale}x{hr[0] // scale}x{hr[2]}")


class FolderEvaluation:
    """A resumable evaluation of a folder: what is already scored, what is left, and the run itself.

    With ``resume``, the results file is rewritten after each image, and an upscaler that trains is given a
    checkpoint file per image (:func:`step_checkpoint_path`), removed once the image is scored: an interrupted
    run loses at most the gradual step in progress.
    """

    def __init__(self, folder: str | Path, *, scale: int, method: str, protocol: str = "rgb", only: Sequence[str] = (),
                 limit: int | None = None, settings: dict | None = None, results: ResultsFile = ResultsFile(),
                 lr_dir: str | Path | None = None) -> None:
        files = select_images(list_images(folder), only, limit)
        self.lr_dir = None if lr_dir is None else Path(lr_dir)
        if self.lr_dir is not None:
            missing = [f.stem for f in files if not (self.lr_dir / f"{f.stem}.png").is_file()]
            if missing:
                raise ImageReadError(f"{str(lr_dir)!r} has no LR image for {', '.join(missing)} (NAME.png each); "
                                     "make it with 'zssr-deploy degrade'")
        self.result, self.todo = start_run(files, scale, method, protocol, settings, results.path, results.resume,
                                           results.overwrite)
        if self.lr_dir is not None:
            _check_lr_sizes(self.todo, self.lr_dir, scale)
        self.resumed = results.resume and len(self.todo) < len(files)
        self.json_path, self.resume, self.overwrite = results.path, results.resume, results.overwrite

    def run(self, make_upscaler: Callable[[str, Path | None], Upscaler],
            on_scored: Callable[[ImageScore], None] | None = None) -> EvalResult:
        """Score every image left; ``make_upscaler(name, checkpoint or None)`` gives each image its upscaler and
        ``on_scored(score)`` is called after each one. Returns all results, earlier ones included."""
        res = self.result
        for f in self.todo:
            ckpt = step_checkpoint_path(self.json_path, f.stem) if self.resume else None  # type: ignore[arg-type]
            res.images.append(_score_file(f, res.scale, make_upscaler(f.stem, ckpt), res.protocol, self.lr_dir))
            if on_scored is not None:
                on_scored(res.images[-1])
            if self.resume:  # an interrupted run keeps every finished image
                save_results(res, self.json_path, overwrite=True)  # type: ignore[arg-type]
                if ckpt is not None:
                    ckpt.unlink(missing_ok=True)
        if self.json_path and not self.resume:
            save_results(res, self.json_path, self.overwrite)
        return res
