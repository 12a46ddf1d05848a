"""The ``zssr-deploy`` command line (``main``): it parses options, calls library functions and prints.

Errors caused by the user (any :class:`~zssr_deploy.errors.ZSSRError`) print one line to stderr and exit 2.
"""

from . import commands, fit_and_run  # noqa: F401  (they register their commands on main)
from .app import main

__all__ = ["main"]
