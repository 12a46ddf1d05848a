"""ONNX exporters (torch + onnx)."""

from .onnx_export import check_model_path, export_network, export_pipeline, training_summary

__all__ = ["check_model_path", "export_network", "export_pipeline", "training_summary"]
