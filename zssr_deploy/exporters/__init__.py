"""ONNX exporters (torch + onnx)."""

from .onnx_export import export_network, export_pipeline, halo_for, pipeline_halo, pipeline_min_size, training_summary

__all__ = ["export_network", "export_pipeline", "halo_for", "pipeline_halo", "pipeline_min_size",
           "training_summary"]
