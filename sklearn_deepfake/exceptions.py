"""Errors and warnings raised by sklearn-deepfake.

Every warning names the file it is about, so that one bad video among
thousands can be found and the batch can go on.
"""

__all__ = [
    "NoAudioWarning",
    "NoFaceWarning",
    "StoreCorruptionError",
    "VideoReadError",
    "VideoReadWarning",
]


class VideoReadError(OSError):
    """A video file exists but cannot be decoded (or not completely).

    Raised by the low-level readers in :mod:`sklearn_deepfake.video`. The
    transformers catch it, emit a :class:`VideoReadWarning` and return a
    flagged, empty record for that video, so a batch is never killed by one
    file.
    """


class VideoReadWarning(UserWarning):
    """A video could not be read (or only partly); the message names it."""


class NoFaceWarning(UserWarning):
    """No face was found in a video; it gets an empty, flagged record."""


class NoAudioWarning(UserWarning):
    """A video has no usable sound (no audio stream, or only silence).

    The audio transformers give it a documented fallback row with its
    ``has_audio`` indicator set to 0; the message names the file. Sound that
    cannot be decoded gives a :class:`VideoReadWarning` instead.
    """


class StoreCorruptionError(ValueError):
    """A face-store record is truncated, corrupt or cannot be parsed.

    :class:`~sklearn_deepfake.faces.FaceCropper` catches it when it looks a
    record up, warns (naming the record file and the video) and extracts the
    faces again. A :class:`~sklearn_deepfake.faces.LazyFaceTracks` whose
    record is damaged after it was handed out raises it when its arrays are
    read; run the face step again to recompute the record.
    """
