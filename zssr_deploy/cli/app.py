"""The ``zssr-deploy`` group, its error mapping (no tracebacks for user errors) and option helpers.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from .._version import __version__
from ..errors import ZSSRError

F = Callable[..., Any]
PROVIDERS = click.Choice(["auto", "cpu", "cuda", "tensorrt"])


def user_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit status 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ZSSRError as exc:
            click.echo(f"zssr-deploy: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("zssr-deploy: interrupted", err=True)
            sys.exit(130)

    return wrapper


def options(*opts: F) -> F:
    def apply(func: F) -> F:
        for opt in reversed(opts):
            func = opt(func)
        return func
    return apply


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zssr-deploy")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Zero-Shot Super-Resolution: fit an image-specific network, then run it through ONNX Runtime."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


