"""ONNX exporters (torch + onnx)."""

from .onnx_export import export_network, export_pipeline, training_summary

__all__ = ["export_network", "export_pipeline", "training_summary"]
