"""What the command line shows while work goes on (progress bars on stderr). Part of the CLI front end: the
library reports through callbacks and never prints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ..batch.manifest import BatchRecord
from ..blind.config import KernelFinding
from ..results import EvalResult

__all__ = ["QUIET", "BatchBars", "ProgressBars", "say"]

#: set by ``-q``: no bars and no progress lines
QUIET = False


def _live() -> bool:
    """Animated bars only on a terminal (a log file would fill with their frames)."""
    return not QUIET and sys.stderr.isatty()


def say(line: str) -> None:
    if not QUIET:
        click.echo(line, err=True)


def _plain_line(done: int, total: int, mark: int, line: Callable[[], str]) -> int:
    """Say ``line()`` when ``done`` enters a new tenth of ``total`` (or completes it); returns the new mark (start
    from -1, so the first call speaks)."""
    now = done * 10 // max(total, 1)
    if now > mark:
        say(line())
        return now
    return mark


class ProgressBars:
    """tqdm bars: kernel estimation, one per scale step over training iterations (loss, reconstruction error,
    learning rate), inference tiles, the images of an evaluation."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.tile_bar: Any = None
        self.image_bar: Any = None
        self.kernel_bar: Any = None
        self.step, self.mark = -1, -1
        self.kernel_mark, self.tile_mark = -1, -1

    def progress(self, p) -> None:
        from tqdm import tqdm

        if not _live():  # plain lines: each step's start, then every tenth of its iteration budget
            if p.step != self.step:
                self.step, self.mark = p.step, -1
            self.mark = _plain_line(p.iteration, p.max_iters, self.mark, lambda: (
                f"step {p.step + 1}/{p.steps}: {p.iteration}/{p.max_iters} iterations, learning rate "
                f"{p.learning_rate:.0e}; last test: loss {p.loss:.4f}, reconstruction error {p.reconstruction_error:.2e}"))
            return
        if p.step != self.step:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=p.max_iters, desc=f"step {p.step + 1}/{p.steps}", unit="it", file=sys.stderr,
                            leave=True, dynamic_ncols=True)
            self.step = p.step
        self.bar.update(p.iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{p.loss:.4f}", rec=f"{p.reconstruction_error:.2e}", lr=f"{p.learning_rate:.0e}")

    def phase(self, name: str) -> None:
        """A new phase of fit-and-run (kernel, training, export, inference, write): said as a line, so a frozen
        training bar never stands for the export."""
        if name == "training":
            return  # the step bars say it
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if name in ("export", "inference"):
            say({"export": "exporting the fitted pipeline to ONNX", "inference": "final inference"}[name])

    def tiles(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.tile_bar is None:
            self.tile_bar = tqdm(total=total, desc="tiles", unit="tile", file=sys.stderr, dynamic_ncols=True,
                                 disable=not _live())
        self.tile_bar.n = done
        self.tile_bar.refresh()
        if not _live():  # plain lines: every tenth of the tiles
            self.tile_mark = _plain_line(done, total, self.tile_mark, lambda: f"inference: {done}/{total} tiles")

    def kernel(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.kernel_bar is None:
            self.kernel_bar = tqdm(total=total, desc="kernel", unit="it", file=sys.stderr, dynamic_ncols=True,
                                   disable=not _live())
        self.kernel_bar.update(done - self.kernel_bar.n)
        if not _live():  # plain lines: every tenth of the iterations (KernelGAN's, of all runs; or kernels tried)
            self.kernel_mark = _plain_line(done, total, self.kernel_mark,
                                           lambda: f"kernel estimation: {done}/{total} iterations")

    def images(self, total: int, label: str):
        """A bar over the images of an evaluation; returns the callback that advances it (given each score)."""
        from tqdm import tqdm

        self.image_bar = tqdm(total=total, desc=label, unit="image", file=sys.stderr, dynamic_ncols=True,
                              disable=not _live())  # the results table follows on stdout

        def scored(score) -> None:
            self.image_bar.set_postfix_str(score.name)
            self.image_bar.update(1)
        return scored

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in (self.kernel_bar, self.bar, self.tile_bar, self.image_bar):
            if bar is not None:
                bar.close()


class BatchBars:
    """A batch's display: on a terminal, a bar over the images (ETA) and a training bar per image in flight;
    elsewhere (a log file, CI) one plain line per finished image."""

    def __init__(self, total: int) -> None:
        self.total, self.finished, self.tty = total, 0, _live()
        self.bars: dict[str, Any] = {}
        self.images_bar: Any = None
        if self.tty and total:
            from tqdm import tqdm

            self.images_bar = tqdm(total=total, desc="images", unit="image", file=sys.stderr, dynamic_ncols=True,
                                   position=0)

    def progress(self, image: str, p) -> None:
        if not self.tty:
            return
        from tqdm import tqdm

        bar = self.bars.get(image)
        if bar is None or bar.total != p.max_iters:
            if bar is not None:
                bar.close()
            bar = self.bars[image] = tqdm(total=p.max_iters, unit="it", file=sys.stderr, dynamic_ncols=True, leave=False)
        bar.set_description(f"{image} step {p.step + 1}/{p.steps}")
        bar.update(p.iteration - bar.n)
        bar.set_postfix(loss=f"{p.loss:.4f}", lr=f"{p.learning_rate:.0e}")

    def image_done(self, record: BatchRecord) -> None:
        self.finished += 1
        bar = self.bars.pop(record.image, None)
        if bar is not None:
            bar.close()
        line = (f"[{self.finished}/{self.total}] {record.image}: {record.status}"
                + (f", {record.seconds:.1f} s" if record.seconds is not None else "")
                + (f", Y-PSNR {record.psnr:.2f} dB" if record.psnr is not None else "")
                + (f" ({record.error})" if record.error else ""))
        if self.images_bar is not None:
            self.images_bar.write(line, file=sys.stderr)
            self.images_bar.update(1)
        else:
            say(line)

    def __enter__(self) -> BatchBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in [*self.bars.values(), self.images_bar]:
            if bar is not None:
                bar.close()


def kernel_finding(finding: KernelFinding) -> str:
    """What an estimate's finding says, in a few words: the estimator and its own evidence (the KernelGAN runs'
    agreement, or the patch-recurrence Gaussian)."""
    if finding.method == "recurrence":
        g = finding.gaussian or {}
        if "variances" not in g:
            return "patch recurrence"
        used = g.get("used_variances", g["variances"])
        sure = f", confidence {finding.confidence:.2f}" if finding.confidence is not None else ""
        capped = f", width capped (spread x{g['cap']:.2f})" if finding.capped else ""
        return f"patch recurrence: Gaussian, variances {used[0]:.2f} / {used[1]:.2f}, {g['angle']:.0f} deg{sure}{capped}"
    return f"KernelGAN, runs agree to {finding.agreement_db:.1f} dB"


def estimate_summary(result: EvalResult) -> str:
    """How often a ``--kernel estimate`` run used its estimates, how sure they were and how many had their width
    capped ("" for other runs)."""
    found = [KernelFinding.from_json(s.fit["kernel"]) for s in result.images if isinstance(s.fit.get("kernel"), dict)]
    found = [f for f in found if f.estimated]
    if not found:
        return ""
    used = [f for f in found if f.source == "estimated"]
    sure = [f.confidence for f in used if f.confidence is not None]
    span = f" (confidence {min(sure):.2f}-{max(sure):.2f})" if sure else ""
    capped = sum(f.capped for f in used)
    width = f", width capped on {capped}" if capped else ""
    return (f"kernel estimate: used on {len(used)} of {len(found)} image(s){span}{width}, the bicubic assumption kept "
            f"on {len(found) - len(used)}")
