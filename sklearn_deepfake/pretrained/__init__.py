"""Fitted detectors that ship with the package (see :ref:`model_card`)."""

from sklearn_deepfake.pretrained._io import (
    PRETRAINED,
    load_pretrained,
    save_pretrained,
)

__all__ = ["PRETRAINED", "load_pretrained", "save_pretrained"]
