"""sklearn-deepfake: deepfake video detection with scikit-learn pipelines."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
