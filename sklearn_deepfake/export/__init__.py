"""Deployment: export fitted frame models to ONNX and run them with onnxruntime."""

from sklearn_deepfake.export._onnx import (
    ONNXFaceClassifier,
    ONNXFeatureExtractor,
    export_onnx,
)

__all__ = ["ONNXFaceClassifier", "ONNXFeatureExtractor", "export_onnx"]
