"""Deep classifiers fine-tuned end to end on face crops (torch, skorch, timm)."""

from sklearn_deepfake.nets._face_cnn import FaceCNNClassifier

__all__ = ["FaceCNNClassifier"]
