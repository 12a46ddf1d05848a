"""How a batch runs and where its files go (the fit itself is the :class:`~zssr_deploy.trainers.config.ZSSRConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..compute import Compute
from ..errors import ConfigError

__all__ = ["BatchOptions"]


@dataclass(frozen=True, kw_only=True)
class BatchOptions:
    """How a batch runs and where its files go (the fit itself is the :class:`ZSSRConfig`)."""

    recursive: bool = False
    """Take a folder's sub-folders too (and ``**`` in a glob)."""
    suffix: str | None = None
    """Added to each output's stem (``photo.png`` -> ``photo<suffix>.png``). None: none when the output folder
    is another folder, ``_x<scale>`` when it is the input's own (outputs beside their inputs)."""
    ext: str = "keep"
    """Output format: keep (the input's), png or tif."""
    gt_dir: str | None = None
    """Ground truths, matched by relative path and stem (any image extension): PSNR/SSIM per image."""
    jobs: int = 1
    """Images fitted at once on this machine, each in its own process."""
    cluster: str | None = None
    """None: this machine. 'ray' (the ``RAY_ADDRESS`` convention, else a running local cluster), or a Ray address
    such as ``ray://HOST:10001``: each image is a Ray task."""
    cpus_per_task: float = 1.0
    """Ray: CPUs reserved per image (also its threads)."""
    gpus_per_task: float = 0.0
    """Ray: GPUs reserved per image (1 on GPU nodes)."""
    pack: int | None = None
    """Images fitted together in one pack (:mod:`~zssr_deploy.trainers.packed`: their networks in shared kernels,
    for a GPU that one fit leaves idle). None: on a GPU as many as its free memory takes (at most
    :data:`~zssr_deploy.trainers.packed.MAX_PACK`), on the CPU one (a lone fit, bit for bit the same)."""
    overwrite: bool = False
    """Replace outputs that exist but that this batch's manifest does not know."""

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.pack is not None and self.pack < 1:
            raise ConfigError(f"--pack must be at least 1, got {self.pack}")
        if self.cpus_per_task <= 0 or self.gpus_per_task < 0:
            raise ConfigError("--cpus-per-task must be positive and --gpus-per-task not negative")

    def task_compute(self, compute: Compute) -> Compute:
        """Where one image's task runs: a Ray task on the threads of the CPUs it reserved, a worker process on
        its share of ``compute``'s threads (the machine's cores when it names none), one job on all of them."""
        if self.cluster is not None:
            return compute.with_threads(max(1, int(self.cpus_per_task)))
        return compute.shared(self.jobs)
