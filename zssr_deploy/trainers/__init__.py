"""Test-time training (torch)."""

from .config import PRESETS, ZSSRConfig, gradual_schedule, parse_scale
from .zssr import FitResult, Progress, StepSummary, fit

__all__ = ["PRESETS", "FitResult", "Progress", "StepSummary", "ZSSRConfig", "fit", "gradual_schedule", "parse_scale"]
