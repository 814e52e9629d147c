"""Face detection, face tracks and the on-disk face store."""

from sklearn_deepfake.faces._cropping import FaceCropper
from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.faces._pairs import (
    extract_pairs,
    originals_from_metadata,
    pair_partners,
)
from sklearn_deepfake.faces._store import FaceStore, LazyFaceTracks

__all__ = [
    "FaceCropper",
    "FaceStore",
    "LazyFaceTracks",
    "extract_pairs",
    "face_boxes_in_crop",
    "originals_from_metadata",
    "pair_partners",
]
