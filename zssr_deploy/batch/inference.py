"""``zssr-deploy run`` over a folder or glob: one exported model (loaded once) applied to many images, e.g. the
frames or tiles of one camera or scan. Outputs mirror the input tree; every output path is checked before the
first image; a bad image is reported and the others go on. No torch."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError, ZSSRError
from ..files import check_output_folder
from ..runtime.run import Inference, load_pipeline_model, run_loaded
from .inputs import BatchInputs, collect_inputs, output_paths

__all__ = ["RunOutcome", "run_model_batch"]


@dataclass(frozen=True)
class RunOutcome:
    image: str
    """Relative path of the input."""
    output: Path
    error: str = ""
    """One line: why there is no output ("" when written)."""


def _check_outputs(outputs: list[Path], overwrite: bool) -> None:
    for p in outputs:
        if p.exists() and not overwrite:
            raise OutputError(f"{str(p)!r} already exists; pass --overwrite to replace it")


def run_model_batch(model_path: str | os.PathLike[str], input_spec: str | os.PathLike[str],
                    out_dir: str | os.PathLike[str], *, recursive: bool = False, suffix: str = "", ext: str = "keep",
                    inference: Inference = Inference(), overwrite: bool = False,
                    on_image: Callable[[RunOutcome], None] | None = None) -> tuple[BatchInputs, list[RunOutcome]]:
    """Run an exported pipeline on every image of a folder or glob (``inference``: provider, tile, threads and
    GPU); returns the inputs and each outcome."""
    inputs = collect_inputs(input_spec, recursive)
    outputs = output_paths(inputs.items, out_dir, suffix, ext)
    check_output_folder(out_dir)
    _check_outputs(outputs, overwrite)
    model = load_pipeline_model(model_path, inference)
    done = []
    for item, out in zip(inputs.items, outputs):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            run_loaded(model, item.source, out, inference.tile, overwrite)
            outcome = RunOutcome(item.relative.as_posix(), out)
        except (ZSSRError, OSError) as exc:
            outcome = RunOutcome(item.relative.as_posix(), out, str(exc).splitlines()[0])
        done.append(outcome)
        if on_image is not None:
            on_image(outcome)
    return inputs, done
