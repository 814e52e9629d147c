"""Per-frame features and their pooling into one row per video.

The weight-free default, measured in ``benchmarks/bench_handcrafted_quality.py``,
is ``FaceContextFeatures()`` -> ``TemporalPooling(stats=("mean",))`` ->
``StandardScaler()`` -> ``LogisticRegression(C=0.1)``.
"""

from sklearn_deepfake.faces._geometry import face_boxes_in_crop
from sklearn_deepfake.features._audio import (
    AudioFeatures,
    log_mel_spectrogram,
    read_audio,
)
from sklearn_deepfake.features._av_sync import AVSyncFeatures
from sklearn_deepfake.features._cnn import CNNFeatureExtractor, RandomInitWarning
from sklearn_deepfake.features._face_recognition import (
    FaceRecognitionEmbeddings,
    align_face_chips,
    identity_cues,
)
from sklearn_deepfake.features._flow import OpticalFlowFeatures
from sklearn_deepfake.features._handcrafted import (
    FaceContextFeatures,
    RaggedFeatureUnion,
    SpectrumFeatures,
)
from sklearn_deepfake.features._landmarks import FaceLandmarks68, FaceShapeFeatures
from sklearn_deepfake.features._mtcnn_embed import MTCNNEmbeddings
from sklearn_deepfake.features._pooling import (
    ScorePooling,
    TemporalPooling,
    pool_scores,
    pool_track_scores,
)
from sklearn_deepfake.features._temporal_noise import TemporalNoiseFeatures
from sklearn_deepfake.features._weights import (
    FACE_BACKBONES,
    PACKAGED_WEIGHTS,
    packaged_weights_file,
)

__all__ = [
    "FACE_BACKBONES",
    "PACKAGED_WEIGHTS",
    "AVSyncFeatures",
    "AudioFeatures",
    "CNNFeatureExtractor",
    "FaceContextFeatures",
    "FaceLandmarks68",
    "FaceRecognitionEmbeddings",
    "FaceShapeFeatures",
    "MTCNNEmbeddings",
    "OpticalFlowFeatures",
    "RaggedFeatureUnion",
    "RandomInitWarning",
    "ScorePooling",
    "SpectrumFeatures",
    "TemporalNoiseFeatures",
    "TemporalPooling",
    "align_face_chips",
    "face_boxes_in_crop",
    "identity_cues",
    "log_mel_spectrogram",
    "packaged_weights_file",
    "pool_scores",
    "pool_track_scores",
    "read_audio",
]
