"""ONNX exporters (torch + onnx)."""

from .onnx_export import export_network, export_pipeline, halo_for, pipeline_halo, training_summary

__all__ = ["export_network", "export_pipeline", "halo_for", "pipeline_halo", "training_summary"]
