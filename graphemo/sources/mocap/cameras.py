r"""Virtual cameras around a motion-capture clip, and the perspective projection to pixels as OpenPose writes them.

Each camera is static for the whole clip (as a real camera is) and looks at the clip's centre (the mean position
of the body over the clip). It stands ``distance`` metres away, ``elevation`` degrees above the horizon, at
``azimuth`` degrees around the vertical axis from the direction the person faces at the start (0: in front, 90:
at the person's left, 180: behind). With ``fit``, the camera moves back until every joint of every frame is in
the image (a walk across the room stays in view, as a wide shot).

A point :math:`P` in camera coordinates :math:`(x, y, z)` (right, up, forward) lands at
:math:`u = c_x + f x / z`, :math:`v = c_y - f y / z` (pixels, ``v`` down, origin top left), ``f`` the focal length
in pixels. Points behind the camera or outside the image are missing, as in OpenPose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UP = np.array([0.0, 1.0, 0.0])
FIT_MARGIN = 0.04  # fraction of the image kept free at each border when fitting
MAX_DISTANCE = 60.0


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: position ``(3,)``, rotation ``(3, 3)`` (rows: right, up, forward), focal length in
    pixels, image ``(width, height)``."""

    position: np.ndarray
    rotation: np.ndarray
    focal: float
    image_size: tuple[int, int]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., 3)`` world points -> ``(..., 2)`` pixels and ``(...,)`` bool: in front of the camera and inside
        the image."""
        local = (points - self.position) @ self.rotation.T
        depth = local[..., 2]
        ahead = depth > 1e-3
        z = np.where(ahead, depth, 1.0)
        width, height = self.image_size
        u = width / 2 + self.focal * local[..., 0] / z
        v = height / 2 - self.focal * local[..., 1] / z
        pixels = np.stack([u, v], axis=-1)
        inside = ahead & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        return pixels, inside


def look_at(position: np.ndarray, target: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """The rotation (rows: right, up, forward) of a camera at ``position`` looking at ``target``."""
    forward = target - position
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight down or up
        right = np.cross(forward, [0.0, 0.0, 1.0])
    right = right / np.linalg.norm(right)
    return np.stack([right, np.cross(right, forward), forward])


def facing_direction(left: np.ndarray, right: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """The horizontal unit vector a person faces, from ``(F, 3)`` positions of a left and a right joint (hips or
    shoulders) over the first frames: perpendicular to the right-to-left line, for a person whose left is at
    ``+x`` when facing ``+z`` (the usual right-handed, y-up BVH world)."""
    across = np.nanmean(left - right, axis=0)
    forward = np.cross(across, up)
    forward -= up * (forward @ up)
    norm = np.linalg.norm(forward)
    return forward / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])


def place_camera(
    target: np.ndarray,
    facing: np.ndarray,
    *,
    azimuth: float,
    elevation: float,
    distance: float,
    focal: float,
    image_size: tuple[int, int],
    up: np.ndarray = UP,
) -> Camera:
    """A camera ``distance`` from ``target`` at ``azimuth`` (degrees, counter-clockwise seen from above, from the
    facing direction) and ``elevation`` (degrees above the horizon), looking at ``target``."""
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    side = np.cross(up, facing)  # the person's left, seen from above
    horizontal = np.cos(a) * facing + np.sin(a) * side
    position = target + distance * (np.cos(e) * horizontal + np.sin(e) * up)
    return Camera(position, look_at(position, target, up), float(focal), (int(image_size[0]), int(image_size[1])))


def fit_distance(points: np.ndarray, camera_at: callable, distance: float) -> float:  # type: ignore[valid-type]
    """The smallest distance (from ``distance`` up, by 10 % steps) at which every point of ``points`` ``(N, 3)``
    projects inside the image with a margin; :data:`MAX_DISTANCE` if none does."""
    while distance < MAX_DISTANCE:
        camera = camera_at(distance)
        pixels, ahead = camera.project(points)
        width, height = camera.image_size
        mx, my = FIT_MARGIN * width, FIT_MARGIN * height
        inside = ahead.all() and (pixels[:, 0].min() >= mx) and (pixels[:, 0].max() <= width - mx)
        if inside and pixels[:, 1].min() >= my and pixels[:, 1].max() <= height - my:
            return distance
        distance *= 1.1
    return MAX_DISTANCE
