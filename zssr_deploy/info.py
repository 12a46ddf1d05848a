"""Versions and available accelerators, for ``zssr-deploy info`` and bug reports."""

from __future__ import annotations

import platform

from ._version import __version__

__all__ = ["environment_info"]


def environment_info() -> dict[str, object]:
    info: dict[str, object] = {"zssr-deploy": __version__, "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        from .models.device import resolve_device, resolve_precision

        device = resolve_device("auto")
        info["torch device"] = device.type
        if torch.cuda.is_available():
            info["cuda devices"] = ", ".join(f"{i}: {torch.cuda.get_device_name(i)}"
                                             for i in range(torch.cuda.device_count()))
        picked = resolve_precision("auto", device)
        why = "native bf16 units" if picked == "bf16" else "no native bf16 units"
        info["--precision auto"] = f"{picked} on {device.type} ({why})"
        info["torch threads"] = torch.get_num_threads()
        from .exporters.cache import cache_dir

        folder = cache_dir()
        info["export cache"] = "off (ZSSR_DEPLOY_CACHE=off)" if folder is None else str(folder)
    except ImportError:
        info["torch"] = "not installed"
    try:
        import onnx

        info["onnx"] = onnx.__version__
    except ImportError:
        info["onnx"] = "not installed"
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime providers"] = ", ".join(ort.get_available_providers())
    except ImportError:
        info["onnxruntime"] = "not installed (pip install 'zssr-deploy[cpu]' or '[gpu]')"
    return info
