"""Named exceptions. Every error a user can cause derives from :class:`ZSSRError`.

The CLI maps any ``ZSSRError`` to a one-line message on stderr and exit status 2,
so each message must say what was wrong and how to fix it.
"""

from __future__ import annotations


class ZSSRError(Exception):
    """Base class of every error caused by bad input or settings."""


class ImageReadError(ZSSRError):
    """An input image is missing, empty, truncated or not an image."""


class ImageWriteError(ZSSRError):
    """An output cannot be written (exists without overwrite, unwritable folder, unknown format)."""


class InvalidImageError(ZSSRError):
    """An image array has the wrong layout, dtype, size or values."""


class KernelError(ZSSRError):
    """A blur kernel file or array is unreadable or invalid (not 2-D, not finite, sum <= 0, too large)."""


class ScaleError(ZSSRError):
    """A scale factor is invalid for the operation or the image."""


class ConfigError(ZSSRError):
    """A setting is out of range or inconsistent with another one."""


class CheckpointError(ZSSRError):
    """A training checkpoint is unreadable, or was written for another image, kernel, settings or version."""


class ModelError(ZSSRError):
    """An ONNX model file is unreadable, not a zssr-deploy model, or of an incompatible format version."""


class ProviderError(ZSSRError):
    """An ONNX Runtime execution provider was asked for but is not available."""
