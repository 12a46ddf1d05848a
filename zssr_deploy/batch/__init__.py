"""Batches: a folder or glob of images fitted and upscaled in one command, resumable through a manifest,
on this machine (``jobs`` processes) or a Ray cluster, with an HTML report. Torch is imported only by the
worker that fits an image."""

from .inputs import BatchInputs, BatchItem, collect_inputs, is_batch_input, output_paths
from .manifest import MANIFEST_NAME, Manifest
from .options import BatchOptions
from .runner import BatchCallbacks, BatchPlan, BatchSummary, plan_batch, run_batch
from .worker import ImageResult, ImageTask, process_image

__all__ = ["MANIFEST_NAME", "BatchCallbacks", "BatchInputs", "BatchItem", "BatchOptions", "BatchPlan", "BatchSummary",
           "ImageResult", "ImageTask", "Manifest", "collect_inputs", "is_batch_input", "output_paths", "plan_batch",
           "process_image", "run_batch"]
