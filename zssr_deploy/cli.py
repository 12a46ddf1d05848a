"""The ``zssr-deploy`` command line. It parses options and calls library functions; nothing else.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .errors import ImageWriteError, ZSSRError

F = Callable[..., Any]


def _user_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit status 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ZSSRError as exc:
            click.echo(f"zssr-deploy: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("zssr-deploy: interrupted", err=True)
            sys.exit(130)

    return wrapper


def _write_json(path: str, payload: dict, overwrite: bool) -> None:
    p = Path(path)
    if p.exists() and not overwrite:
        raise ImageWriteError(f"{path!r} already exists; pass --overwrite to replace it")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=str(folder))
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, p)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zssr-deploy")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Zero-Shot Super-Resolution: fit an image-specific network, then run it through ONNX Runtime."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
def info() -> None:
    """Package, torch and ONNX Runtime versions; available providers; torch device."""
    from .info import environment_info

    for key, value in environment_info().items():
        click.echo(f"{key}: {value}")


@main.command()
@click.argument("name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the PNG.")
@click.option("--size", type=int, default=None, help="Centred square crop of this many pixels.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@_user_errors
def sample(name: str, output: str, size: int | None, overwrite: bool) -> None:
    """Write a sample photo bundled with scikit-image (astronaut, camera, chelsea, coffee, rocket)."""
    from .io import write_image
    from .samples import load_sample

    write_image(output, load_sample(name, size), overwrite=overwrite)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("hr_dir", type=click.Path())
@click.option("--scale", type=int, default=2, show_default=True, help="Integer scale factor.")
@click.option("--method", type=click.Choice(["bicubic", "zssr"]), default="bicubic", show_default=True)
@click.option("--protocol", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True,
              help="rgb: 8-bit RGB LR input, scored on Y; y: the Y channel resized in floating point.")
@click.option("--limit", type=int, default=None, help="Score only the first N images (sorted by name).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write results as JSON.")
@click.option("--preset", default="ideal", show_default=True, help="ZSSR preset (with --method zssr).")
@click.option("--max-iters", type=int, default=None, help="ZSSR: cap on training iterations.")
@click.option("--seed", type=int, default=0, show_default=True, help="ZSSR: random seed.")
@click.option("--device", default="auto", show_default=True, help="ZSSR: auto, cpu or cuda.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default="auto", show_default=True,
              help="ZSSR: training precision.")
@click.option("--overwrite", is_flag=True, help="Replace the JSON file if it exists.")
@_user_errors
def evaluate(hr_dir: str, scale: int, method: str, protocol: str, limit: int | None, json_out: str | None,
             preset: str, max_iters: int | None, seed: int, device: str, precision: str, overwrite: bool) -> None:
    """Score a folder of HR images: mod-crop, make the LR input, upscale with METHOD, score Y-PSNR/SSIM."""
    from .evaluate import EvalResult, bicubic_upscaler, iter_scores, list_images

    if scale < 2:
        raise click.BadParameter("scale must be an integer >= 2", param_hint="--scale")
    if json_out and Path(json_out).exists() and not overwrite:
        raise ImageWriteError(f"{json_out!r} already exists; pass --overwrite to replace it")
    upscaler = bicubic_upscaler
    if method == "zssr":
        from .api import zssr_upscaler

        upscaler = zssr_upscaler(preset=preset, max_iters=max_iters, seed=seed, device=device, precision=precision)
    files = list_images(hr_dir)[:limit]
    scores = []
    with click.progressbar(files, label=f"{method} x{scale}", file=sys.stderr,
                           item_show_func=lambda f: f.stem if f else "") as bar:
        for f in bar:
            scores.extend(iter_scores([f], scale, upscaler, protocol))
    result = EvalResult(scale, method, protocol, scores)
    for s in result.images:
        click.echo(f"{s.name:12s} {s.psnr_y:6.2f} dB  {s.ssim_y:.4f}  {s.seconds:7.2f} s")
    click.echo(f"{'mean':12s} {result.mean_psnr:6.2f} dB  {result.mean_ssim:.4f}")
    if json_out:
        _write_json(json_out, result.to_json(), overwrite)


if __name__ == "__main__":  # pragma: no cover
    main()
