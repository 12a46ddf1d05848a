"""Options shared by the commands that fit (their defaults are :class:`ZSSRConfig`'s)."""

from __future__ import annotations

from typing import Any

import click

from ..blind.config import (
    KERNEL_ESTIMATORS,
    KernelEstimationConfig,
    KernelGANConfig,
    KernelSource,
    RecurrenceConfig,
    estimation_settings,
    kernel_source,
)
from ..compute import Compute
from ..trainers.config import PRESETS, ZSSRConfig
from .app import options as _options


def scale_option(help: str = "Final factor: S or SY,SX (non-integer allowed).", default: str = "2"):
    """The one ``--scale`` option: text, ``S`` or ``SY,SX``, parsed by the command (one-line errors)."""
    return click.option("--scale", default=default, show_default=True, metavar="S|SY,SX", help=help)

# Options of every fit; their defaults are ZSSRConfig's (None here: "not given").
training_options = _options(
    click.option("--steps", default=None, help="Gradual steps 'SY,SX;SY,SX;...' (relative to the input)."),
    click.option("--bp-iters", default=None, help="Back-projection iterations: N, or one per step 'N,N,...'; 0 = off."),
    click.option("--base-change", default=None, metavar="S[,S...]",
                 help="After the step with this isotropic factor, its output becomes the input of the later steps "
                      "(which stay relative to the original input), e.g. --steps '2;4' --base-change 2. With --steps "
                      "and without this option, no base change."),
    click.option("--father-placement", type=click.Choice(["paper", "released"]), default=None,
                  help="paper (default): fathers are crops inside the (scaled) source; released: the released code's "
                       "geometry, a fixed canvas often partly zeros (docs/benchmarks/quality.md), for comparing with that code."),
    click.option("--max-iters", type=int, default=None, help=f"Cap on iterations per step [default: {ZSSRConfig.max_iters}]."),
    click.option("--seed", type=int, default=ZSSRConfig.seed, show_default=True, help="Random seed."),
    click.option("--device", default=None, help=f"auto, cpu or cuda (cuda:N: --gpu N) [default: {ZSSRConfig.device}]."),
    click.option("--gpu", type=click.IntRange(min=0), default=None,
                 help="GPU index for training and for ONNX Runtime's CUDA/TensorRT providers [default: 0]."),
    click.option("--threads", type=click.IntRange(min=1), default=None,
                 help="CPU threads for training and inference [default: all cores]."),
    click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default=None,
                 help=f"Training precision [default: {ZSSRConfig.precision}: bf16 where the hardware has bf16 units]."),
    click.option("--cuda-graphs", "cuda_graphs", is_flag=True, default=None,
                 help="GPU: replay each training iteration as a CUDA graph (one per father shape; the same "
                      "arithmetic, without a launch per operation). Experimental: not yet run on a GPU."),
    click.option("--kernel-phase", type=click.Choice(["zssr", "centered"]), default=None,
                 help="How a kernel is re-centred: zssr (default; DIV2KRK-style data) or centered (LR made with a "
                      "centred kernel, rows 0, s, 2s: MZSR's convention)."),
)

#: how ``--kernel estimate`` estimates (fit, fit-and-run, evaluate) and ``estimate-kernel``
kernel_estimation_options = _options(
    click.option("--kernel-estimator", "kernel_estimator", type=click.Choice(KERNEL_ESTIMATORS), default=None,
                 help="How the kernel is estimated: kernelgan or recurrence (the Gaussian whose downscaling of the image "
                      f"best reproduces its own patches) [default: {KernelEstimationConfig.method}]."),
    click.option("--kernel-iters", "kernel_iters", type=click.IntRange(min=1), default=None,
                 help=f"KernelGAN's training iterations (--kernel-estimator kernelgan) [default: {KernelGANConfig.iterations}]."),
    click.option("--max-kernel-variance", "max_kernel_variance", type=click.FloatRange(min=0.0), default=None,
                 help="The widest estimate (recurrence) handed to ZSSR along any axis: each variance of the Gaussian "
                      "(HR pixels squared) is clipped to this; a wider blur is then under-corrected, never "
                      f"over-sharpened. 0: no cap [default: {RecurrenceConfig.max_variance}]."),
)

fit_options = _options(
    scale_option(),
    click.option("--preset", type=click.Choice(sorted(PRESETS)), default="ideal", show_default=True,
                 help="Released-code configuration to start from."),
    click.option("--kernel", "kernel_path", type=click.Path(dir_okay=False), default=None,
                 help="The LR image's blur kernel. FILE: a known kernel (.mat with Kernel/kernel, .npy, .txt, .csv); "
                      "'estimate': estimated from INPUT first (--kernel-estimator; docs/benchmarks/blind.md); "
                      "omitted: MATLAB bicubic assumed."),
    kernel_estimation_options,
    training_options,
    click.option("--no-ensemble", is_flag=True, help="Turn off the 8-way geometric self-ensemble."),
    click.option("--noise-std", type=float, default=None, help="Gaussian noise std added to LR sons."),
    click.option("--crop-size", type=int, default=None, help=f"HR-father crop side [default: {ZSSRConfig.crop_size}]."),
    click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
                 help="Keep the training state in FILE after each gradual step; if FILE exists, resume from it "
                      "(same image and settings). Removed once the result is written."),
)


def compute_from(opts: dict[str, Any]) -> Compute:
    """Where the command's work runs (``--device``, ``--gpu``, ``--threads``, popped out of ``opts``): built once,
    handed to the trainer, the estimator and ONNX Runtime."""
    return Compute.parse(opts.pop("device", None), opts.pop("gpu", None), opts.pop("threads", None))


def config_from(opts: dict[str, Any], compute: Compute) -> ZSSRConfig:
    """The one ZSSRConfig of a command, from (and popped out of) its options; it trains on ``compute``'s device."""
    from ..trainers.config import build_config

    keys = ("steps", "bp_iters", "base_change", "father_placement", "max_iters", "seed", "precision",
            "noise_std", "crop_size", "kernel_phase", "cuda_graphs")
    fields = {k: opts.pop(k, None) for k in keys}
    fields["device"] = compute.torch_device
    if opts.pop("no_ensemble", False):
        fields["ensemble"] = False
    if "keep_adam_moments" in opts:
        fields["fresh_optimizer_each_step"] = not opts.pop("keep_adam_moments")
    return build_config(opts.pop("preset"), opts.pop("scale"), **fields)


def estimation_from(opts: dict[str, Any], seed: int, device: str) -> KernelEstimationConfig:
    """The estimator's settings from (and popped out of) a command's options: the fit's seed and device."""
    return estimation_settings(opts.pop("kernel_estimator", None), opts.pop("kernel_iters", None), seed, device,
                               opts.pop("max_kernel_variance", None))


def kernel_from(opts: dict[str, Any], config: ZSSRConfig) -> KernelSource:
    """``--kernel`` (a file, or ``estimate``) and the estimator options, popped out of ``opts``, as one source;
    a kernel file is read now (a bad one fails before any work)."""
    return kernel_source(opts.pop("kernel_path", None), estimation_from(opts, config.seed, config.device))
