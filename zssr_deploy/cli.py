"""The ``zssr-deploy`` command line. It parses options and calls library functions; nothing else.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ._version import __version__
from .errors import ZSSRError

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


_steps_option = click.option(
    "--steps", default=None, help="Gradual steps 'SY,SX;SY,SX;...' (relative to the input).")
_bp_iters_option = click.option(
    "--bp-iters", default=None, help="Back-projection iterations: N, or one per step 'N,N,...'; 0 = off.")
_base_change_option = click.option(
    "--base-change", default=None, metavar="S[,S...]",
    help="After the step with this isotropic factor, its output becomes the input of the later steps "
         "(which stay relative to the original input), e.g. --steps '2;4' --base-change 2. With --steps and "
         "without this option, no base change.")

_placement_option = click.option(
    "--father-placement", type=click.Choice(["paper", "released"]), default="paper", show_default=True,
    help="paper: fathers are crops inside the (scaled) source; released: the released code's geometry, a "
         "fixed canvas often partly zeros (docs/BENCHMARKS.md), for comparing with that code.")


@main.command()
@click.argument("hr_dir", type=click.Path())
@click.option("--scale", type=int, default=2, show_default=True, help="Integer scale factor.")
@click.option("--method", type=click.Choice(["bicubic", "zssr"]), default="bicubic", show_default=True)
@click.option("--protocol", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True,
              help="rgb: 8-bit RGB LR input, scored on Y; y: the Y channel resized in floating point.")
@click.option("--limit", type=int, default=None, help="Score only the first N images (sorted by name).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Score only this image (file name without extension); repeat for several.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write results as JSON.")
@click.option("--resume", is_flag=True,
              help="With --json: keep the images already in that file, score the rest, and rewrite the file "
                   "after each image; with ZSSR, the image in progress is also kept after each gradual step "
                   "(FILE's name.IMAGE.ckpt beside it), so an interrupted run loses at most the step in progress.")
@click.option("--preset", default="ideal", show_default=True, help="ZSSR preset (with --method zssr).")
@click.option("--max-iters", type=int, default=None, help="ZSSR: cap on training iterations.")
@click.option("--seed", type=int, default=0, show_default=True, help="ZSSR: random seed.")
@click.option("--device", default="auto", show_default=True, help="ZSSR: auto, cpu or cuda.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default="auto", show_default=True,
              help="ZSSR: training precision.")
@_steps_option
@_bp_iters_option
@_base_change_option
@_placement_option
@click.option("--keep-adam-moments", is_flag=True,
              help="ZSSR gradual: carry Adam's moments from one scale step to the next, as the released code "
                   "does (it can stall training: docs/BENCHMARKS.md); by default each step restarts Adam.")
@click.option("--overwrite", is_flag=True, help="Replace the JSON file if it exists.")
@_user_errors
def evaluate(hr_dir: str, scale: int, method: str, protocol: str, limit: int | None, only: tuple[str, ...],
             json_out: str | None, resume: bool, preset: str, max_iters: int | None, seed: int, device: str,
             precision: str, steps: str | None, bp_iters: str | None, base_change: str | None,
             father_placement: str, keep_adam_moments: bool, overwrite: bool) -> None:
    """Score a folder of HR images: mod-crop, make the LR input, upscale with METHOD, score Y-PSNR/SSIM."""
    from .evaluate import (
        bicubic_upscaler,
        iter_scores,
        list_images,
        save_results,
        select_images,
        start_run,
        step_checkpoint_path,
    )

    if scale < 2:
        raise click.BadParameter("scale must be an integer >= 2", param_hint="--scale")
    settings: dict[str, object] = {}
    if method == "zssr":
        # "adam" is part of the settings so that --resume never mixes the two behaviours in one mean
        settings = {"preset": preset, "seed": seed, "max_iters": max_iters,
                    "adam": "kept" if keep_adam_moments else "restart"}
        # a custom schedule is part of the settings too (only when given: older result files stay resumable)
        settings.update({k: v for k, v in (("steps", steps), ("bp_iters", bp_iters), ("base_change", base_change))
                         if v})
        if father_placement != "paper":
            settings["father_placement"] = father_placement
    schedule = {**_schedule(steps, bp_iters, base_change, str(scale)), "father_placement": father_placement}
    if method == "zssr":
        from .api import build_config

        build_config(preset, scale, max_iters, seed, device, precision, **schedule)  # bad settings fail here, not per image
    files = select_images(list_images(hr_dir), only, limit)
    result, todo = start_run(files, scale, method, protocol, settings, json_out, resume, overwrite)
    if resume and len(todo) < len(files):
        click.echo(f"resuming {json_out}: {len(result.images)} image(s) already scored, {len(todo)} to go", err=True)
    with click.progressbar(todo, label=f"{method} x{scale}", file=sys.stderr,
                           item_show_func=lambda f: f.stem if f else "") as bar:
        for f in bar:
            upscaler, ckpt = bicubic_upscaler, None
            if method == "zssr":
                from .api import zssr_upscaler

                # a resumable run also keeps the image in progress, step by step (gradual presets)
                ckpt = step_checkpoint_path(json_out, f.stem) if resume else None  # type: ignore[arg-type]
                upscaler = zssr_upscaler(preset=preset, max_iters=max_iters, seed=seed, device=device,
                                         precision=precision, checkpoint=ckpt,
                                         fresh_optimizer_each_step=not keep_adam_moments, **schedule)
            result.images.extend(iter_scores([f], scale, upscaler, protocol))
            if resume:  # an interrupted run keeps every finished image
                save_results(result, json_out, overwrite=True)  # type: ignore[arg-type]
                if ckpt is not None:
                    ckpt.unlink(missing_ok=True)
    for s in result.images:
        click.echo(f"{s.name:12s} {s.psnr_y:6.2f} dB  {s.ssim_y:.4f}  {s.seconds:7.2f} s")
    if result.images:
        click.echo(f"{'mean':12s} {result.mean_psnr:6.2f} dB  {result.mean_ssim:.4f}")
    if json_out and not resume:
        save_results(result, json_out, overwrite)


def _fit_options(func: F) -> F:
    """Options shared by ``fit`` and ``fit-and-run`` (every paper parameter)."""
    opts = [
        click.option("--scale", default="2", show_default=True, help="Final factor: S or SY,SX (non-integer allowed)."),
        click.option("--preset", type=click.Choice(["ideal", "gradual", "given-kernel", "real"]), default="ideal",
                     show_default=True, help="Released-code configuration to start from."),
        click.option("--kernel", "kernel_path", type=click.Path(dir_okay=False), default=None,
                     help="Blur kernel of the LR image (.mat with Kernel/kernel, .npy, .txt, .csv)."),
        _steps_option,
        _bp_iters_option,
        _base_change_option,
        _placement_option,
        click.option("--no-ensemble", is_flag=True, help="Turn off the 8-way geometric self-ensemble."),
        click.option("--noise-std", type=float, default=None, help="Gaussian noise std added to LR sons."),
        click.option("--crop-size", type=int, default=None, help="HR-father crop side (default 128)."),
        click.option("--max-iters", type=int, default=None, help="Cap on iterations per step (default 3000)."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda."),
        click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default="auto", show_default=True,
                     help="Training precision; auto = bf16 where the hardware has bf16 units, else fp32."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


_checkpoint_option = click.option(
    "--checkpoint", type=click.Path(dir_okay=False), default=None,
    help="Keep the training state in FILE after each gradual step; if FILE exists, resume from it "
         "(same image and settings). Removed once the result is written.")


def _schedule(steps: str | None, bp_iters: str | None, base_change: str | None, scale: str) -> dict[str, object]:
    """ZSSRConfig fields from --steps, --bp-iters and --base-change (empty when none is given)."""
    from .trainers.config import parse_scale

    out: dict[str, object] = {}
    n_steps = 1
    if steps:
        try:
            sched = tuple(parse_scale(part) for part in steps.split(";") if part.strip())
        except ZSSRError as exc:
            raise click.BadParameter(str(exc), param_hint="--steps") from None
        if sched[-1] != parse_scale(scale):
            raise click.BadParameter(f"the last step must equal --scale {scale}", param_hint="--steps")
        out["scale_factors"] = sched
        n_steps = len(sched)
        if not bp_iters:
            out["back_projection_iters"] = tuple([10] * n_steps)
    if bp_iters:
        try:
            vals = tuple(int(v) for v in bp_iters.split(","))
        except ValueError:
            raise click.BadParameter("expected N or N,N,...", param_hint="--bp-iters") from None
        if len(vals) == 1 and steps:
            vals = vals * n_steps
        out["back_projection_iters"] = vals
    if steps:
        out["base_change_scales"] = ()  # an explicit schedule changes base only where --base-change says
    if base_change:
        try:
            out["base_change_scales"] = tuple(float(v) for v in base_change.split(","))
        except ValueError:
            raise click.BadParameter("expected S or S,S,... (isotropic factors of earlier steps)",
                                     param_hint="--base-change") from None
    return out


def _overrides(steps: str | None, bp_iters: str | None, base_change: str | None, father_placement: str,
               no_ensemble: bool, noise_std: float | None, crop_size: int | None, scale: str) -> dict[str, object]:
    out = _schedule(steps, bp_iters, base_change, scale)
    out["father_placement"] = father_placement
    if no_ensemble:
        out["ensemble"] = False
    out["noise_std"] = noise_std
    out["crop_size"] = crop_size
    return out


class _ProgressBar:
    """A tqdm bar over training iterations, showing loss, reconstruction error and learning rate."""

    def __init__(self) -> None:
        self.bar = None
        self.step = -1

    def __call__(self, p) -> None:
        from tqdm import tqdm

        if p.step != self.step:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=p.max_iters, desc=f"step {p.step + 1}/{p.steps}", unit="it", file=sys.stderr,
                            leave=True, dynamic_ncols=True)
            self.step = p.step
        self.bar.update(p.iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{p.loss:.4f}", rec=f"{p.reconstruction_error:.2e}", lr=f"{p.learning_rate:.0e}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command("fit-and-run")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output image path.")
@_fit_options
@click.option("--gt", "gt_path", type=click.Path(dir_okay=False), default=None, help="Ground truth: report PSNR/SSIM.")
@click.option("--save-model", type=click.Path(dir_okay=False), default=None, help="Also keep the exported ONNX model.")
@click.option("--tile", type=int, default=None, help="Final inference in tiles of N LR pixels (bounded memory).")
@click.option("--provider", type=click.Choice(["auto", "cpu", "cuda", "tensorrt"]), default="auto", show_default=True,
              help="ONNX Runtime provider for the final inference.")
@click.option("--engine", type=click.Choice(["onnx", "torch"]), default="onnx", show_default=True,
              help="Final inference through the exported ONNX graph (default) or the torch module.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT (and --save-model) if they exist.")
@_checkpoint_option
@_user_errors
def fit_and_run(input_path: str, output: str, scale: str, preset: str, kernel_path: str | None, steps: str | None,
                bp_iters: str | None, base_change: str | None, father_placement: str, no_ensemble: bool,
                noise_std: float | None, crop_size: int | None,
                max_iters: int | None, seed: int, device: str, precision: str, gt_path: str | None,
                save_model: str | None, tile: int | None, provider: str, engine: str, overwrite: bool,
                checkpoint: str | None) -> None:
    """Fit ZSSR to INPUT and write its super-resolved version to OUTPUT."""
    from .api import upscale_image

    bar, tiles = _ProgressBar(), _TileBar()
    try:
        report = upscale_image(input_path, output, scale=scale, preset=preset, kernel_path=kernel_path,
                               max_iters=max_iters, seed=seed, device=device, precision=precision, gt_path=gt_path,
                               overwrite=overwrite, progress=bar, engine=engine, save_model=save_model, tile=tile,
                               provider=provider, tile_progress=tiles, checkpoint=checkpoint,
                               **_overrides(steps, bp_iters, base_change, father_placement, no_ensemble, noise_std, crop_size,
                                             scale))
    finally:
        bar.close()
        tiles.close()
    drops = sum(len(d) for d in report.learning_rate_drops)
    click.echo(f"wrote {report.output_path}: {sum(report.iterations)} iterations "
               f"({', '.join(map(str, report.iterations))} per step), {drops} learning-rate drops, "
               f"{report.seconds:.1f} s on {report.device} ({report.precision}); "
               f"inference: {', '.join(report.providers)}")
    if report.model_path:
        click.echo(f"model: {report.model_path}")
    if report.psnr is not None:
        click.echo(f"against --gt: Y-PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.4f}")


class _TileBar:
    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc="tiles", unit="tile", file=sys.stderr, dynamic_ncols=True)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _parse_shape(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        h, w = (int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected H,W", param_hint="--static-shape") from None
    return h, w


@main.command("fit")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model path (.onnx).")
@_fit_options
@click.option("--static-shape", default=None, help="Fixed input size H,W (tiles for TensorRT / CUDA graphs).")
@click.option("--network-only", is_flag=True, help="Export the network alone instead of the whole pipeline.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@_checkpoint_option
@_user_errors
def fit_cmd(input_path: str, output: str, scale: str, preset: str, kernel_path: str | None, steps: str | None,
            bp_iters: str | None, base_change: str | None, father_placement: str, no_ensemble: bool,
            noise_std: float | None, crop_size: int | None,
            max_iters: int | None, seed: int, device: str, precision: str, static_shape: str | None,
            network_only: bool, overwrite: bool, checkpoint: str | None) -> None:
    """Fit ZSSR to INPUT and export the image-specific inference to an ONNX model."""
    from .api import fit_model

    bar = _ProgressBar()
    try:
        path, iters, seconds = fit_model(input_path, output, scale=scale, preset=preset, kernel_path=kernel_path,
                                         max_iters=max_iters, seed=seed, device=device, precision=precision,
                                         overwrite=overwrite, progress=bar, static_shape=_parse_shape(static_shape),
                                         network_only=network_only, checkpoint=checkpoint,
                                         **_overrides(steps, bp_iters, base_change, father_placement, no_ensemble,
                                                      noise_std, crop_size, scale))
    finally:
        bar.close()
    click.echo(f"wrote {path}: {sum(iters)} iterations, {seconds:.1f} s")


@main.command("run")
@click.argument("model", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output image path.")
@click.option("--tile", type=int, default=None, help="Tiles of N LR pixels (bounded memory); halo from the model.")
@click.option("--provider", type=click.Choice(["auto", "cpu", "cuda", "tensorrt"]), default="auto", show_default=True)
@click.option("--fp16", is_flag=True, help="TensorRT: build fp16 engines.")
@click.option("--trt-cache", type=click.Path(file_okay=False), default=None, help="TensorRT engine-cache directory.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@_user_errors
def run_cmd(model: str, input_path: str, output: str, tile: int | None, provider: str, fp16: bool,
            trt_cache: str | None, overwrite: bool) -> None:
    """Super-resolve INPUT with an exported MODEL through ONNX Runtime."""
    from .api import run_model

    tiles = _TileBar()
    try:
        path, providers = run_model(model, input_path, output, tile=tile, provider=provider, fp16=fp16,
                                    trt_cache_dir=trt_cache, overwrite=overwrite, tile_progress=tiles)
    finally:
        tiles.close()
    click.echo(f"wrote {path} ({', '.join(providers)})")


if __name__ == "__main__":  # pragma: no cover
    main()
