"""ONNX Runtime inference of exported models: onnxruntime and numpy only, never torch."""

from .metadata import FORMAT_VERSION, ModelMetadata
from .session import PROVIDER_CHOICES, ZSSRModel, available_providers, check_provider
from .tiling import Tile, plan_tiles

__all__ = ["FORMAT_VERSION", "PROVIDER_CHOICES", "ModelMetadata", "Tile", "ZSSRModel", "available_providers", "check_provider",
           "plan_tiles"]
