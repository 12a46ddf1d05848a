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
        info["torch device"] = "cuda" if torch.cuda.is_available() else "cpu"
        if torch.cuda.is_available():
            info["cuda device"] = torch.cuda.get_device_name(0)
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
