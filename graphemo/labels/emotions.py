"""The canonical emotion order inside graphemo, and the mappings from each dataset's codes.

graphemo's class index ``k`` always means ``EMOTIONS[k]``::

    0 anger   1 disgust   2 fear   3 happiness   4 sadness   5 surprise   6 neutral   (7 other)

``other`` (ABAW's 8th class) exists only when a dataset keeps it (``keep_other=True``). An unannotated
frame has class ``UNANNOTATED`` (-1) and valence/arousal ``NaN``; neither is ever counted as a class.
"""

from __future__ import annotations

import numpy as np

EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
OTHER = "other"
EMOTIONS_WITH_OTHER: tuple[str, ...] = (*EMOTIONS, OTHER)
UNANNOTATED = -1

# Aff-Wild2 / ABAW EXPR: 0 Neutral, 1 Anger, 2 Disgust, 3 Fear, 4 Happiness, 5 Sadness, 6 Surprise, 7 Other.
ABAW_EXPR_NAMES: tuple[str, ...] = (
    "neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "other",
)  # fmt: skip
ABAW_EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
# DFEW clip labels: 1 happy, 2 sad, 3 neutral, 4 angry, 5 surprise, 6 disgust, 7 fear.
DFEW_NAMES: dict[int, str] = {
    1: "happiness", 2: "sadness", 3: "neutral", 4: "anger", 5: "surprise", 6: "disgust", 7: "fear",
}  # fmt: skip

_SYNONYMS = {
    "angry": "anger", "happy": "happiness", "joy": "happiness", "sad": "sadness", "surprised": "surprise",
    "disgusted": "disgust", "fearful": "fear", "afraid": "fear", "calm": "neutral", "contempt": "other",
}  # fmt: skip


def class_names(keep_other: bool = False) -> tuple[str, ...]:
    """Class names in graphemo's order (7, or 8 with ``other``)."""
    return EMOTIONS_WITH_OTHER if keep_other else EMOTIONS


def emotion_index(name: str, keep_other: bool = False) -> int:
    """graphemo class index of an emotion name (case-insensitive; ``happy``/``angry``/... accepted).

    Returns:
        The index, or ``UNANNOTATED`` for ``other`` when ``keep_other`` is False.

    Raises:
        KeyError: unknown name.
    """
    key = name.strip().lower()
    key = _SYNONYMS.get(key, key)
    if key == OTHER:
        return EMOTIONS_WITH_OTHER.index(OTHER) if keep_other else UNANNOTATED
    if key not in EMOTIONS:
        raise KeyError(f"unknown emotion {name!r}; known: {', '.join(EMOTIONS_WITH_OTHER)}")
    return EMOTIONS.index(key)


def abaw_to_graphemo(keep_other: bool = False) -> np.ndarray:
    """Lookup table ``(8,)`` int8 from ABAW EXPR codes 0..7 to graphemo indices (-1 for dropped ``Other``)."""
    return np.array([emotion_index(n, keep_other) for n in ABAW_EXPR_NAMES], dtype=np.int8)


def graphemo_to_abaw() -> np.ndarray:
    """Lookup table ``(8,)`` from graphemo indices (with ``other``) to ABAW EXPR codes."""
    return np.array([ABAW_EXPR_NAMES.index(n) for n in EMOTIONS_WITH_OTHER], dtype=np.int8)


def dfew_to_graphemo() -> np.ndarray:
    """Lookup table ``(8,)`` int8 from DFEW labels (index 1..7; index 0 unused = -1) to graphemo indices."""
    table = np.full(8, UNANNOTATED, dtype=np.int8)
    for code, name in DFEW_NAMES.items():
        table[code] = EMOTIONS.index(name)
    return table
