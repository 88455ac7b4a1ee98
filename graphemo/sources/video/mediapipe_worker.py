"""The MediaPipe Holistic worker: a subprocess that turns RGB frames into raw landmarks.

MediaPipe 0.10.14 (the last release line whose wheel carries the holistic ``.tflite`` models) pins
``protobuf<5`` and ``opencv-contrib-python``, which clash with graphemo's environment (mlflow needs
``protobuf>=5``; ``opencv-python-headless`` owns ``cv2``). So it lives in its own virtual environment and
graphemo runs this file there as a script, by path::

    .venv-extract/bin/python -I graphemo/sources/video/mediapipe_worker.py [--static] [--check]

``--static`` treats every frame as a new image (no tracking between frames); ``--check`` sends the hello,
runs Holistic once on a blank frame (proving that the models load offline) and exits.

Only the standard library is imported at module level, so graphemo can import this module for the
protocol constants below without having MediaPipe; ``numpy`` and ``mediapipe`` load inside :func:`main`.

Protocol (little-endian, binary, one request answered by one reply, in order):

* request on stdin: ``<II`` ``(height, width)`` then ``height * width * 3`` bytes of RGB pixels;
  ``(0, 0)`` ends the worker, ``(0, 1)`` resets the tracker (a new video starts); stdin closed between
  requests also ends it.
* reply on stdout: ``<I`` byte length, then the payload. The first reply, sent before any request is
  read, is a UTF-8 JSON object ``{"protocol", "mediapipe", "numpy", "python"}``. Each frame's reply is
  :data:`RECORD_LENGTH` float32 values: the 33 pose landmarks ``(x, y, z, visibility)``, the 478 face-mesh
  points ``(x, y, z)``, the 21 left-hand then 21 right-hand points ``(x, y, z)``; ``x, y`` are normalised to
  ``[0, 1]`` by the image width and height, and a part that was not found is all NaN.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys

PROTOCOL = 1
MEDIAPIPE_VERSION = "0.10.14"
POSE_POINTS, POSE_VALUES = 33, 4
FACE_POINTS, FACE_VALUES = 478, 3
HAND_POINTS, HAND_VALUES = 21, 3
RECORD_LENGTH = POSE_POINTS * POSE_VALUES + FACE_POINTS * FACE_VALUES + 2 * HAND_POINTS * HAND_VALUES
FRAME_HEADER = struct.Struct("<II")
LENGTH_HEADER = struct.Struct("<I")
END = (0, 0)
RESET = (0, 1)
# The only pose landmark model the wheel carries (model_complexity=1); 0 and 2 are downloaded at run time.
SHIPPED_POSE_MODEL = "modules/pose_landmark/pose_landmark_full.tflite"


def _read_exactly(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"stdin closed after {len(data)} of {n} bytes")
    return data


def _read_header(stream) -> tuple[int, int]:
    data = stream.read(FRAME_HEADER.size)
    if not data:  # the client went away between requests: same as the end request
        return END
    if len(data) != FRAME_HEADER.size:
        raise EOFError(f"stdin closed inside a request header ({len(data)} of {FRAME_HEADER.size} bytes)")
    return FRAME_HEADER.unpack(data)


def _send(stream, payload: bytes) -> None:
    stream.write(LENGTH_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _holistic(static: bool):
    from mediapipe.python.solutions.holistic import Holistic

    return Holistic(
        static_image_mode=static,
        model_complexity=1,
        smooth_landmarks=not static,
        refine_face_landmarks=True,
    )


def _record(result, np) -> bytes:
    out = np.full(RECORD_LENGTH, np.nan, dtype=np.float32)
    start = 0
    parts = (
        (result.pose_landmarks, POSE_POINTS, POSE_VALUES),
        (result.face_landmarks, FACE_POINTS, FACE_VALUES),
        (result.left_hand_landmarks, HAND_POINTS, HAND_VALUES),
        (result.right_hand_landmarks, HAND_POINTS, HAND_VALUES),
    )
    for found, points, values in parts:
        if found is not None:
            rows = [(p.x, p.y, p.z, p.visibility)[:values] for p in found.landmark[:points]]
            flat = np.asarray(rows, dtype=np.float32).ravel()
            out[start : start + flat.size] = flat
        start += points * values
    return out.tobytes()


def main(argv: list[str] | None = None) -> int:
    """Serve frames from stdin until the end request; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    static = "--static" in argv
    # Ctrl-C in a terminal reaches the whole process group; the client decides, and ends us by closing stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the real stdout for replies; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    import mediapipe
    import numpy as np

    model = os.path.join(os.path.dirname(mediapipe.__file__), SHIPPED_POSE_MODEL)
    if not os.path.exists(model):
        print(
            f"mediapipe {mediapipe.__version__} carries no pose model ({model} is missing); "
            f"graphemo needs mediapipe=={MEDIAPIPE_VERSION}",
            file=sys.stderr,
        )
        return 3
    hello = {
        "protocol": PROTOCOL,
        "mediapipe": mediapipe.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    _send(replies, json.dumps(hello).encode())
    holistic = _holistic(static)
    if "--check" in argv:
        holistic.process(np.zeros((64, 64, 3), dtype=np.uint8))
        holistic.close()
        return 0
    requests = sys.stdin.buffer
    while True:
        height, width = _read_header(requests)
        if (height, width) == END:
            break
        if (height, width) == RESET:
            holistic.close()
            holistic = _holistic(static)
            continue
        rgb = np.frombuffer(_read_exactly(requests, height * width * 3), dtype=np.uint8).reshape(height, width, 3)
        _send(replies, _record(holistic.process(rgb), np))
    holistic.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
