"""ONNX exporters (torch + onnx)."""

from .cache import cache_dir, export_pipeline_cached, graph_key
from .onnx_export import export_network, export_pipeline, pipeline_metadata, training_summary

__all__ = ["cache_dir", "export_network", "export_pipeline", "export_pipeline_cached", "graph_key", "pipeline_metadata",
           "training_summary"]
