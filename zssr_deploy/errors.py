"""Named exceptions. Every error a user can cause derives from :class:`ZSSRError`.

The CLI maps any ``ZSSRError`` to a one-line message on stderr and exit status 2,
so each message must say what was wrong and how to fix it.
"""

from __future__ import annotations


class ZSSRError(Exception):
    """Base class of every error caused by bad input or settings."""


class ImageReadError(ZSSRError):
    """An input image (or folder of images) is missing, empty, truncated or not an image."""


class OutputError(ZSSRError):
    """An output file (image, model, results JSON) cannot be written: it exists and overwriting was not asked
    for, its folder is missing or unwritable, or its extension does not fit what is written."""


class ImageWriteError(OutputError):
    """An output image cannot be written (the cases of :class:`OutputError`, or the encoder failed)."""


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


class ResultsError(ZSSRError):
    """A results JSON of ``evaluate`` is unreadable, or holds another run (scale, method, protocol, settings)."""


class ModelError(ZSSRError):
    """An ONNX model file is unreadable, not a zssr-deploy model, of an incompatible format version, or of
    another kind than the operation needs (a network-only export where a pipeline is needed)."""


class ProviderError(ZSSRError):
    """An ONNX Runtime execution provider was asked for but is not available."""


class BatchError(ZSSRError):
    """A batch cannot go on (a worker process died, the cluster went away); finished images are kept and the
    same command resumes the batch."""
