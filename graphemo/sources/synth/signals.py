"""Random signals and rotations the generator builds motion from."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

# --- random signals -------------------------------------------------------------------------------


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_frames: float) -> np.ndarray:
    """Gaussian noise smoothed along axis 0 with a Gaussian of ``sigma_frames``, unit standard deviation."""
    white = rng.standard_normal(shape)
    if sigma_frames < 0.5:
        return white
    return gaussian_filter1d(white, sigma_frames, axis=0, mode="reflect") * np.sqrt(2 * np.sqrt(np.pi) * sigma_frames)


def warped_noise(rng: np.random.Generator, clock: np.ndarray, sigma_frames: float, channels: int) -> np.ndarray:
    """``(T, channels)`` smooth unit noise that runs faster where ``clock`` (``(T,)`` increasing, in frames of
    "subjective time") advances faster: the same wobble, sped up with arousal."""
    grid = np.arange(int(np.ceil(clock[-1] - clock[0])) + 2)
    noise = smooth_noise(rng, (len(grid), channels), sigma_frames)
    return np.stack([np.interp(clock - clock[0], grid, noise[:, k]) for k in range(channels)], 1)


def telegraph(rng: np.random.Generator, num_frames: int, on_fraction: float, mean_on: float) -> np.ndarray:
    """``(T,)`` bool on/off stretches: on for ``on_fraction`` of the frames in expectation (the start state is
    drawn from the stationary distribution), on-stretches of geometric length with mean ``mean_on``."""
    if on_fraction <= 0 or num_frames == 0:
        return np.zeros(num_frames, dtype=bool)
    mean_on = max(mean_on, 1.0)
    mean_off = max(mean_on * (1 - on_fraction) / on_fraction, 1.0)
    runs: list[np.ndarray] = []
    state = bool(rng.random() < on_fraction)
    first = state
    total = 0
    while total < num_frames:
        count = 2 * int(num_frames / (mean_on + mean_off)) + 4
        on = rng.geometric(1.0 / mean_on, count)
        off = rng.geometric(1.0 / mean_off, count)
        pairs = np.column_stack([on, off] if state else [off, on]).ravel()
        runs.append(pairs)
        total += int(pairs.sum())
    lengths = np.concatenate(runs)
    values = np.resize(np.array([first, not first]), len(lengths))
    return np.repeat(values, lengths)[:num_frames]


def oscillation(phase: np.ndarray, jerk: np.ndarray) -> np.ndarray:
    """Waveform from smooth (``jerk = 0``: sine) to beats (``jerk = 1``: near-square, fast transitions)."""
    s = np.sin(phase)
    return (1 - jerk) * s + jerk * np.tanh(4 * s) / np.tanh(4)


def rotation(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotations ``R_yaw @ R_pitch @ R_roll`` in image axes (x right, y down, z toward the camera).

    ``pitch > 0`` tips forward (a forward vector turns down), ``yaw > 0`` turns toward image right,
    ``roll > 0`` tilts the top toward image right.
    """
    pitch, yaw, roll = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (pitch, yaw, roll)))
    cp, sp, cy, sy, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    one, zero = np.ones_like(pitch), np.zeros_like(pitch)
    r_pitch = np.stack([one, zero, zero, zero, cp, sp, zero, -sp, cp], -1).reshape(*pitch.shape, 3, 3)
    r_yaw = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*pitch.shape, 3, 3)
    r_roll = np.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*pitch.shape, 3, 3)
    return r_yaw @ r_pitch @ r_roll


def rotate(r: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply rotations ``(T, 3, 3)`` to points ``(T, N, 3)``."""
    return points @ np.swapaxes(r, -1, -2)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
