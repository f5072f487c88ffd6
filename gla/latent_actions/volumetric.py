"""The volumetric latent action for a rotation about one axis out of the image plane (yaw).

:class:`VolumetricRotation` (``'volumetric'``): the ``c`` channels of every latent cell are
read as a column of ``depth = w`` cells of ``c / w`` features, so ``z_v`` ``(B, h, w, c)``
becomes a feature volume ``(B, h, w, depth, f)`` with ``h`` the image's vertical axis. The
volume turns about that axis, i.e. in its ``(w, depth)`` plane, by ``angle(g)``: exact
``rot90`` when the group has 4 elements (quarter turns), bilinear resampling otherwise. Then
it is read back as channels. No parameters.

Group laws: ``Phi_e = id`` and, for quarter turns, ``Phi_g o Phi_h = Phi_gh`` hold exactly;
for 15° steps only approximately (bilinear resampling blurs, and the corners of a turned
square fall outside it).

With ``tilt`` (radians, ``config.group.volume_tilt``) the axis is the object's vertical seen
by a camera ``tilt`` above the horizon, as the planes are rendered: it leans towards the
viewer, ``cos(tilt)`` up the image and ``sin(tilt)`` out of it, so a turn also moves the
near and far parts of the object down and up the image. The volume then turns by
``R_x(tilt) R_y(angle) R_x(tilt)^T`` (trilinear, ``gla/groups/resample3d.py``); ``tilt = 0``
is the action above.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import resample3d
from gla.groups import so3
from gla.latent_actions import grid


def as_volume(z: jax.Array) -> jax.Array:
    """``z`` ``(B, h, w, c)`` -> the feature volume ``(B, h, w, w, c / w)`` (rows, columns,
    depth, features); a clear error if ``w`` does not divide ``c``."""
    b, h, w, c = z.shape
    if c % w:
        raise ValueError(
            'the latent feature volume (of the volumetric action and of '
            f'config.model.latent_volume_dilations) reads the {c} latent channels as a depth '
            f'of {w} cells (the latent width) times features, so the width must divide the '
            'channels; '
            f'change config.model.encoder_features[-1] to a multiple of {w}.')
    return z.reshape(b, h, w, w, c // w)


def rotate_volume_about_vertical(theta: jax.Array, z: jax.Array,
                                 quarter_turns: bool = False) -> jax.Array:
    """``z`` ``(B, h, w, c)`` read as a volume ``(B, h, w, w, c / w)`` (rows, columns, depth,
    features), turned by ``theta`` ``(B,)`` radians about the row (vertical) axis, i.e. in
    the (column, depth) plane, and read back as ``(B, h, w, c)``."""
    b, h, w, c = z.shape
    volume = as_volume(z)
    # (B, w, depth, h * f): the (column, depth) plane as a square grid, rows and features as
    # channels, so the 2D rotation turns the volume about its vertical axis.
    planes = volume.transpose(0, 2, 3, 1, 4).reshape(b, w, w, h * (c // w))
    turned = grid.turn_square_planes(theta, planes, quarter_turns)
    return turned.reshape(b, w, w, h, c // w).transpose(0, 3, 1, 2, 4).reshape(b, h, w, c)


def tilted_yaw_matrices(theta: jax.Array, tilt: float) -> jax.Array:
    """``(B, 3, 3)`` rotations of volume coordinates ``(row, column, depth)`` (row down the
    image, depth away from the viewer) by ``theta`` ``(B,)`` about the vertical axis of a
    camera ``tilt`` radians above the horizon. That axis is ``(cos t, 0, sin t)`` (down the
    image and away from the viewer; its opposite points up and towards the viewer), so in
    the renderer's screen frame (x right, y up, z towards the viewer;
    ``gla/settings/planes/render.py``) the turn is ``R_x(tilt) R_y(theta) R_x(tilt)^T``. At
    ``tilt = 0`` it turns the (column, depth) plane as :func:`rotate_volume_about_vertical`
    does."""
    theta = jnp.asarray(theta, jnp.float32)
    axis = jnp.asarray([np.cos(tilt), 0.0, np.sin(tilt)], jnp.float32)
    return so3.axis_angle_to_matrix(jnp.broadcast_to(axis, theta.shape + (3,)), theta)


def rotate_volume_about_tilted_axis(theta: jax.Array, z: jax.Array, tilt: float) -> jax.Array:
    """``z`` ``(B, h, w, c)`` read as the volume ``(B, h, w, w, c / w)`` of
    :func:`rotate_volume_about_vertical`, turned by ``theta`` ``(B,)`` about the axis
    :func:`tilted_yaw_matrices` gives (trilinear, edges extended), read back as channels.
    ``theta = 0`` samples every cell at its own place: the identity, exactly."""
    turned = resample3d.rotate_volumes(as_volume(z), tilted_yaw_matrices(theta, tilt))
    return turned.reshape(z.shape)


class VolumetricRotation(nn.Module):
    """``Phi_g``: :func:`rotate_volume_about_vertical` by ``angle(g)``, or with ``tilt != 0``
    :func:`rotate_volume_about_tilted_axis`. No parameters."""
    angle: Callable[[jax.Array], jax.Array]
    quarter_turns: bool = False
    tilt: float = 0.0

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        if self.tilt:
            return rotate_volume_about_tilted_axis(self.angle(g), z_v, self.tilt)
        return rotate_volume_about_vertical(self.angle(g), z_v, self.quarter_turns)
