"""Run a batch: plan it (every check before the first fit), then fit-and-run each image on this machine
(one process, or ``jobs`` worker processes) or on a Ray cluster, writing outputs and the manifest as each
image finishes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..blind.config import KernelSource
from ..errors import ImageReadError, OutputError, ZSSRError
from ..files import write_bytes_atomic
from ..io import SUPPORTED_EXTENSIONS
from ..runtime.run import Inference
from .executors import make_executor
from .inputs import BatchInputs, collect_inputs, output_paths
from .manifest import BatchRecord, Manifest, file_sha256, fingerprint
from .options import BatchOptions
from .worker import ImageResult, ImageTask

if TYPE_CHECKING:
    from ..trainers.config import ZSSRConfig
    from ..trainers.state import Progress

__all__ = ["BatchCallbacks", "BatchPlan", "BatchSummary", "pack_for", "plan_batch", "run_batch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchCallbacks:
    """What the caller (the CLI's display, a test) hears while the batch goes on."""

    on_start: Callable[[BatchPlan], None] | None = None
    """Once, after planning, before the first fit."""
    on_progress: Callable[[str, Progress], None] | None = None
    """Training progress of an image (by relative path); not from Ray tasks."""
    on_image: Callable[[BatchRecord], None] | None = None
    """After each image, with its manifest record."""


@dataclass
class BatchPlan:
    """The checked batch: inputs, outputs, what is already finished, and the task settings."""

    inputs: BatchInputs
    outputs: list[Path]
    out_dir: Path
    manifest: Manifest
    fingerprint: str
    todo: list[int]
    """Indices of the images to fit."""
    finished: list[int]
    """Indices of the images a previous run finished with the same settings (skipped)."""
    gts: list[Path | None]
    kernel: KernelSource
    config: ZSSRConfig
    inference: Inference
    options: BatchOptions


@dataclass
class BatchSummary:
    records: list[BatchRecord] = field(default_factory=list)
    """Each image's last manifest record, in input order (skipped ones from the earlier run)."""
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _settings(config: ZSSRConfig, inference: Inference, kernel: KernelSource) -> dict[str, Any]:
    """Everything that changes an output (not threads, jobs or where it runs)."""
    return {"config": dataclasses.asdict(config.portable()), "engine": inference.engine, "tile": inference.tile,
            "kernel": kernel.identity(), "version": __version__}


def _ground_truths(inputs: BatchInputs, gt_dir: str | None) -> list[Path | None]:
    if gt_dir is None:
        return [None] * len(inputs.items)
    gts = []
    for item in inputs.items:
        found = [p for ext in SUPPORTED_EXTENSIONS
                 for p in [Path(gt_dir) / item.relative.parent / f"{item.relative.stem}{ext}"] if p.is_file()]
        if not found:
            raise ImageReadError(f"no ground truth for {item.relative.as_posix()!r} in {gt_dir!r} "
                                 f"(expected {item.relative.with_suffix('.png').as_posix()} or another image extension)")
        gts.append(found[0])
    return gts


def _prepare_out_dir(out_dir: Path, outputs: list[Path]) -> None:
    try:
        for folder in sorted({p.parent for p in outputs} | {out_dir}):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {str(out_dir)!r}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK):
        raise OutputError(f"output folder {str(out_dir)!r} is not writable")
    for p in outputs:  # temporary files a kill left behind (outputs are written to a temp file, then renamed)
        for stale in p.parent.glob(f".{p.name}.*.tmp"):
            stale.unlink(missing_ok=True)


def plan_batch(input_spec: str | os.PathLike[str], out_dir: str | os.PathLike[str], config: ZSSRConfig,
               inference: Inference, kernel: KernelSource = KernelSource(),
               options: BatchOptions = BatchOptions()) -> BatchPlan:
    """Every check that needs no fit, before the first one: inputs, output names, output folder (created,
    writable), provider, kernel file, ground truths, outputs that exist without being this batch's."""
    from ..trainers.config import check_kernel_preset

    check_kernel_preset(config, kernel.kind != "bicubic")
    inputs = collect_inputs(input_spec, options.recursive)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{str(out)!r} is a file; with a folder or glob as input, -o is an output folder")
    suffix = options.suffix
    if suffix is None:
        sy, sx = config.final_scale
        same = out.exists() and inputs.root.exists() and os.path.samefile(out, inputs.root)
        suffix = (f"_x{sy:g}" if sy == sx else f"_x{sy:g}x{sx:g}") if same else ""
    outputs = output_paths(inputs.items, out, suffix, options.ext)
    if inference.engine == "onnx":
        from ..runtime import check_provider

        check_provider(inference.provider)
    gts = _ground_truths(inputs, options.gt_dir)
    _prepare_out_dir(out, outputs)
    manifest = Manifest(out)
    fp = fingerprint(_settings(config, inference, kernel))
    finished = [i for i, item in enumerate(inputs.items)
                if manifest.finished(item.relative.as_posix(), fp, outputs[i])]
    todo = [i for i in range(len(inputs.items)) if i not in set(finished)]
    foreign = [str(outputs[i]) for i in todo if outputs[i].exists() and not manifest.ours(inputs.items[i].relative.as_posix())]
    if foreign and not options.overwrite:
        raise OutputError(f"{len(foreign)} output(s) exist and are not from this batch (first: {foreign[0]!r}); "
                          "pass --overwrite to replace them, or choose another -o folder")
    return BatchPlan(inputs, outputs, out, manifest, fp, todo, finished, gts, kernel, config, inference, options)


def _task(plan: BatchPlan, i: int) -> ImageTask:
    item, gt = plan.inputs.items[i], plan.gts[i]
    return ImageTask(image=item.relative.as_posix(), data=item.source.read_bytes(), out_suffix=plan.outputs[i].suffix,
                     config=plan.config, kernel=plan.kernel, gt=None if gt is None else gt.read_bytes(),
                     inference=dataclasses.replace(plan.inference, compute=plan.options.task_compute(plan.inference.compute)))


def _tasks(plan: BatchPlan) -> Iterator[ImageTask]:
    """Tasks read lazily (a batch of thousands holds only the images in flight), each announced as started
    in the manifest first, so its output is known to be this batch's if a kill comes before it is recorded."""
    for i in plan.todo:
        item = plan.inputs.items[i]
        plan.manifest.append(BatchRecord(image=item.relative.as_posix(), status="started", fingerprint=plan.fingerprint))
        try:
            yield _task(plan, i)
        except OSError as exc:  # unreadable since planning: record it, go on
            plan.manifest.append(_record(plan, i, ImageResult(item.relative.as_posix(), "failed",
                                                              error=f"cannot read {str(item.source)!r}: {exc}")))


def pack_for(plan: BatchPlan) -> int:
    """Images per pack: ``--pack``, else on a GPU as many as its free memory takes (shared by the jobs), a Ray
    task with GPUs as many as the cap allows, and on the CPU one (the lone fit, bit for bit)."""
    from ..trainers.packed import pack_size

    opts, images = plan.options, len(plan.todo)
    if opts.pack is not None:
        return opts.pack
    if opts.cluster is not None:
        return pack_size(plan.config, images, None) if opts.gpus_per_task > 0 else 1
    from ..gpus import free_gpu_memory
    from ..models.device import resolve_device

    device = resolve_device(plan.config.device)
    if device.type != "cuda":
        return 1
    free = free_gpu_memory(device.index or 0)
    return pack_size(plan.config, -(-images // opts.jobs), None if free is None else free // opts.jobs)


def _packs(tasks: Iterator[ImageTask], size: int) -> Iterator[list[ImageTask]]:
    """The tasks in packs of ``size`` (the last one smaller), each drawn only when the executor asks for it."""
    pack: list[ImageTask] = []
    for task in tasks:
        pack.append(task)
        if len(pack) == size:
            yield pack
            pack = []
    if pack:
        yield pack


def _record(plan: BatchPlan, i: int, result: ImageResult) -> BatchRecord:
    """The image's manifest record, after its output (if any) is written atomically."""
    rec = BatchRecord(image=result.image, status=result.status, fingerprint=plan.fingerprint, error=result.error,
                      output=plan.outputs[i].relative_to(plan.out_dir).as_posix(),
                      finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), **result.facts)
    if result.output is not None:
        try:
            write_bytes_atomic(plan.outputs[i], result.output, overwrite=True)
            rec = dataclasses.replace(rec, sha256=file_sha256(plan.outputs[i]))
        except (OSError, ZSSRError) as exc:
            rec = dataclasses.replace(rec, status="failed", error=f"cannot write {str(plan.outputs[i])!r}: {exc}")
    return rec


def run_batch(plan: BatchPlan, callbacks: BatchCallbacks = BatchCallbacks()) -> BatchSummary:
    """Fit-and-run every image of the plan not finished before; a failed image is recorded and the batch goes
    on. Interrupted (Ctrl-C, a kill), it loses at most the images in flight; their outputs are never partial."""
    if callbacks.on_start is not None:
        callbacks.on_start(plan)
    t0, index = time.perf_counter(), {plan.inputs.items[i].relative.as_posix(): i for i in plan.todo}
    summary = BatchSummary(skipped=len(plan.finished))
    size = pack_for(plan)
    if size > 1:
        log.info("fitting the images in packs of up to %d", size)
    with make_executor(plan.options, plan.inference.compute, callbacks.on_progress) as executor:
        for result in executor.map(_packs(_tasks(plan), size)):
            rec = _record(plan, index[result.image], result)
            plan.manifest.append(rec)
            summary.done += rec.status == "done"
            if rec.status == "failed":
                log.info("%s failed: %s", rec.image, rec.error)  # the caller's on_image reports it (the CLI: once)
            if callbacks.on_image is not None:
                callbacks.on_image(rec)
    summary.seconds = time.perf_counter() - t0
    summary.failed = sum(plan.manifest.last[name].status != "done" for name in index)
    summary.records = [plan.manifest.last[item.relative.as_posix()] for item in plan.inputs.items
                       if item.relative.as_posix() in plan.manifest.last]
    return summary
