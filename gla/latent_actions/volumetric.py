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
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax

from gla.latent_actions import grid


def rotate_volume_about_vertical(theta: jax.Array, z: jax.Array,
                                 quarter_turns: bool = False) -> jax.Array:
    """``z`` ``(B, h, w, c)`` read as a volume ``(B, h, w, w, c / w)`` (rows, columns, depth,
    features), turned by ``theta`` ``(B,)`` radians about the row (vertical) axis, i.e. in
    the (column, depth) plane, and read back as ``(B, h, w, c)``."""
    b, h, w, c = z.shape
    if c % w:
        raise ValueError(
            f'the volumetric action reads the {c} latent channels as a depth of {w} cells '
            f'(the latent width) times features, so the width must divide the channels; '
            f'change config.model.encoder_features[-1] to a multiple of {w}.')
    volume = z.reshape(b, h, w, w, c // w)
    # (B, w, depth, h * f): the (column, depth) plane as a square grid, rows and features as
    # channels, so the 2D rotation turns the volume about its vertical axis.
    planes = volume.transpose(0, 2, 3, 1, 4).reshape(b, w, w, h * (c // w))
    turned = grid.turn_square_planes(theta, planes, quarter_turns)
    return turned.reshape(b, w, w, h, c // w).transpose(0, 3, 1, 2, 4).reshape(b, h, w, c)


class VolumetricRotation(nn.Module):
    """``Phi_g``: :func:`rotate_volume_about_vertical` by ``angle(g)``. No parameters."""
    angle: Callable[[jax.Array], jax.Array]
    quarter_turns: bool = False

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return rotate_volume_about_vertical(self.angle(g), z_v, self.quarter_turns)
