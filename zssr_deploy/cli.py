"""The ``zssr-deploy`` command line. It parses options, calls library functions and prints; nothing else.

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
from .console import ProgressBars
from .errors import ZSSRError
from .trainers.config import PRESETS, ZSSRConfig

F = Callable[..., Any]
_PROVIDERS = click.Choice(["auto", "cpu", "cuda", "tensorrt"])


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


def _options(*opts: F) -> F:
    def apply(func: F) -> F:
        for opt in reversed(opts):
            func = opt(func)
        return func
    return apply


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


# Options of every fit; their defaults are ZSSRConfig's (None here: "not given").
_training_options = _options(
    click.option("--steps", default=None, help="Gradual steps 'SY,SX;SY,SX;...' (relative to the input)."),
    click.option("--bp-iters", default=None, help="Back-projection iterations: N, or one per step 'N,N,...'; 0 = off."),
    click.option("--base-change", default=None, metavar="S[,S...]",
                 help="After the step with this isotropic factor, its output becomes the input of the later steps "
                      "(which stay relative to the original input), e.g. --steps '2;4' --base-change 2. With --steps "
                      "and without this option, no base change."),
    click.option("--father-placement", type=click.Choice(["paper", "released"]), default=None,
                  help="paper (default): fathers are crops inside the (scaled) source; released: the released code's "
                       "geometry, a fixed canvas often partly zeros (docs/BENCHMARKS.md), for comparing with that code."),
    click.option("--max-iters", type=int, default=None, help=f"Cap on iterations per step [default: {ZSSRConfig.max_iters}]."),
    click.option("--seed", type=int, default=ZSSRConfig.seed, show_default=True, help="Random seed."),
    click.option("--device", default=None, help=f"auto, cpu or cuda [default: {ZSSRConfig.device}]."),
    click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default=None,
                 help=f"Training precision [default: {ZSSRConfig.precision}: bf16 where the hardware has bf16 units]."),
    click.option("--kernel-phase", type=click.Choice(["zssr", "centered"]), default=None,
                 help="How a kernel is re-centred: zssr (default; DIV2KRK-style data) or centered (LR made with a "
                      "centred kernel, rows 0, s, 2s: MZSR's convention)."),
)

_fit_options = _options(
    click.option("--scale", default="2", show_default=True, help="Final factor: S or SY,SX (non-integer allowed)."),
    click.option("--preset", type=click.Choice(sorted(PRESETS)), default="ideal", show_default=True,
                 help="Released-code configuration to start from."),
    click.option("--kernel", "kernel_path", type=click.Path(dir_okay=False), default=None,
                 help="Blur kernel of the LR image (.mat with Kernel/kernel, .npy, .txt, .csv), or 'estimate' to "
                      "estimate it from INPUT first (experimental: docs/BENCHMARKS.md, blind SR)."),
    _training_options,
    click.option("--no-ensemble", is_flag=True, help="Turn off the 8-way geometric self-ensemble."),
    click.option("--noise-std", type=float, default=None, help="Gaussian noise std added to LR sons."),
    click.option("--crop-size", type=int, default=None, help=f"HR-father crop side [default: {ZSSRConfig.crop_size}]."),
    click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
                 help="Keep the training state in FILE after each gradual step; if FILE exists, resume from it "
                      "(same image and settings). Removed once the result is written."),
)


def _config(opts: dict[str, Any]) -> ZSSRConfig:
    """The one ZSSRConfig of a command, from (and popped out of) its options."""
    from .trainers.config import build_config

    keys = ("steps", "bp_iters", "base_change", "father_placement", "max_iters", "seed", "device", "precision",
            "noise_std", "crop_size", "kernel_phase")
    fields = {k: opts.pop(k, None) for k in keys}
    if opts.pop("no_ensemble", False):
        fields["ensemble"] = False
    if "keep_adam_moments" in opts:
        fields["fresh_optimizer_each_step"] = not opts.pop("keep_adam_moments")
    return build_config(opts.pop("preset"), opts.pop("scale"), **fields)


@main.command()
@click.argument("hr_dir", type=click.Path())
@click.option("--scale", type=click.IntRange(min=2), default=2, show_default=True, help="Integer scale factor.")
@click.option("--method", type=click.Choice(["bicubic", "zssr"]), default="bicubic", show_default=True)
@click.option("--protocol", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True,
              help="rgb: 8-bit RGB LR input, scored on Y; y: the Y channel resized in floating point.")
@click.option("--limit", type=int, default=None, help="Score only the first N images (sorted by name).")
@click.option("--only", multiple=True, metavar="NAME", help="Score only this image (name without extension); repeatable.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write results as JSON.")
@click.option("--resume", is_flag=True,
              help="With --json: keep the images already in that file, score the rest, and rewrite the file "
                   "after each image; with ZSSR, the image in progress is also kept after each gradual step "
                   "(FILE's name.IMAGE.ckpt beside it), so an interrupted run loses at most the step in progress.")
@click.option("--preset", default="ideal", show_default=True, help="ZSSR preset (with --method zssr).")
@click.option("--lr", "lr_dir", type=click.Path(file_okay=False), default=None,
              help="Score these LR images (NAME.png, made by 'zssr-deploy degrade') instead of making them.")
@click.option("--kernel", type=click.Choice(["none", "true", "estimate"]), default="none", show_default=True,
              help="ZSSR's kernel: none (assume bicubic), true (NAME.kernel.npy beside each LR image) or estimate.")
@_training_options
@click.option("--keep-adam-moments", is_flag=True,
              help="ZSSR gradual: carry Adam's moments from one scale step to the next, as the released code "
                   "does (it can stall training: docs/BENCHMARKS.md); by default each step restarts Adam.")
@click.option("--overwrite", is_flag=True, help="Replace the JSON file if it exists.")
@_user_errors
def evaluate(hr_dir: str, method: str, json_out: str | None, **opts: Any) -> None:
    """Score a folder of HR images: mod-crop, make the LR input, upscale with METHOD, score Y-PSNR/SSIM."""
    from .api import ZSSRUpscaler
    from .datasets import kernels_for
    from .evaluate import FolderEvaluation, bicubic_upscaler, zssr_settings

    scale, typed = opts["scale"], {k: opts[k] for k in ("preset", "max_iters", "steps", "bp_iters", "base_change")}
    cfg = _config(opts) if method == "zssr" else None  # bad settings fail here, before any image
    settings = zssr_settings(cfg, **typed, kernel=opts["kernel"]) if cfg is not None else {}
    settings.update({"lr": opts["lr_dir"]} if opts["lr_dir"] else {})  # another LR folder is another run
    run = FolderEvaluation(hr_dir, scale, method, opts["protocol"], opts["only"], opts["limit"], settings,
                           json_out, opts["resume"], opts["overwrite"], opts["lr_dir"])
    if run.resumed:
        click.echo(f"resuming {json_out}: {len(run.result.images)} image(s) already scored, {len(run.todo)} to go", err=True)
    def upscaler(name, ckpt):
        return bicubic_upscaler if cfg is None else ZSSRUpscaler(cfg, ckpt, **kernels_for(opts["lr_dir"], name, opts["kernel"]))

    with ProgressBars() as bars:
        result = run.run(upscaler, bars.images(len(run.todo), f"{method} x{scale}"))
    for s in result.images:
        click.echo(f"{s.name:12s} {s.psnr_y:6.2f} dB  {s.ssim_y:.4f}  {s.seconds:7.2f} s")
    if result.images:
        click.echo(f"{'mean':12s} {result.mean_psnr:6.2f} dB  {result.mean_ssim:.4f}")


@main.command("fit-and-run")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output image path.")
@_fit_options
@click.option("--gt", "gt_path", type=click.Path(dir_okay=False), default=None, help="Ground truth: report PSNR/SSIM.")
@click.option("--save-model", type=click.Path(dir_okay=False), default=None, help="Also keep the exported ONNX model.")
@click.option("--tile", type=int, default=None, help="Final inference in tiles of N LR pixels (bounded memory).")
@click.option("--provider", type=_PROVIDERS, default="auto", show_default=True, help="ONNX Runtime provider.")
@click.option("--engine", type=click.Choice(["onnx", "torch"]), default="onnx", show_default=True,
              help="Final inference through the exported ONNX graph (default) or the torch module.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT (and --save-model) if they exist.")
@_user_errors
def fit_and_run(input_path: str, output: str, **opts: Any) -> None:
    """Fit ZSSR to INPUT and write its super-resolved version to OUTPUT."""
    from .api import Callbacks, Inference, upscale_image

    cfg = _config(opts)
    inference = Inference(opts.pop("engine"), opts.pop("provider"), opts.pop("tile"))
    with ProgressBars() as bars:
        r = upscale_image(input_path, output, cfg, inference=inference,
                          callbacks=Callbacks(bars.progress, tiles=bars.tiles, kernel=bars.kernel), **opts)
    if r.kernel is not None:
        click.echo(f"kernel: {r.kernel['source']}, confidence {r.kernel['confidence']:.2f}, {r.kernel['seconds']:.1f} s"
                   + (f" ({r.kernel['reason']})" if r.kernel["reason"] else ""))
    drops = sum(len(d) for d in r.learning_rate_drops)
    click.echo(f"wrote {r.output_path}: {sum(r.iterations)} iterations ({', '.join(map(str, r.iterations))} per step), "
               f"{drops} learning-rate drops, {r.seconds:.1f} s on {r.device} ({r.precision}); "
               f"inference: {', '.join(r.providers)}")
    if r.model_path:
        click.echo(f"model: {r.model_path}")
    if r.psnr is not None:
        click.echo(f"against --gt: Y-PSNR {r.psnr:.2f} dB, SSIM {r.ssim:.4f}")


def _pair_of_ints(value: str | None, option: str) -> tuple[int, int] | None:
    try:
        return None if not value else tuple(int(v) for v in value.split(","))  # type: ignore[return-value]
    except ValueError:
        raise click.BadParameter("expected H,W", param_hint=option) from None


@main.command("fit")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model path (.onnx).")
@_fit_options
@click.option("--static-shape", default=None, callback=lambda c, p, v: _pair_of_ints(v, "--static-shape"),
              help="Fixed input size H,W (tiles for TensorRT / CUDA graphs).")
@click.option("--network-only", is_flag=True, help="Export the network alone instead of the whole pipeline.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@_user_errors
def fit_cmd(input_path: str, output: str, **opts: Any) -> None:
    """Fit ZSSR to INPUT and export the image-specific inference to an ONNX model."""
    from .api import Callbacks, fit_model

    cfg = _config(opts)
    with ProgressBars() as bars:
        path, iters, seconds = fit_model(input_path, output, cfg, callbacks=Callbacks(bars.progress, kernel=bars.kernel),
                                         **opts)
    click.echo(f"wrote {path}: {sum(iters)} iterations, {seconds:.1f} s")


@main.command("run")
@click.argument("model", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output image path.")
@click.option("--tile", type=int, default=None, help="Tiles of N LR pixels (bounded memory); halo from the model.")
@click.option("--provider", type=_PROVIDERS, default="auto", show_default=True)
@click.option("--fp16", is_flag=True, help="TensorRT: build fp16 engines.")
@click.option("--trt-cache", type=click.Path(file_okay=False), default=None, help="TensorRT engine-cache directory.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@_user_errors
def run_cmd(model: str, input_path: str, output: str, trt_cache: str | None, **opts: Any) -> None:
    """Super-resolve INPUT with an exported MODEL through ONNX Runtime."""
    from .api import run_model

    with ProgressBars() as bars:
        path, providers = run_model(model, input_path, output, trt_cache_dir=trt_cache, tile_progress=bars.tiles, **opts)
    click.echo(f"wrote {path} ({', '.join(providers)})")


@main.command("estimate-kernel")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="kernel.npy or kernel.mat")
@click.option("--scale", default="2", show_default=True, help="Factor the image was downscaled by: S or SY,SX.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--png", type=click.Path(dir_okay=False), default=None, help="Also write a magnified picture of it.")
@click.option("--overwrite", is_flag=True, help="Replace the outputs if they exist.")
@_user_errors
def estimate_kernel_cmd(input_path: str, output: str, **opts: Any) -> None:
    """Estimate the blur kernel that downscaled INPUT, from INPUT alone."""
    from .api import estimate_kernel_file

    with ProgressBars() as bars:
        found = estimate_kernel_file(input_path, output, progress=bars.kernel, **opts)
    what = "bicubic (" + found.reason + ")" if found.kernel is None else "estimated"
    click.echo(f"wrote {output}: {what}, confidence {found.confidence:.2f}, {found.seconds:.1f} s")


@main.command()
@click.argument("hr_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Existing folder.")
@click.option("--scale", type=click.Choice(["2", "4"]), default="2", show_default=True)
@click.option("--kernels", type=click.Choice(["random"]), default="random", show_default=True,
              help="random: DIV2KRK's recipe (x2: 11x11, variances U(0.6, 5), 25 % tap noise; x4: applied twice).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@_user_errors
def degrade(hr_dir: str, out_dir: str, scale: str, kernels: str, seed: int, overwrite: bool) -> None:
    """Make blind-SR data: each HR image degraded with its own random kernel (LR PNG + true kernel)."""
    from .datasets import degrade_folder

    names = degrade_folder(hr_dir, out_dir, int(scale), seed, overwrite=overwrite)
    click.echo(f"wrote {len(names)} LR images and their kernels to {out_dir} (x{scale}, seed {seed})")
