"""Where and in what precision a fit trains: the device and precision choices, made in one place."""

from __future__ import annotations

import logging

import torch

from ..compute import Compute
from ..errors import ConfigError
from ..gpus import check_gpu_index

__all__ = ["bf16_supported", "memory_format_for", "resolve_device", "resolve_precision", "use_threads"]

log = logging.getLogger(__name__)


def use_threads(compute: Compute) -> None:
    """Give torch ``compute.threads`` CPU threads in this process (batch workers share the machine's cores);
    None leaves them as they are."""
    if compute.threads:
        torch.set_num_threads(compute.threads)


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when torch sees a GPU, else the CPU; 'cuda' without a GPU is a :class:`ConfigError`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} (GPU {_index(device)}) was asked for but torch sees no CUDA GPU; use "
                          "--device cpu or auto")
    if device.startswith("cuda"):  # an index past the last GPU fails late in torch, with a CUDA error
        check_gpu_index(_index(device), tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())))
    return torch.device(device)


def _index(device: str) -> int:
    try:
        return torch.device(device).index or 0
    except RuntimeError:
        raise ConfigError(f"device {device!r} is not a device: use auto, cpu, cuda or cuda:N") from None


def bf16_supported(device: torch.device) -> bool:
    """Native bf16 matrix units: AMX/AVX-512-BF16 on CPU (via oneDNN), or a CUDA GPU with bf16."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' -> 'bf16' where the hardware has native bf16 units, else 'fp32'; warns when bf16 is forced on a
    CPU without them (it works, slowly)."""
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    if precision == "bf16" and device.type == "cpu" and not bf16_supported(device):
        log.warning("bf16 asked for, but this CPU has no native bf16 units: it will be slow")
    return precision


def memory_format_for(precision: str) -> torch.memory_format:
    """channels_last for bf16 (the fast layout of oneDNN's and cuDNN's bf16 convolutions), else the default."""
    return torch.channels_last if precision == "bf16" else torch.contiguous_format
