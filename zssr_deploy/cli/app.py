"""The ``zssr-deploy`` group, its error mapping (no tracebacks for user errors) and option helpers.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .._version import __version__
from ..errors import ZSSRError
from ..runtime.session import PROVIDER_CHOICES

F = Callable[..., Any]
PROVIDERS = click.Choice(PROVIDER_CHOICES)

#: what a command that trains or exports needs, and the extra that brings it
TRAIN_MODULES = ("torch", "onnx", "onnxscript", "onnx_ir")


def user_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit status 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ZSSRError as exc:
            click.echo(f"zssr-deploy: error: {as_options(str(exc))}", err=True)
            sys.exit(2)
        except ModuleNotFoundError as exc:
            if exc.name not in TRAIN_MODULES:
                raise
            click.echo(f"zssr-deploy: error: this command needs {exc.name}, which is not installed: "
                       "pip install 'zssr-deploy[train]' (run and info work without it)", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("zssr-deploy: interrupted", err=True)
            sys.exit(130)

    return wrapper


#: settings fields whose names library messages use, and the options that set them
_FIELDS = ("max_iters", "crop_size", "noise_std", "father_placement", "kernel_phase", "precision", "seed",
           "static_shape", "test_every", "learning_rate")


def as_options(message: str) -> str:
    """A library message in the command line's words: ``max_iters`` -> ``--max-iters``, and the API's
    ``--overwrite (overwrite=True)`` hint without its Python half."""
    message = message.replace(" (overwrite=True)", "")
    return re.sub(r"(?<![-\w])(" + "|".join(_FIELDS) + r")\b(?! *=)", lambda m: "--" + m.group(1).replace("_", "-"), message)


def options(*opts: F) -> F:
    def apply(func: F) -> F:
        for opt in reversed(opts):
            func = opt(func)
        return func
    return apply


def configure_logging(verbose: int, quiet: bool) -> None:
    """This package's log lines on stderr: warnings by default, -v info, -vv debug, -q errors only. Only the
    ``zssr_deploy`` loggers change level: torch's, ONNX's and Ray's stay as they are."""
    from . import console

    pkg = logging.getLogger("zssr_deploy")
    handler = next((h for h in pkg.handlers if getattr(h, "_zssr_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._zssr_cli = True  # type: ignore[attr-defined]
        pkg.addHandler(handler)
    handler.setStream(sys.stderr)  # type: ignore[attr-defined]  # (stderr may have been replaced since)
    level = logging.ERROR if quiet else [logging.WARNING, logging.INFO][verbose] if verbose < 2 else logging.DEBUG
    pkg.setLevel(level)
    console.QUIET = quiet


def _verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-v and -q count wherever they stand, before or after the subcommand."""
    if ctx.resilient_parsing:
        return
    meta = ctx.find_root().meta
    if param.name == "verbose":
        meta["zssr_verbose"] = meta.get("zssr_verbose", 0) + value
    elif value:
        meta["zssr_quiet"] = True
    configure_logging(meta.get("zssr_verbose", 0), meta.get("zssr_quiet", False))


verbosity_options = options(
    click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbosity,
                 help="More log output from zssr-deploy (-v info, -vv debug); other libraries' stay quiet."),
    click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_verbosity,
                 help="Errors only: no progress bars, no warnings."),
)


class SectionedCommand(click.Command):
    """A command whose ``--help`` lists its options under headings (``sections``: heading -> parameter names);
    options no heading names come last, under "Other"."""

    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        shown: set[str] = set()
        for heading, names in (*self.sections, ("Other", tuple(records))):
            rows = [records[n] for n in names if n in records and n not in shown and records[n] is not None]
            shown.update(names)
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)  # type: ignore[arg-type]


class _Group(click.Group):
    """Gives every subcommand the -v/-q options too."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        verbosity_options(cmd)
        super().add_command(cmd, name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zssr-deploy")
@verbosity_options
def main() -> None:
    """Zero-Shot Super-Resolution: fit an image-specific network, then run it through ONNX Runtime."""
    _terminate_like_interrupt()


def _terminate_like_interrupt() -> None:
    """SIGTERM (``kill``, systemd, ``docker stop``, schedulers) ends a command as Ctrl-C does: a batch stops its
    workers and keeps its manifest, instead of dying with its workers orphaned. Main thread only (signal's rule)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


