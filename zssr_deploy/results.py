"""Results of ``zssr-deploy evaluate``: per-image scores, the results JSON (written atomically, read back to
resume), and comparing a run with a baseline run image by image (gained, lost)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError, ResultsError
from .files import check_output_path, write_bytes_atomic

__all__ = ["Comparison", "EvalResult", "ImageScore", "ResultsFile", "compare_runs", "load_results", "read_results",
           "save_results", "start_run", "step_checkpoint_path"]


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr_y: float
    ssim_y: float
    seconds: float
    """Wall time of the upscaler call that produced the output (a resumed fit: only the resumed part)."""
    fit: dict = field(default_factory=dict, compare=False)
    """What the upscaler reports about its work (ZSSR: iterations and learning-rate drops per step, total
    fit seconds across resumes, steps restored from a checkpoint); written to JSON only when not empty."""


@dataclass(frozen=True)
class EvalResult:
    scale: int
    method: str
    protocol: str
    images: list[ImageScore] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    """Method settings that change the scores (ZSSR: preset, seed, ...); written to JSON only when not empty."""

    @property
    def mean_psnr(self) -> float:
        return float(np.mean([s.psnr_y for s in self.images]))

    @property
    def mean_ssim(self) -> float:
        return float(np.mean([s.ssim_y for s in self.images]))

    def to_json(self) -> dict:
        """The JSON shape other scripts rely on (see the README)."""
        out = {
            "scale": self.scale,
            "method": self.method,
            "protocol": self.protocol,
            "mean": {"psnr_y": round(self.mean_psnr, 4), "ssim_y": round(self.mean_ssim, 6)},
            "images": [
                {"name": s.name, "psnr_y": round(s.psnr_y, 4), "ssim_y": round(s.ssim_y, 6),
                 "seconds": round(s.seconds, 3), **({"fit": s.fit} if s.fit else {})}
                for s in self.images
            ],
        }
        if self.settings:
            out["settings"] = dict(self.settings)
        return out


def load_results(path: str | Path, scale: int, method: str, protocol: str, settings: dict | None = None) -> EvalResult:
    """Read a results JSON written by :meth:`EvalResult.to_json` to resume an interrupted evaluation.

    Raises :class:`ResultsError` when the file is not such a JSON or was made with another scale, method, protocol
    or settings (mixing them would make the mean meaningless).
    """
    try:
        found = read_results(path)
    except ResultsError as exc:
        raise ResultsError(f"{exc}; remove it or pick another --json file") from None
    wanted = (scale, method, protocol, dict(settings or {}))
    if (found.scale, found.method, found.protocol, found.settings) != wanted:
        raise ResultsError(f"{str(path)!r} holds results for scale {found.scale}, {found.method}, protocol "
                           f"{found.protocol}, settings {found.settings}; this run is scale {scale}, {method}, protocol "
                           f"{protocol}, settings {wanted[3]}: use another --json file to keep both")
    return EvalResult(scale, method, protocol, found.images, dict(settings or {}))


def save_results(result: EvalResult, path: str | Path, overwrite: bool) -> None:
    """Write ``result.to_json()`` atomically (temporary file + rename); refuses to replace a file unless
    ``overwrite``."""
    check_output_path(path, overwrite, (".json",))
    write_bytes_atomic(path, (json.dumps(result.to_json(), indent=2) + "\n").encode(), overwrite)


def step_checkpoint_path(json_path: str | Path, image_name: str) -> Path:
    """Where a resumable run keeps the training state of the image in progress, beside its results JSON
    (``results.json`` -> ``results.<image>.ckpt``); removed once the image is scored."""
    p = Path(json_path)
    return p.with_name(f"{p.stem}.{image_name}.ckpt")


def start_run(files: list[Path], scale: int, method: str, protocol: str, settings: dict | None = None,
              json_path: str | Path | None = None, resume: bool = False,
              overwrite: bool = False) -> tuple[EvalResult, list[Path]]:
    """The results so far and the files still to score, checked before any work.

    With ``resume`` and an existing ``json_path``, its results are kept (see :func:`load_results`) and their
    images dropped from ``files``; otherwise ``json_path`` (if any) must be writable and, unless ``overwrite``,
    not exist yet.
    """
    if resume and json_path is None:
        raise ConfigError("resuming needs the results JSON file (--json FILE)")
    if resume and overwrite:
        raise ConfigError("choose resume (--resume: keep the file's results) or overwrite (--overwrite: replace them), "
                        "not both")
    result = EvalResult(scale, method, protocol, [], dict(settings or {}))
    if json_path is None:
        return result, files
    if resume and Path(json_path).exists():
        result = load_results(json_path, scale, method, protocol, settings)
        done = {s.name for s in result.images}
        return result, [f for f in files if f.stem not in done]
    check_output_path(json_path, overwrite, (".json",))
    return result, files


@dataclass(frozen=True, kw_only=True)
class ResultsFile:
    """Where an evaluation keeps its results, and what it does with an existing file."""

    path: str | Path | None = None
    """The results JSON (None: results are only returned)."""
    resume: bool = False
    """Keep the file's finished images, score the rest, rewrite it after each image (and keep the image in
    progress after each gradual step: :func:`step_checkpoint_path`)."""
    overwrite: bool = False
    """Replace an existing file."""


def read_results(path: str | Path) -> EvalResult:
    """Any results JSON of ``zssr-deploy evaluate`` (its own scale, method, protocol and settings);
    :class:`ResultsError` when the file is not one."""
    try:
        data = json.loads(Path(path).read_text())
        images = [ImageScore(str(i["name"]), float(i["psnr_y"]), float(i["ssim_y"]), float(i["seconds"]),
                             dict(i.get("fit", {})))
                  for i in data["images"]]
        return EvalResult(int(data["scale"]), str(data["method"]), str(data["protocol"]), images,
                          dict(data.get("settings", {})))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ResultsError(f"{str(path)!r} is not a results JSON of 'zssr-deploy evaluate' ({e})") from None


@dataclass(frozen=True)
class Comparison:
    """A run against a baseline run, image by image (Y-PSNR)."""

    gained: list[str]
    """Images the run scored higher than the baseline (by more than ``tolerance``)."""
    lost: list[str]
    """Images it scored lower."""
    same: list[str]
    """Images within ``tolerance`` of the baseline."""
    missing: list[str]
    """Images of the run that the baseline has not scored."""
    differences: dict[str, float] = field(default_factory=dict)
    """Run minus baseline, dB, per compared image."""

    @property
    def worst(self) -> tuple[str, float] | None:
        """The image that fared worst against the baseline, and by how much."""
        return min(self.differences.items(), key=lambda kv: kv[1]) if self.differences else None


def compare_runs(run: EvalResult, baseline: EvalResult, tolerance: float = 0.005) -> Comparison:
    """Which images of ``run`` gained and which lost against ``baseline`` (e.g. ``--kernel estimate`` against
    ``--kernel none``, the bicubic assumption). :class:`ConfigError` if the two are not comparable (another
    scale or protocol)."""
    if (run.scale, run.protocol) != (baseline.scale, baseline.protocol):
        raise ConfigError(f"the baseline is x{baseline.scale}, protocol {baseline.protocol}; this run is x{run.scale}, "
                          f"protocol {run.protocol}: compare runs of one scale and protocol")
    base = {s.name: s.psnr_y for s in baseline.images}
    diff = {s.name: round(s.psnr_y - base[s.name], 4) for s in run.images if s.name in base}
    return Comparison(gained=[n for n, d in diff.items() if d > tolerance], lost=[n for n, d in diff.items() if d < -tolerance],
                      same=[n for n, d in diff.items() if abs(d) <= tolerance],
                      missing=[s.name for s in run.images if s.name not in base], differences=diff)
