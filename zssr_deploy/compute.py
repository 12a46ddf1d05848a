"""Where the work runs: the device, the GPU index and the CPU threads, in one record.

The CLI builds it once from ``--device``, ``--gpu`` and ``--threads`` and hands it on whole: the trainer and the
kernel estimator get its torch device (:attr:`Compute.torch_device`), ONNX Runtime its GPU and threads
(:class:`~zssr_deploy.runtime.run.Inference`), a batch divides its threads between the jobs. It is never part of
a result's identity: checkpoint and batch fingerprints leave the GPU index and the threads out, so a fit resumes
on another GPU or core count. Torch-free (the runtime reads it too)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .errors import ConfigError

__all__ = ["Compute"]

_KINDS = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Compute:
    """Where a fit, an estimate and an inference run (see the module docstring)."""

    device: str = "auto"
    """'auto' (a CUDA GPU when torch sees one, else the CPU), 'cpu' or 'cuda'."""
    gpu: int | None = None
    """The GPU of the training, the estimation and the CUDA/TensorRT providers; None: GPU 0."""
    threads: int | None = None
    """CPU threads for torch and ONNX Runtime in this process; None: leave them as they are (all cores)."""

    def __post_init__(self) -> None:
        if self.device not in _KINDS:
            raise ConfigError(f"device must be auto, cpu or cuda (the GPU index apart: --gpu N), got {self.device!r}")
        if self.gpu is not None and self.gpu < 0:
            raise ConfigError(f"--gpu must be 0 or more, got {self.gpu}")
        if self.gpu is not None and self.device == "cpu":
            raise ConfigError(f"--gpu {self.gpu} and --device cpu disagree: give one of them")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")

    @classmethod
    def parse(cls, device: str | None = None, gpu: int | None = None, threads: int | None = None) -> Compute:
        """From the command line's words: ``device`` may also be ``cuda:N`` (the same as ``--gpu N``)."""
        device = device or "auto"
        if device.startswith("cuda:"):
            index = device.partition(":")[2]
            if not index.isdigit():
                raise ConfigError(f"device {device!r} is not a device: use auto, cpu, cuda or cuda:N")
            if gpu is not None and gpu != int(index):
                raise ConfigError(f"--gpu {gpu} and --device {device} disagree: give one of them")
            device, gpu = "cuda", int(index)
        return cls(device, gpu, threads)

    @property
    def torch_device(self) -> str:
        """The device as the trainer and the estimator name it: 'cpu', 'auto', 'cuda' or 'cuda:N' (a GPU index
        with 'auto' means that GPU: asking for one GPU asks for a GPU)."""
        if self.device == "cpu" or self.gpu is None:
            return self.device
        return f"cuda:{self.gpu}"

    @property
    def device_id(self) -> int:
        """The GPU index for ONNX Runtime's provider options and its IO binding."""
        return self.gpu or 0

    def shared(self, jobs: int) -> Compute:
        """Each of ``jobs`` processes' share: the threads (or the machine's cores) divided, at least one each;
        one job keeps the record as it is."""
        if jobs <= 1:
            return self
        return replace(self, threads=max(1, (self.threads or os.cpu_count() or 1) // jobs))

    def with_threads(self, threads: int | None) -> Compute:
        return replace(self, threads=threads)
