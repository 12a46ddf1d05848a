"""Test-time training (torch). Names load on first use, so that ``trainers.config`` (settings, schedules,
presets) is importable without torch."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "PRESETS": "config", "ZSSRConfig": "config", "build_config": "config", "gradual_schedule": "config",
    "parse_scale": "config", "parse_schedule": "config",
    "FitPlan": "fitting", "FitResult": "fitting", "StepEvent": "fitting", "fit": "fitting", "plan_fit": "fitting",
    "run_fit": "fitting", "fit_packed": "packed", "Progress": "state", "StepSummary": "state", "FitState": "state",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
