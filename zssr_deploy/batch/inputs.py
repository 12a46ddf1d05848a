"""Which images a batch takes, and where each one's output goes (numpy-free, torch-free).

An input is a file, a folder (``recursive``: its sub-folders too) or a quoted glob. Each image keeps its path
relative to the input's root, and the output folder mirrors that tree, as Real-ESRGAN's and waifu2x's folder
modes do.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ImageReadError, OutputError
from ..io import SUPPORTED_EXTENSIONS

__all__ = ["BatchInputs", "BatchItem", "collect_inputs", "is_batch_input", "output_paths"]

#: what ``--ext`` accepts: keep each input's extension, or write PNG or TIFF
OUTPUT_EXTENSIONS = {"keep": None, "png": ".png", "tif": ".tif"}


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch."""

    source: Path
    """The input file."""
    relative: Path
    """Its path under the input's root: the key in the manifest and the place of its output."""


@dataclass(frozen=True)
class BatchInputs:
    items: list[BatchItem]
    """The images, sorted by relative path."""
    skipped: int
    """Hidden files and files that are not images (by extension), not taken."""
    root: Path
    """The folder the relative paths start from."""


def _has_glob(spec: str) -> bool:
    return any(ch in spec for ch in "*?[")


def is_batch_input(spec: str | os.PathLike[str]) -> bool:
    """A folder or a glob (rather than one file)."""
    return Path(spec).is_dir() or _has_glob(str(spec))


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _glob_root(spec: str) -> Path:
    """The deepest folder of the pattern without wildcards: relative paths start there."""
    parts = []
    for part in Path(spec).parts:
        if _has_glob(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, symlinked folders followed, each real folder entered once (a link loop ends)."""
    seen, files = set(), []
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs.sort()
        files += [Path(folder) / n for n in sorted(names)]
    return files


def _once(files: list[Path]) -> list[Path]:
    """Each file once, by the file it resolves to (links to one file, a folder reached twice): the first path."""
    seen, out = set(), []
    for f in files:
        real = f.resolve()
        if real not in seen and f.is_file():
            seen.add(real)
            out.append(f)
    return out


def _candidates(spec: str, recursive: bool) -> tuple[Path, list[Path]]:
    """The files ``spec`` names. One rule for folders and globs: symlinks are followed (files and folders), and
    each file is taken once, by its resolved path."""
    path = Path(spec)
    if path.is_file():
        return path.parent, [path]
    if path.is_dir():
        return path, _once(_walk(path) if recursive else sorted(path.iterdir()))
    if _has_glob(spec):
        return _glob_root(spec), _once(sorted(Path(p) for p in glob.glob(spec, recursive=recursive)))
    raise ImageReadError(f"{spec!r} does not exist (give an image file, a folder or a quoted glob)")


def collect_inputs(spec: str | os.PathLike[str], recursive: bool = False) -> BatchInputs:
    """The images named by ``spec``: a file, a folder (``recursive``: with its sub-folders) or a glob
    (``**`` with ``recursive``). Hidden files and folders and files without an image extension are skipped
    and counted. Raises :class:`ImageReadError` if nothing is left."""
    root, files = _candidates(str(spec), recursive)
    items, skipped = [], 0
    for f in files:
        rel = f.relative_to(root) if f.is_relative_to(root) else Path(f.name)
        if _hidden(rel) or f.suffix.lower() not in SUPPORTED_EXTENSIONS:
            skipped += 1
            continue
        items.append(BatchItem(f, rel))
    if not items:
        raise ImageReadError(f"no images in {str(spec)!r} ({skipped} hidden or non-image file(s) skipped; "
                             f"images are {', '.join(SUPPORTED_EXTENSIONS)}"
                             f"{'' if recursive else '; --recursive takes sub-folders too'})")
    return BatchInputs(sorted(items, key=lambda i: i.relative.as_posix()), skipped, root)


def output_paths(items: list[BatchItem], out_dir: str | os.PathLike[str], suffix: str = "",
                 ext: str = "keep") -> list[Path]:
    """Each item's output: ``out_dir / relative folder / stem + suffix + extension``. Raises
    :class:`ConfigError` for an unknown ``ext`` or when two inputs would write the same file (``a.jpg`` and
    ``a.png`` with ``--ext png``), and :class:`OutputError` when an output would be one of the inputs, before
    any work."""
    if ext not in OUTPUT_EXTENSIONS:
        raise ConfigError(f"--ext must be one of {', '.join(OUTPUT_EXTENSIONS)}, got {ext!r}")
    out, seen = [], {}
    for item in items:
        new_ext = OUTPUT_EXTENSIONS[ext] or item.source.suffix
        path = Path(out_dir) / item.relative.parent / f"{item.relative.stem}{suffix}{new_ext}"
        if path in seen:
            raise ConfigError(f"{str(seen[path].source)!r} and {str(item.source)!r} would both write {str(path)!r}; "
                              "use --ext keep or rename one")
        seen[path] = item
        out.append(path)
    sources = {item.source.resolve() for item in items}
    clash = [str(p) for p in out if p.resolve() in sources]
    if clash:
        raise OutputError(f"{clash[0]!r} would overwrite its own input; choose another -o folder or a --suffix")
    return out
