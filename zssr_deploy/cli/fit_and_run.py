"""``zssr-deploy fit-and-run``: one image, or a folder or glob of them as a resumable batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from .app import PROVIDERS, SectionedCommand, main, options, user_errors
from .console import BatchBars, ProgressBars, kernel_finding, say
from .options import compute_from, config_from, fit_options, kernel_from

_batch_options = options(
    click.option("-r", "--recursive", is_flag=True,
                 help="Batch: take sub-folders too (and '**' in a glob); symlinks are followed, each file taken once."),
    click.option("--suffix", default=None,
                 help="Batch: added to each output's name [default: none; _x<scale> when -o is the input folder]."),
    click.option("--ext", type=click.Choice(["keep", "png", "tif"]), default="keep", show_default=True,
                 help="Batch: output format."),
    click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Batch: images fitted at once, each in its own process, the threads divided between them."),
    click.option("--pack", type=click.IntRange(min=1), default=None,
                 help="Batch: images fitted together, their networks in shared kernels (fast on a GPU, which one "
                      "fit leaves idle) [default: on a GPU as many as its memory takes, on the CPU 1]."),
    click.option("--cluster", default=None, metavar="ray|ray://HOST:PORT",
                 help="Batch: run each image as a task on a Ray cluster (RAY_ADDRESS, or a running local one). "
                      "Needs pip install 'zssr-deploy[cluster]'."),
    click.option("--cpus-per-task", type=float, default=1.0, show_default=True, help="Ray: CPUs per image."),
    click.option("--gpus-per-task", type=float, default=0.0, show_default=True, help="Ray: GPUs per image."),
    click.option("--report", type=click.Path(dir_okay=False), default=None,
                 help="Batch: also write a self-contained HTML report (crops, curves, kernels, scores)."),
)


@main.command("fit-and-run", cls=SectionedCommand)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output image path; for a folder or glob INPUT, an output folder (its tree mirrors INPUT's).")
@fit_options
@click.option("--gt", "gt_path", type=click.Path(), default=None,
              help="Ground truth (a folder of them, matched by name, for a batch): report PSNR/SSIM.")
@click.option("--save-model", type=click.Path(dir_okay=False), default=None, help="Also keep the exported ONNX model.")
@click.option("--tile", type=int, default=None,
              help="Final inference in tiles of N LR pixels [default: as large as the free memory and "
                   "cuDNN's tensor limit allow].")
@click.option("--provider", type=PROVIDERS, default="auto", show_default=True, help="ONNX Runtime provider.")
@click.option("--engine", type=click.Choice(["onnx", "torch"]), default="onnx", show_default=True,
              help="Final inference through the exported ONNX graph (default) or the torch module.")
@click.option("--fp16", is_flag=True,
              help="Final inference with the network in half precision: a float16 graph for the CUDA provider "
                   "(float32 in and out; resizes, ensemble and back-projection stay float32; the CPU provider keeps "
                   "float32); the torch engine in float16 on a GPU, bfloat16 on the CPU.")
@_batch_options
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT (and --save-model) if they exist.")
@user_errors
def fit_and_run(input_path: str, output: str, **opts: Any) -> None:
    """Fit ZSSR to INPUT (an image, a folder or a quoted glob) and write its super-resolved version to OUTPUT."""
    from ..batch import is_batch_input
    from ..runtime.run import Inference

    compute = compute_from(opts)
    cfg = config_from(opts, compute)
    inference = Inference(engine=opts.pop("engine"), provider=opts.pop("provider"), tile=opts.pop("tile"),
                          compute=compute, fp16=opts.pop("fp16"))
    if is_batch_input(input_path) or opts["recursive"]:
        _batch(input_path, output, cfg, inference, opts)
    else:
        _single(input_path, output, cfg, inference, opts)


fit_and_run.sections = (  # type: ignore[attr-defined]
    ("Input and output", ("output", "scale", "gt_path", "save_model", "overwrite")),
    ("Kernel", ("kernel_path", "kernel_estimator", "kernel_iters", "max_kernel_variance", "kernel_phase")),
    ("Training", ("preset", "steps", "bp_iters", "base_change", "father_placement", "max_iters", "seed", "no_ensemble",
                  "noise_std", "crop_size", "precision", "checkpoint")),
    ("Device", ("device", "gpu", "threads", "cuda_graphs")),
    ("Inference", ("engine", "fp16", "provider", "tile")),
    ("Batch (a folder or glob INPUT) and cluster", ("recursive", "suffix", "ext", "jobs", "pack", "report", "cluster",
                                                     "cpus_per_task", "gpus_per_task")),
)


def _single(input_path: str, output: str, cfg, inference, opts: dict[str, Any]) -> None:
    from ..api import Callbacks, upscale_image

    batch_only = [f"--{k.replace('_', '-')}" for k in ("suffix", "report", "cluster", "pack") if opts[k]] + (
        ["--jobs"] if opts["jobs"] > 1 else []) + (["--ext"] if opts["ext"] != "keep" else [])
    if batch_only:
        raise ConfigError(f"{', '.join(batch_only)} apply to a folder or glob INPUT, not to one image")
    keep = ("gt_path", "save_model", "overwrite", "checkpoint")
    kernel = kernel_from(opts, cfg)
    with ProgressBars() as bars:
        r = upscale_image(input_path, output, cfg, kernel=kernel, inference=inference,
                          callbacks=Callbacks(progress=bars.progress, tiles=bars.tiles, kernel=bars.kernel, phase=bars.phase),
                          **{k: opts[k] for k in keep})
    if r.kernel is not None:
        click.echo(f"kernel: {r.kernel.source} ({kernel_finding(r.kernel)}), {r.kernel.seconds:.1f} s"
                   + (f" ({r.kernel.reason})" if r.kernel.reason else ""))
    drops = sum(len(d) for d in r.learning_rate_drops)
    click.echo(f"wrote {r.output_path}: {sum(r.iterations)} iterations ({', '.join(map(str, r.iterations))} per step), "
               f"{drops} learning-rate drops, {r.seconds:.1f} s on {r.device} ({r.precision}); "
               f"inference: {', '.join(r.providers)}")
    if r.model_path:
        click.echo(f"model: {r.model_path}")
    if r.psnr is not None:
        click.echo(f"against --gt: Y-PSNR {r.psnr:.2f} dB, SSIM {r.ssim:.4f}")
    phases = ", ".join(f"{k} {v:.1f} s" + (" (cached graph)" if k == "export" and r.export_cached else "")
                       for k, v in r.phases.items())
    click.echo(f"time: {phases}; total {r.wall_seconds:.1f} s")


def _batch(input_path: str, out_dir: str, cfg, inference, opts: dict[str, Any]) -> None:
    from ..batch import BatchCallbacks, BatchOptions, plan_batch, run_batch
    from ..batch.report import write_report
    from ..files import check_output_path

    single_only = [f"--{k.replace('_', '-')}" for k in ("save_model", "checkpoint") if opts[k]]
    if single_only:
        raise ConfigError(f"{', '.join(single_only)} apply to one image; a batch keeps its progress in its manifest")
    # a report inside the output folder is the batch's own file: written again on each run of the batch, and
    # its folder made by the batch a moment later
    own_report = bool(opts["report"]) and Path(opts["report"]).resolve().parent == Path(out_dir).resolve()
    if opts["report"] and not own_report:
        check_output_path(opts["report"], opts["overwrite"], (".html", ".htm"))
    elif own_report and Path(opts["report"]).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--report {opts['report']!r}: the report is an HTML page; name it .html")
    if opts["cluster"]:
        from ..batch.executors import check_cluster

        check_cluster(opts["cluster"])  # before planning: nothing made for a cluster that cannot run it
    batch = BatchOptions(recursive=opts["recursive"], suffix=opts["suffix"], ext=opts["ext"], gt_dir=opts["gt_path"],
                         jobs=opts["jobs"], cluster=opts["cluster"],
                         cpus_per_task=opts["cpus_per_task"], gpus_per_task=opts["gpus_per_task"],
                         pack=opts["pack"], overwrite=opts["overwrite"])
    plan = plan_batch(input_path, out_dir, cfg, inference, kernel_from(opts, cfg), batch)
    say(f"{len(plan.inputs.items)} image(s) in {input_path}: {len(plan.finished)} already done, {len(plan.todo)} to fit"
        + (f"; {plan.inputs.skipped} hidden or non-image file(s) skipped" if plan.inputs.skipped else ""))
    with BatchBars(len(plan.todo)) as bars:
        summary = run_batch(plan, BatchCallbacks(on_progress=bars.progress, on_image=bars.image_done))
    if opts["report"]:
        say(f"report: {write_report(plan, summary.records, opts['report'], opts['overwrite'] or own_report)}")
    click.echo(f"{summary.done} done, {summary.skipped} skipped (done before), {summary.failed} failed, "
               f"{summary.seconds:.1f} s; manifest: {plan.manifest.path}")
    if not summary.ok:
        sys.exit(1)
