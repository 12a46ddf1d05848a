"""The ``zssr-deploy`` command line. It parses options, calls library functions and prints; nothing else.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..compute import Compute
from ..errors import ConfigError
from ..results import Comparison, EvalResult
from .app import PROVIDERS, main, user_errors
from .console import ProgressBars, estimate_summary, kernel_finding
from .options import (
    compute_from,
    config_from,
    estimation_from,
    fit_options,
    kernel_estimation_options,
    kernel_from,
    scale_option,
    training_options,
)


def integer_scale(text: str, allowed: tuple[int, ...] | None = None) -> int:
    """``--scale`` where a command takes whole factors only (the scoring protocol's mod-crop, the blind-SR
    recipe); a :class:`ConfigError` naming the option otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or value < 2 or (allowed is not None and int(value) not in allowed):
        want = " or ".join(map(str, allowed)) if allowed else "a whole number, at least 2"
        raise ConfigError(f"--scale must be {want} here, got {text!r}")
    return int(value)


@main.command()
def info() -> None:
    """Package, torch and ONNX Runtime versions; available providers; torch device."""
    from ..info import environment_info

    for key, value in environment_info().items():
        click.echo(f"{key}: {value}")


@main.command()
@click.argument("name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the PNG.")
@click.option("--size", type=int, default=None, help="Centred square crop of this many pixels.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@user_errors
def sample(name: str, output: str, size: int | None, overwrite: bool) -> None:
    """Write a sample photo bundled with scikit-image (astronaut, camera, chelsea, coffee, rocket)."""
    from ..io import write_image
    from ..samples import load_sample

    write_image(output, load_sample(name, size), overwrite=overwrite)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("hr_dir", type=click.Path())
@scale_option(help="Whole scale factor (2, 3, 4...).")
@click.option("--upscaler", type=click.Choice(["bicubic", "zssr"]), default="bicubic", show_default=True,
              help="What upscales the LR images: MATLAB bicubic, or a ZSSR fit per image.")
@click.option("--protocol", type=click.Choice(["rgb", "y"]), default="rgb", show_default=True,
              help="rgb: 8-bit RGB LR input, scored on Y; y: the Y channel resized in floating point.")
@click.option("--limit", type=int, default=None, help="Score only the first N images (sorted by name).")
@click.option("--only", multiple=True, metavar="NAME", help="Score only this image (name without extension); repeatable.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write results as JSON.")
@click.option("--resume", is_flag=True,
              help="With --json: keep the images already in that file, score the rest, and rewrite the file "
                   "after each image; with ZSSR, the image in progress is also kept after each gradual step "
                   "(FILE's name.IMAGE.ckpt beside it), so an interrupted run loses at most the step in progress.")
@click.option("--preset", default="ideal", show_default=True, help="ZSSR preset (with --upscaler zssr).")
@click.option("--lr", "lr_dir", type=click.Path(file_okay=False), default=None,
              help="Score these LR images (NAME.png, made by 'zssr-deploy degrade') instead of making them.")
@click.option("--kernel", type=click.Choice(["none", "true", "estimate"]), default="none", show_default=True,
              help="ZSSR's kernel: none (assume bicubic), true (NAME.kernel.npy beside each LR image) or estimate.")
@kernel_estimation_options
@training_options
@click.option("--keep-adam-moments", is_flag=True,
              help="ZSSR gradual: carry Adam's moments from one scale step to the next, as the released code "
                   "does (it can stall training: docs/benchmarks/quality.md, Set5 x2 gradual); by default each step "
                   "restarts Adam.")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None,
              help="A results JSON of an earlier run on the same images (e.g. --kernel none, the bicubic assumption): "
                   "the run ends with how many images gained and lost against it.")
@click.option("--overwrite", is_flag=True, help="Replace the JSON file if it exists.")
@user_errors
def evaluate(hr_dir: str, upscaler: str, json_out: str | None, **opts: Any) -> None:
    """Score a folder of HR images: mod-crop, make the LR input, upscale with UPSCALER, score Y-PSNR/SSIM."""
    from ..blind.datasets import kernels_for
    from ..evaluate import FolderEvaluation, ResultsFile, ZSSRUpscaler, bicubic_upscaler, zssr_settings
    from ..results import compare_runs, read_results

    scale, typed = integer_scale(opts["scale"]), {k: opts[k] for k in ("preset", "max_iters", "steps", "bp_iters", "base_change")}
    if upscaler == "bicubic":
        _bicubic_only(opts)
    compute = compute_from(opts)
    cfg = config_from(opts, compute) if upscaler == "zssr" else None  # bad settings fail here, before any image
    estimation = estimation_from(opts, cfg.seed, cfg.device) if cfg is not None else None
    if cfg is not None:
        from ..trainers.config import check_kernel_preset

        check_kernel_preset(cfg, opts["kernel"] != "none")
    settings = zssr_settings(cfg, **typed, kernel=opts["kernel"], estimator=estimation.method) if cfg is not None else {}
    settings.update({"lr": opts["lr_dir"]} if opts["lr_dir"] else {})  # another LR folder is another run
    baseline = read_results(opts["baseline"]) if opts["baseline"] else None
    if baseline is not None:  # comparable (scale, protocol) before any image
        compare_runs(EvalResult(scale, upscaler, opts["protocol"]), baseline)
    run = FolderEvaluation(hr_dir, scale=scale, method=upscaler, protocol=opts["protocol"], only=opts["only"],
                           limit=opts["limit"], settings=settings, lr_dir=opts["lr_dir"],
                           results=ResultsFile(path=json_out, resume=opts["resume"], overwrite=opts["overwrite"]))
    if run.resumed:
        click.echo(f"resuming {json_out}: {len(run.result.images)} image(s) already scored, {len(run.todo)} to go", err=True)

    if cfg is not None and opts["kernel"] == "true":  # every true kernel read and checked before the first fit
        for f in run.todo:
            kernels_for(opts["lr_dir"], f.stem, opts["kernel"], estimation)

    def make(name, ckpt):
        if cfg is None:
            return bicubic_upscaler
        kernel, truth = kernels_for(opts["lr_dir"], name, opts["kernel"], estimation)
        return ZSSRUpscaler(cfg, ckpt, kernel=kernel, true_kernel=truth, compute=compute)

    with ProgressBars() as bars:
        result = run.run(make, bars.images(len(run.todo), f"{upscaler} x{scale}"))
    for s in result.images:
        click.echo(f"{s.name:12s} {s.psnr_y:6.2f} dB  {s.ssim_y:.4f}  {s.seconds:7.2f} s")
    if result.images:
        click.echo(f"{'mean':12s} {result.mean_psnr:6.2f} dB  {result.mean_ssim:.4f}")
    estimates = estimate_summary(result)
    if estimates:
        click.echo(estimates + ("" if baseline is not None else
                                "; add --baseline RESULTS.json (a --kernel none run) for gains and losses against it"))
    if baseline is not None:
        click.echo(_against(opts["baseline"], compare_runs(result, baseline)))


def _against(path: str, c: Comparison) -> str:
    """The closing line of a run compared with its baseline."""
    worst = f"; worst {c.worst[0]} {c.worst[1]:+.2f} dB" if c.worst is not None else ""
    missing = f"; {len(c.missing)} not in the baseline" if c.missing else ""
    return f"against {path}: {len(c.gained)} gained, {len(c.lost)} lost, {len(c.same)} the same{worst}{missing}"


def _bicubic_only(opts: dict[str, Any]) -> None:
    """``--upscaler bicubic`` fits nothing: ZSSR's options would be silently ignored, so they are refused."""
    zssr_only = [f"--{k.replace('_', '-')}" for k in ("kernel_estimator", "kernel_iters", "max_kernel_variance", "steps",
                                                          "bp_iters", "base_change", "max_iters") if opts.get(k) is not None]
    zssr_only += ["--kernel"] if opts["kernel"] != "none" else []
    zssr_only += ["--preset"] if opts["preset"] != "ideal" else []
    if zssr_only:
        verb = "apply" if len(zssr_only) > 1 else "applies"
        raise ConfigError(f"{', '.join(zssr_only)} {verb} to --upscaler zssr, not to bicubic")


def _pair_of_ints(value: str | None, option: str) -> tuple[int, int] | None:
    try:
        pair = None if not value else tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected H,W", param_hint=option) from None
    if pair is not None and (len(pair) != 2 or min(pair) < 8):  # no graph takes fewer than 8 pixels a side
        raise click.BadParameter(f"expected H,W of at least 8 pixels each, got {value!r}", param_hint=option)
    return pair  # type: ignore[return-value]


@main.command("fit")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model path (.onnx).")
@fit_options
@click.option("--static-shape", default=None, callback=lambda c, p, v: _pair_of_ints(v, "--static-shape"),
              help="Fixed input size H,W (tiles for TensorRT / CUDA graphs).")
@click.option("--network-only", is_flag=True, help="Export the network alone instead of the whole pipeline.")
@click.option("--fp16", is_flag=True, help="Export the pipeline with its network in float16 (float32 in and out): "
                                           "for the CUDA provider.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@user_errors
def fit_cmd(input_path: str, output: str, **opts: Any) -> None:
    """Fit ZSSR to INPUT and export the image-specific inference to an ONNX model."""
    from ..api import Callbacks, fit_model
    from ..journey import ModelExport

    compute = compute_from(opts)
    cfg = config_from(opts, compute)
    kernel = kernel_from(opts, cfg)
    export = ModelExport(**{k: opts.pop(k) for k in ("static_shape", "network_only", "fp16")})
    with ProgressBars() as bars:
        path, iters, seconds = fit_model(input_path, output, cfg, kernel=kernel, export=export, compute=compute,
                                         callbacks=Callbacks(progress=bars.progress, kernel=bars.kernel), **opts)
    click.echo(f"wrote {path}: {sum(iters)} iterations, {seconds:.1f} s")


@main.command("run")
@click.argument("model", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output image path; for a folder or glob INPUT, an output folder (its tree mirrors INPUT's).")
@click.option("--tile", type=int, default=None,
              help="Tiles of N LR pixels (halo from the model) [default: as large as the free memory and "
                   "cuDNN's tensor limit allow].")
@click.option("--provider", type=PROVIDERS, default="auto", show_default=True)
@click.option("--fp16", is_flag=True, help="TensorRT: build fp16 engines.")
@click.option("--trt-cache", type=click.Path(file_okay=False), default=None, help="TensorRT engine-cache directory.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads [default: all cores].")
@click.option("--gpu", type=click.IntRange(min=0), default=None, help="GPU index (CUDA/TensorRT) [default: 0].")
@click.option("-r", "--recursive", is_flag=True, help="Folder INPUT: take sub-folders too (and '**' in a glob).")
@click.option("--suffix", default="", help="Folder INPUT: added to each output's name.")
@click.option("--ext", type=click.Choice(["keep", "png", "tif"]), default="keep", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@user_errors
def run_cmd(model: str, input_path: str, output: str, trt_cache: str | None, **opts: Any) -> None:
    """Super-resolve INPUT (an image, a folder or a quoted glob) with an exported MODEL through ONNX Runtime."""
    from ..batch import is_batch_input
    from ..batch.inference import run_model_batch
    from ..runtime.run import Inference, run_model

    batch = {k: opts.pop(k) for k in ("recursive", "suffix", "ext")}
    compute = Compute(gpu=opts.pop("gpu"), threads=opts.pop("threads"))
    inference = Inference(provider=opts.pop("provider"), tile=opts.pop("tile"), compute=compute, fp16=opts.pop("fp16"),
                          trt_cache_dir=trt_cache)
    if not (is_batch_input(input_path) or batch["recursive"]):
        with ProgressBars() as bars:
            path, providers = run_model(model, input_path, output, inference, opts["overwrite"], bars.tiles)
        click.echo(f"wrote {path} ({', '.join(providers)})")
        return

    def report(o) -> None:
        click.echo(f"{o.image}: " + (f"error: {o.error}" if o.error else f"wrote {o.output}"), err=True)

    _, outcomes = run_model_batch(model, input_path, output, inference=inference, on_image=report, **opts, **batch)
    failed = sum(bool(o.error) for o in outcomes)
    click.echo(f"{len(outcomes) - failed} written, {failed} failed")
    if failed:
        sys.exit(1)


@main.command("estimate-kernel")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="kernel.npy or kernel.mat")
@scale_option(help="Factor the image was downscaled by: S or SY,SX.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True,
              help="auto, cpu or cuda[:N]: where the estimator runs (a fit's --kernel estimate runs it where the fit runs).")
@click.option("--png", type=click.Path(dir_okay=False), default=None, help="Also write a magnified picture of it.")
@kernel_estimation_options
@click.option("--overwrite", is_flag=True, help="Replace the outputs if they exist.")
@user_errors
def estimate_kernel_cmd(input_path: str, output: str, scale: str, seed: int, device: str, **opts: Any) -> None:
    """Estimate the blur kernel that downscaled INPUT, from INPUT alone."""
    from ..blind.estimate import estimate_kernel_file
    from ..trainers.config import parse_scale

    settings = estimation_from(opts, seed, Compute.parse(device).torch_device)
    with ProgressBars() as bars:
        found = estimate_kernel_file(input_path, output, parse_scale(scale), settings, progress=bars.kernel, **opts)
    what = "bicubic (" + found.reason + ")" if found.kernel is None else "estimated"
    click.echo(f"wrote {output}: {what} ({kernel_finding(found.summary())}), {found.seconds:.1f} s")


@main.command()
@click.argument("hr_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Existing folder.")
@scale_option(help="2 or 4 (DIV2KRK's x4 is its x2 recipe applied twice).")
@click.option("--kernels", type=click.Choice(["random"]), default="random", show_default=True,
              help="random: DIV2KRK's recipe (x2: 11x11, variances U(0.6, 5), 25 % tap noise; x4: applied twice).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@user_errors
def degrade(hr_dir: str, out_dir: str, scale: str, kernels: str, seed: int, overwrite: bool) -> None:
    """Make blind-SR data: each HR image degraded with its own random kernel (LR PNG + true kernel)."""
    from ..blind.datasets import degrade_folder

    names = degrade_folder(hr_dir, out_dir, integer_scale(scale, (2, 4)), seed, overwrite=overwrite)
    click.echo(f"wrote {len(names)} LR images and their kernels to {out_dir} (x{scale}, seed {seed})")
