"""Synthetic face videos: real face photographs moving over natural backgrounds.

The faces come from two photographs bundled with scikit-image (no download):

- ``skimage.data.astronaut()``: Eileen Collins, NASA portrait, public domain.
- ``skimage.data.camera()``: a man with a camera on a tripod, CC0 (photographed
  by Lav Varshney); grayscale, face seen nearly in profile.

More "identities" are variants of these two photographs (mirroring, colour and
tone changes, horizontal stretch). They are *not* different people: only two
persons exist in this data. The backgrounds are crops of scikit-image's CC0
textures (brick, grass, gravel) and public-domain photographs (coffee, rocket),
none of which contains a face.

A manipulated video is the exact twin of a pristine one (same scene, motion,
identity and noise) in which the inner face is altered inside a feathered
elliptical mask and blended back, frame by frame, at the video's resolution:
a colour shift, a blur or sharpen mismatch and a small, slightly jittering
warp (``manipulation="blend"``), or the inner face of another identity pasted
with partial colour matching (``manipulation="swap"``). These are the kinds of
traces that blending-based face forgeries leave, so a classifier has a real,
known signal to learn.

With ``audio=True`` the first face speaks: its mouth opens and closes with a
random train of syllables (the lower lip and chin are pulled down and a dark
mouth cavity appears between the mouth corners), and the video gets an AAC
sound track whose voice (a harmonic source with a slowly varying pitch,
shaped by formants that follow the mouth opening, plus short noise bursts)
has the mouth opening as its amplitude envelope. An audio-manipulated twin
(``manipulation="audio"``) has the pristine twin's exact frames and a voice
that follows another utterance, so that sound and lips disagree, as in the
DFDC fakes whose voice was swapped.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils import Bunch, check_random_state

from sklearn_deepfake.datasets._synthetic_manipulations import (
    _MANIPULATIONS,
    _draw_manipulation,
    _manipulate,
    _Manipulation,
)
from sklearn_deepfake.datasets._synthetic_mux import _write_video
from sklearn_deepfake.datasets._synthetic_scene import (
    IDENTITIES,
    _draw_scene,
    _face_box,
    _identity,
    _mouth,
    _render_background,
    _Scene,
    _warp_face,
)
from sklearn_deepfake.datasets._synthetic_speech import (
    _SAMPLE_RATE,
    _draw_speech,
    _synthesize_voice,
)

__all__ = ["IDENTITIES", "make_face_videos"]


def _render_frames(scene: _Scene, manip: _Manipulation | None):
    """Yield (upright uint8 frame, boxes (n_faces, 4)) for each frame."""
    noise_rng = np.random.RandomState(scene.noise_seed)
    for i in range(scene.n_frames):
        frame = _render_background(scene, i)
        boxes = np.zeros((len(scene.faces), 4), dtype=np.float32)
        for k, face in enumerate(scene.faces):
            rgb, alpha = _warp_face(
                face.identity, face, i, scene.width, scene.height, _mouth(scene, k, i)
            )
            frame = rgb * alpha[..., None] + frame * (1 - alpha[..., None])
            boxes[k] = _face_box(_identity(face.identity), face, i)
        if manip is not None:
            frame = _manipulate(frame, scene, manip, i)
        noise = noise_rng.normal(0.0, 0.012, size=frame.shape).astype(np.float32)
        frame = np.clip((frame + noise) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        np.clip(boxes[:, 0::2], 0, scene.width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, scene.height, out=boxes[:, 1::2])
        yield frame, boxes


def _pair(value: Any, convert: Callable[[Any], Any], message: str) -> tuple[Any, Any]:
    """Unpack ``value`` into two converted items, or raise ValueError(message)."""
    try:
        first, second = (convert(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    return first, second


def _check_options(
    *,
    n_frames: Any,
    fps: Any,
    frame_size: Any,
    n_faces: Any,
    face_size: Any,
    rotation: Any,
    manipulation: Any,
    codec: Any,
) -> tuple[int, int, tuple[float, float], int]:
    if not isinstance(n_frames, numbers.Integral) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}.")
    if not isinstance(fps, numbers.Real) or not 1.0 <= fps <= 240.0:
        raise ValueError(f"fps must be a number in [1, 240], got {fps!r}.")
    width, height = _pair(
        frame_size, int, f"frame_size must be (width, height), got {frame_size!r}."
    )
    if width % 2 or height % 2 or min(width, height) < 64:
        raise ValueError(
            "frame_size must hold even integers of at least 64 (yuv420p), "
            f"got {frame_size!r}."
        )
    if max(width, height) > 1920 or min(width, height) > 1080:
        raise ValueError(f"frame_size is at most 1920x1080, got {frame_size!r}.")
    if not isinstance(n_faces, numbers.Integral) or n_faces not in (0, 1, 2):
        raise ValueError(f"n_faces must be 0, 1 or 2, got {n_faces!r}.")
    if isinstance(face_size, numbers.Real):
        face_size = (face_size, face_size)
    lo, hi = _pair(
        face_size,
        float,
        f"face_size must be a float or a (min, max) pair, got {face_size!r}.",
    )
    if not 0.1 <= lo <= hi <= 0.8:
        raise ValueError(
            f"face_size must lie in [0.1, 0.8] with min <= max, got {face_size!r}."
        )
    if rotation not in (0, 90, 180, 270, -90):
        raise ValueError(
            f"rotation must be one of 0, 90, 180, 270 degrees, got {rotation!r}."
        )
    if manipulation not in _MANIPULATIONS:
        raise ValueError(
            f"manipulation must be one of {_MANIPULATIONS}, got {manipulation!r}."
        )
    if codec not in ("libx264", "mpeg4"):
        raise ValueError(f"codec must be 'libx264' or 'mpeg4', got {codec!r}.")
    return width, height, (lo, hi), int(rotation) % 360


def _n_manipulated(manipulated: Any, n_videos: int) -> int:
    if isinstance(manipulated, (bool, np.bool_)):
        return n_videos if manipulated else 0
    if isinstance(manipulated, numbers.Real) and 0.0 <= manipulated <= 1.0:
        return round(float(manipulated) * n_videos)
    raise ValueError(
        f"manipulated must be a bool or a fraction in [0, 1], got {manipulated!r}."
    )


def make_face_videos(
    n_videos: int = 4,
    *,
    n_frames: int = 24,
    fps: float = 25.0,
    frame_size: tuple[int, int] = (192, 144),
    n_faces: int = 1,
    face_size: float | tuple[float, float] = (0.35, 0.5),
    motion: bool = True,
    rotation: int = 0,
    manipulated: bool | float = False,
    manipulation: str = "blend",
    audio: bool | None = None,
    identities: tuple[str, ...] | None = None,
    directory: str | os.PathLike | None = None,
    prefix: str = "face_",
    codec: str = "libx264",
    crf: int | None = 20,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    r"""Write small MP4 videos in which real face photographs move.

    Each video shows one or two head cut-outs of real photographs (see
    :data:`IDENTITIES`) that move, zoom, roll and turn (a horizontal squeeze)
    over a slowly panning natural background, with light sensor noise. The
    true face boxes are returned, and MTCNN finds the faces: with the default
    settings, facenet-pytorch's MTCNN found every face of 20 videos (480
    frames, half of them manipulated) with an IoU above 0.5 against the
    returned box (median 0.89). Manipulated videos are exact twins of pristine
    ones except for an altered inner face.

    Parameters
    ----------
    n_videos : int, default=4
        Number of videos to write.
    n_frames : int, default=24
        Frames per video.
    fps : float, default=25.0
        Frame rate written to the container.
    frame_size : tuple of (int, int), default=(192, 144)
        ``(width, height)`` of the upright, displayed frame; even numbers of at
        least 64, at most 1920x1080 (or 1080x1920).
    n_faces : {0, 1, 2}, default=1
        Faces per video. ``0`` gives background only; ``2`` puts one face in
        each half of the frame, so they never overlap.
    face_size : float or tuple of (float, float), default=(0.35, 0.5)
        Height of the face box as a fraction of the frame height, drawn
        uniformly per video from ``(min, max)`` (before the motion's ±12 %
        zoom). Two faces may be made smaller so that they fit side by side.
    motion : bool, default=True
        Whether faces and background move. ``False`` gives still scenes.
    rotation : {0, 90, 180, 270}, default=0
        Clockwise rotation that a player must apply to the decoded frames,
        written as the stream's display matrix (the old ``rotate`` tag). The
        frames are stored rotated the other way, so a reader that honours the
        metadata displays ``frame_size`` upright; one that ignores it sees the
        picture on its side.
    manipulated : bool or float, default=False
        ``True`` makes every video manipulated, ``False`` none. A fraction
        ``f`` makes ``round(f * n_videos)`` manipulated videos; as long as
        pristine videos exist, manipulated video ``j`` is the twin of pristine
        video ``j % n_pristine`` (same scene, identity, motion and noise) and
        shares its group. Pristine videos come first.
    manipulation : {"blend", "swap", "audio"}, default="blend"
        ``"blend"``: inside a feathered ellipse over the inner face, a colour
        shift, a blur or sharpen mismatch and a small warp that jitters from
        frame to frame. ``"swap"``: the inner face of another identity (cut from the
        same photograph when the allowed identities offer one, so that the
        pose matches), colour matched in part, blended in the same way.
        ``"audio"``: the frames are exactly those of the pristine twin, but the
        voice says another train of syllables (in the same voice or, half of
        the time, another pitch), so the sound no longer follows the mouth.
        Implies ``audio=True``.
    audio : bool, default=None
        Whether the first face speaks: its mouth opens and closes with a
        random train of syllables (about four per second, with pauses) and the
        video gets a mono AAC sound track at 16 kHz whose voice has the mouth
        opening as its amplitude envelope (see the module docstring). Faces
        other than the first keep their mouths closed; with ``n_faces=0`` the
        voice is off screen. ``None`` means ``manipulation == "audio"``.
        Without audio, the files are exactly those of earlier releases.
    identities : tuple of str, default=None
        Identities to draw from; all of :data:`IDENTITIES` when None.
    directory : str or path-like, default=None
        Where to write the videos (created if needed). A new temporary
        directory when None; remove it when done.
    prefix : str, default="face\_"
        File names are ``f"{prefix}{i:03d}.mp4"``.
    codec : {"libx264", "mpeg4"}, default="libx264"
        Video encoder (pixel format yuv420p).
    crf : int or None, default=20
        Constant rate factor of libx264 (lower is better quality). For
        ``"mpeg4"`` it sets the quantiser to ``crf // 4``.
    random_state : int, RandomState instance or None, default=None
        Seed. With the same seed, the files are byte-identical.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        paths : list of str
            The video files.
        boxes : list of ndarray of float32, shape (n_frames, n_faces, 4)
            True face boxes ``(x1, y1, x2, y2)`` in pixels of the upright
            displayed frame, in the style of MTCNN boxes (forehead to chin).
        target : ndarray of int, shape (n_videos,)
            ``1`` for a manipulated video, ``0`` for a pristine one.
        groups : ndarray of int, shape (n_videos,)
            Scene index: a manipulated twin shares the group of its pristine
            video.
        identities : list of tuple of str
            Identity names of the faces of each video (left to right with two
            faces).
        directory : str
            The directory holding the videos.
        frame_size, fps, n_frames, rotation : tuple, float, int, int
            The parameters of the same names, as given.
        mouth : list of ndarray of float64, shape (n_frames,)
            Only with audio: the first face's mouth opening in [0, 1] per
            frame, which the pristine sound's envelope follows.

    See Also
    --------
    make_dfdc_folder : Write such videos in the DFDC layout.

    Notes
    -----
    Only two real persons appear: Eileen Collins (``skimage.data.astronaut``,
    NASA, public domain) and the cameraman of ``skimage.data.camera`` (CC0).
    The other identities are mirrored, re-toned or stretched variants of these
    two photographs, so group by ``identities`` only as a rough proxy.

    Examples
    --------
    >>> from sklearn_deepfake.datasets import make_face_videos
    >>> data = make_face_videos(n_videos=2, n_frames=4, manipulated=0.5,
    ...                         random_state=0)
    >>> len(data.paths), data.boxes[0].shape, data.target, data.groups
    (2, (4, 1, 4), array([0, 1]), array([0, 0]))

    A talking face and its twin whose voice was swapped:

    >>> import av
    >>> data = make_face_videos(n_videos=2, n_frames=4, manipulated=0.5,
    ...                         manipulation="audio", random_state=0)
    >>> with av.open(data.paths[1]) as container:
    ...     [s.type for s in container.streams]
    ['video', 'audio']
    """
    if not isinstance(n_videos, numbers.Integral) or n_videos < 1:
        raise ValueError(f"n_videos must be a positive integer, got {n_videos!r}.")
    width, height, face_range, rotation = _check_options(
        n_frames=n_frames,
        fps=fps,
        frame_size=frame_size,
        n_faces=n_faces,
        face_size=face_size,
        rotation=rotation,
        manipulation=manipulation,
        codec=codec,
    )
    if identities is None:
        identities = IDENTITIES
    identities = tuple(identities)
    unknown = sorted(set(identities) - set(IDENTITIES))
    if unknown or len(identities) < max(n_faces, 1):
        raise ValueError(
            f"identities must name at least {max(n_faces, 1)} of {IDENTITIES}; "
            f"got {identities!r}."
        )
    n_fake = _n_manipulated(manipulated, n_videos)
    if n_fake and n_faces == 0:
        raise ValueError("manipulated videos need a face: n_faces=0 was given.")
    if audio is None:
        audio = manipulation == "audio"
    if not isinstance(audio, (bool, np.bool_)):
        raise ValueError(f"audio must be a bool or None, got {audio!r}.")
    if manipulation == "audio" and not audio:
        raise ValueError('manipulation="audio" needs audio=True (or None).')
    rng = check_random_state(random_state)
    n_real = n_videos - n_fake
    n_scenes = n_real if n_real > 0 else n_videos
    scene_seeds = rng.randint(np.iinfo(np.int32).max, size=n_scenes)
    manip_seeds = rng.randint(np.iinfo(np.int32).max, size=n_videos)
    if directory is None:
        directory = tempfile.mkdtemp(prefix="skdf_faces_")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)

    specs = []
    for i in range(n_videos):
        if i < n_real:
            specs.append((i, False))
        else:
            j = i - n_real
            specs.append((j % n_real if n_real > 0 else j, True))
    # what draws a scene: every video of one scene shares it
    scene_options: dict[str, Any] = {
        "width": width,
        "height": height,
        "n_frames": int(n_frames),
        "fps": float(fps),
        "n_faces": int(n_faces),
        "face_size": face_range,
        "motion": bool(motion),
        "identities": identities,
    }
    paths, boxes, identity_names = [], [], []
    for i, (scene_idx, fake) in enumerate(specs):
        path = os.path.join(directory, f"{prefix}{i:03d}.mp4")
        video_boxes, names = _make_one_video(
            path,
            scene_seed=int(scene_seeds[scene_idx]),
            manip_seed=int(manip_seeds[i]) if fake else None,
            rotation=rotation,
            manipulation=manipulation,
            codec=codec,
            crf=crf,
            audio=bool(audio),
            **scene_options,
        )
        paths.append(path)
        boxes.append(video_boxes)
        identity_names.append(names)
    extra = {}
    if audio:
        extra["mouth"] = [
            _draw_scene_mouth(int(scene_seeds[scene_idx]), **scene_options)
            for scene_idx, _ in specs
        ]
    return Bunch(
        paths=paths,
        boxes=boxes,
        target=np.array([int(fake) for _, fake in specs]),
        groups=np.array([scene_idx for scene_idx, _ in specs]),
        identities=identity_names,
        directory=directory,
        frame_size=(width, height),
        fps=float(fps),
        n_frames=int(n_frames),
        rotation=rotation,
        **extra,
    )


def _draw_scene_mouth(scene_seed: int, **options: Any) -> np.ndarray:
    """Mouth opening per frame of the scene drawn from ``scene_seed``."""
    scene = _draw_scene(np.random.RandomState(scene_seed), **options)
    assert scene.mouth is not None
    return scene.mouth


def _make_one_video(
    path: str,
    *,
    scene_seed: int,
    manip_seed: int | None,
    width: int,
    height: int,
    n_frames: int,
    fps: float,
    n_faces: int,
    face_size: tuple[float, float],
    motion: bool,
    rotation: int,
    manipulation: str,
    identities: tuple[str, ...],
    codec: str,
    crf: int | None,
    audio: bool | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Write one video; return its boxes and identity names.

    ``audio=None`` means ``manipulation == "audio"`` (so that
    :func:`make_dfdc_folder` gives talking faces to that manipulation).
    """
    if audio is None:
        audio = manipulation == "audio"
    scene = _draw_scene(
        np.random.RandomState(scene_seed),
        width=width,
        height=height,
        n_frames=n_frames,
        n_faces=n_faces,
        face_size=face_size,
        motion=motion,
        identities=identities,
        fps=fps if audio else None,
    )
    manip = None
    sound = None
    speech = scene.speech
    if manip_seed is not None and n_faces > 0:
        rng = np.random.RandomState(manip_seed)
        if manipulation == "audio":
            # another utterance, in the same voice half of the time
            assert speech is not None
            voice = (speech.f0, speech.wobble) if rng.rand() < 0.5 else None
            speech = _draw_speech(rng, n_frames / fps, voice)
        else:
            manip = _draw_manipulation(rng, manipulation, scene, identities)
    if speech is not None:
        n_samples = round(n_frames * _SAMPLE_RATE / fps)
        sound = _synthesize_voice(speech, n_samples, _SAMPLE_RATE)
    all_boxes = []

    def frames():
        for frame, frame_boxes in _render_frames(scene, manip):
            all_boxes.append(frame_boxes)
            yield frame, frame_boxes

    _write_video(
        path,
        frames(),
        width=width,
        height=height,
        fps=fps,
        rotation=rotation,
        codec=codec,
        crf=crf,
        audio=sound,
    )
    boxes = np.stack(all_boxes).astype(np.float32).reshape(n_frames, n_faces, 4)
    return boxes, tuple(face.identity for face in scene.faces)
