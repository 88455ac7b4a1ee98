"""The face: the iBUG-68 + pupils template and the facial action units that deform it."""

from __future__ import annotations

import numpy as np

from graphemo.skeleton.layouts import FACE70
from graphemo.sources.synth.emotions import ANGER, DISGUST, FEAR, HAPPINESS, OTHER, SADNESS, SURPRISE

# Facial action units: displacement of landmarks (face template units = shoulder widths) for the
# person's right side and the midline; the left side is mirrored (except for the unilateral AU14).
AU_NAMES = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20",
            "AU23", "AU26", "AU45")  # fmt: skip
_AU_SPECS: dict[str, dict[int, tuple[float, float, float]]] = {
    "AU1": {21: (0, -0.026, 0), 20: (0, -0.02, 0), 19: (0, -0.01, 0)},
    "AU2": {17: (0, -0.026, 0), 18: (0, -0.022, 0), 19: (0, -0.012, 0), 20: (0, -0.005, 0)},
    "AU4": {17: (0, 0.006, 0), 18: (0, 0.01, 0), 19: (0.004, 0.015, 0), 20: (0.008, 0.018, 0),
            21: (0.011, 0.018, 0), 37: (0, 0.003, 0), 38: (0, 0.003, 0), 27: (0, 0.004, 0)},
    "AU5": {37: (0, -0.009, 0), 38: (0, -0.009, 0), 36: (0, -0.001, 0), 39: (0, -0.001, 0), 40: (0, 0.002, 0),
            41: (0, 0.002, 0)},
    "AU6": {40: (0, -0.006, 0), 41: (0, -0.006, 0), 36: (0, -0.003, 0), 1: (-0.003, -0.008, 0),
            2: (-0.003, -0.008, 0), 3: (-0.002, -0.006, 0)},
    "AU7": {40: (0, -0.005, 0), 41: (0, -0.005, 0), 37: (0, 0.003, 0), 38: (0, 0.003, 0)},
    "AU9": {31: (-0.004, -0.01, 0), 32: (0, -0.011, 0), 33: (0, -0.01, 0), 28: (0, 0.004, 0), 29: (0, 0.002, 0),
            21: (0.004, 0.008, 0), 20: (0, 0.006, 0), 49: (0, -0.007, 0), 50: (0, -0.008, 0), 51: (0, -0.008, 0),
            61: (0, -0.006, 0), 62: (0, -0.006, 0)},
    "AU10": {49: (0, -0.016, 0.003), 50: (0, -0.018, 0.004), 51: (0, -0.016, 0.004), 61: (0, -0.014, 0),
             62: (0, -0.013, 0), 48: (0, -0.004, 0), 60: (0, -0.006, 0), 31: (0, -0.004, 0), 32: (0, -0.003, 0)},
    "AU12": {48: (-0.016, -0.018, -0.006), 60: (-0.014, -0.016, -0.005), 49: (-0.008, -0.008, 0),
             59: (-0.008, -0.010, 0), 58: (-0.003, -0.002, 0), 61: (-0.006, -0.006, 0), 67: (-0.006, -0.008, 0),
             3: (-0.002, -0.006, 0), 4: (-0.002, -0.005, 0), 40: (0, -0.003, 0), 41: (0, -0.003, 0)},
    "AU14": {48: (-0.008, -0.005, -0.004), 60: (-0.007, -0.004, 0), 49: (-0.003, -0.002, 0),
             59: (-0.003, -0.002, 0)},
    "AU15": {48: (0.002, 0.016, 0), 60: (0.002, 0.014, 0), 59: (0, 0.008, 0), 49: (0, 0.005, 0), 58: (0, 0.003, 0),
             67: (0, 0.006, 0)},
    "AU17": {57: (0, -0.009, 0.004), 58: (0, -0.008, 0.003), 66: (0, -0.006, 0), 67: (0, -0.005, 0),
             7: (0, -0.008, 0), 8: (0, -0.012, 0.004)},
    "AU20": {48: (-0.018, 0.004, -0.004), 60: (-0.016, 0.003, 0), 49: (-0.008, 0.002, 0), 59: (-0.008, 0, 0),
             50: (-0.003, 0.002, 0), 58: (-0.003, -0.001, 0)},
    "AU23": {48: (0.008, 0, 0), 60: (0.008, 0, 0), 49: (0.004, 0.002, 0), 50: (0, 0.003, 0), 51: (0, 0.003, 0),
             57: (0, -0.004, 0), 58: (0, -0.004, 0), 59: (0.003, -0.002, 0), 61: (0, 0.002, 0), 62: (0, 0.002, 0),
             66: (0, -0.002, 0), 67: (0, -0.002, 0)},
    "AU26": {59: (0.003, 0.035, 0), 58: (0, 0.045, 0), 57: (0, 0.05, 0), 67: (0, 0.045, 0), 66: (0, 0.05, 0),
             48: (0.006, 0.012, 0), 60: (0.004, 0.014, 0), 61: (0, -0.003, 0), 62: (0, -0.003, 0), 8: (0, 0.055, 0),
             7: (0, 0.05, 0), 6: (0, 0.04, 0), 5: (0, 0.028, 0), 4: (0, 0.016, 0), 3: (0, 0.007, 0)},
    "AU45": {37: (0, 0.012, 0), 38: (0, 0.012, 0), 40: (0, -0.003, 0), 41: (0, -0.003, 0)},
}  # fmt: skip
_UNILATERAL = {"AU14"}
# AU intensity of each emotion at full intensity (graphemo order + other), columns AU_NAMES.
AU_PROFILE = np.zeros((8, len(AU_NAMES)))
for _emotion, _aus in {
    ANGER: {"AU4": 1.0, "AU5": 0.4, "AU7": 0.7, "AU23": 0.8, "AU17": 0.3, "AU10": 0.2},
    DISGUST: {"AU9": 1.0, "AU10": 0.8, "AU4": 0.5, "AU15": 0.3, "AU17": 0.4, "AU7": 0.3},
    FEAR: {"AU1": 0.9, "AU2": 0.6, "AU4": 0.5, "AU5": 1.0, "AU20": 0.9, "AU26": 0.4},
    HAPPINESS: {"AU6": 0.8, "AU12": 1.0, "AU26": 0.3, "AU7": 0.1},
    SADNESS: {"AU1": 0.9, "AU4": 0.5, "AU15": 0.9, "AU17": 0.5, "AU7": 0.2},
    SURPRISE: {"AU1": 1.0, "AU2": 1.0, "AU5": 0.8, "AU26": 0.9},
    OTHER: {"AU14": 0.9, "AU7": 0.2},
}.items():
    for _au, _value in _aus.items():
        AU_PROFILE[_emotion, AU_NAMES.index(_au)] = _value
AU26, AU45, AU1, AU2, AU5 = (AU_NAMES.index(n) for n in ("AU26", "AU45", "AU1", "AU2", "AU5"))


def _au_displacements() -> np.ndarray:
    """``(n_au, 70, 3)`` landmark displacement of each action unit at intensity 1."""
    out = np.zeros((len(AU_NAMES), 70, 3))
    for a, name in enumerate(AU_NAMES):
        for i, (dx, dy, dz) in _AU_SPECS[name].items():
            out[a, i] += (dx, dy, dz)
            j = FACE70.mirror[i]
            if j != i and name not in _UNILATERAL:
                out[a, j] += (-dx, dy, dz)
    return out


AU_DISPLACEMENTS = _au_displacements()


def _face_template() -> np.ndarray:
    """``(70, 3)`` neutral iBUG-68 + pupils, origin between the eyes, x right in the image, y down, z toward
    the camera, in shoulder widths (face about 0.43 wide)."""
    pts = np.zeros((70, 3))
    theta = np.linspace(-np.pi / 2, np.pi / 2, 17)
    pts[:17, 0] = 0.215 * np.sign(np.sin(theta)) * np.abs(np.sin(theta)) ** 0.7
    pts[:17, 1] = -0.03 + 0.43 * np.cos(theta)
    pts[:17, 2] = -0.15 + 0.1 * np.cos(theta)
    u = np.linspace(0.0, 1.0, 5)
    pts[17:22] = np.column_stack([-0.19 + 0.15 * u, -0.085 - 0.022 * np.sin(np.pi * (0.3 + 0.7 * u)), -0.02 + 0.02 * u])
    pts[27:31] = np.column_stack([np.zeros(4), [-0.04, 0.01, 0.06, 0.11], [0.02, 0.05, 0.08, 0.11]])
    pts[31:36] = np.column_stack([[-0.055, -0.028, 0, 0.028, 0.055], [0.14, 0.15, 0.155, 0.15, 0.14],
                                  [0.04, 0.06, 0.07, 0.06, 0.04]])  # fmt: skip
    pts[36:42] = [[-0.14, 0, -0.01], [-0.115, -0.016, 0], [-0.085, -0.016, 0], [-0.06, 0, 0], [-0.085, 0.013, 0],
                  [-0.115, 0.013, 0]]  # fmt: skip
    pts[48:60] = [[-0.075, 0.245, 0.02], [-0.05, 0.228, 0.04], [-0.022, 0.218, 0.055], [0, 0.222, 0.06],
                  [0.022, 0.218, 0.055], [0.05, 0.228, 0.04], [0.075, 0.245, 0.02], [0.05, 0.265, 0.04],
                  [0.025, 0.275, 0.05], [0, 0.278, 0.055], [-0.025, 0.275, 0.05], [-0.05, 0.265, 0.04]]  # fmt: skip
    pts[60:68] = [[-0.062, 0.245, 0.025], [-0.025, 0.238, 0.045], [0, 0.238, 0.05], [0.025, 0.238, 0.045],
                  [0.062, 0.245, 0.025], [0.025, 0.25, 0.045], [0, 0.251, 0.05], [-0.025, 0.25, 0.045]]  # fmt: skip
    pts[68] = [-0.10, 0.0, 0.01]
    for i in (*range(17, 22), 36, 37, 38, 39, 40, 41, 68):  # mirror the right brow, eye and pupil
        j = FACE70.mirror[i]
        pts[j] = pts[i] * (-1, 1, 1)
    return pts


FACE_TEMPLATE = _face_template()
# Surface normals used for self-occlusion: away from a point behind the face.
FACE_NORMALS = FACE_TEMPLATE - (0.0, 0.05, -0.25)
FACE_NORMALS /= np.linalg.norm(FACE_NORMALS, axis=1, keepdims=True)
