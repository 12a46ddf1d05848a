"""ONNX Runtime inference of exported models: onnxruntime and numpy only, never torch."""

from .metadata import FORMAT_VERSION, ModelMetadata
from .run import Inference, load_pipeline_model, run_loaded, run_model
from .session import PROVIDER_CHOICES, ZSSRModel, available_providers, check_provider
from .tiling import Tile, plan_tiles

__all__ = ["FORMAT_VERSION", "PROVIDER_CHOICES", "Inference", "ModelMetadata", "Tile", "ZSSRModel", "available_providers",
           "check_provider", "load_pipeline_model", "plan_tiles", "run_loaded", "run_model"]
