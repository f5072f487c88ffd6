"""Latent actions for a rotation about one axis that leaves the image plane (yaw of a
rendered object), as Flax modules ``phi(g, z_v)`` on ``z_v`` of shape ``(B, h, w, c)``.

* ``VolumetricRotation`` (``'volumetric'``): the ``c`` channels of every latent cell are read
  as a column of ``depth = w`` cells of ``c / w`` features, so ``z_v`` becomes a feature
  volume ``(B, h, w, depth, f)`` with ``h`` the image's vertical axis. The volume turns about
  that axis, i.e. in its ``(w, depth)`` plane, by ``angle(g)``: exact ``rot90`` when the group
  has 4 elements (quarter turns), bilinear resampling (``resample.rotate_2d``) otherwise.
  Then it is read back as channels. No parameters.
* ``IntegerChannelRotation`` (``'learned_channels_integer'``): the learned representation
  ``exp(angle(g) A)`` of ``channel_rotation.py`` with frequencies rounded to integers in the
  forward pass (straight-through gradient to the real-valued parameters). Integer
  frequencies make it a representation of ``C_n`` (and SO(2)) exactly: ``Phi`` of ``n`` steps
  is the identity, which real frequencies do not give. This is the variant the planes
  comparison uses as "learned"; ``'learned_channels'`` (real frequencies) stays available.
* ``InPlaneRotation`` (``'inplane'``): the wrong prior, as a control: the 2D latent grid
  turns in the image plane by ``angle(g)`` (exact ``rot90`` for 4 elements, bilinear
  otherwise), as if yaw were an in-plane rotation.

Group laws: ``Phi_e = id`` and, for quarter turns, ``Phi_g o Phi_h = Phi_gh`` hold exactly;
for 15° steps the two resampled actions hold them only approximately (bilinear resampling
blurs and the corners of a turned square fall outside it); the channel rotation holds them
to float rounding for every angle.
"""

from __future__ import annotations

import functools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import base
from gla.groups import c4
from gla.groups import channel_rotation
from gla.groups import resample


def group_order(group: base.Group) -> int:
    """Number of evaluation elements: the order of a finite group."""
    return int(len(np.asarray(jax.tree.leaves(group.eval_elements())[0])))


def _turn_square_planes(theta: jax.Array, planes: jax.Array, quarter_turns: bool) -> jax.Array:
    """Turns every ``(B, P, P, C)`` plane by ``theta`` ``(B,)`` radians (counter-clockwise
    as displayed): exactly by ``rot90`` if ``quarter_turns``, else bilinear."""
    if quarter_turns:
        k = jnp.round(theta / (jnp.pi / 2)).astype(jnp.int32)
        return c4.rotate_quarter_turns(k, planes)
    return resample.rotate_2d(theta, planes)


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
    turned = _turn_square_planes(theta, planes, quarter_turns)
    return turned.reshape(b, w, w, h, c // w).transpose(0, 3, 1, 2, 4).reshape(b, h, w, c)


class VolumetricRotation(nn.Module):
    """``Phi_g``: :func:`rotate_volume_about_vertical` by ``angle(g)``. No parameters."""
    angle: Callable[[jax.Array], jax.Array]
    quarter_turns: bool = False

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return rotate_volume_about_vertical(self.angle(g), z_v, self.quarter_turns)


class InPlaneRotation(nn.Module):
    """``Phi_g``: the latent grid turned in the image plane by ``angle(g)`` (the control)."""
    angle: Callable[[jax.Array], jax.Array]
    quarter_turns: bool = False

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        if z_v.ndim != 4 or z_v.shape[1] != z_v.shape[2]:
            raise ValueError(f'the in-plane action turns square 2D latent grids, got '
                             f'{z_v.shape[1:-1]}; use square images.')
        return _turn_square_planes(self.angle(g), z_v, self.quarter_turns)


# Integer frequencies: starting frequencies 1 .. round(init_max).
IntegerChannelRotation = functools.partial(channel_rotation.LearnedChannelRotation,
                                           init_max=4.5, integer_frequencies=True)


def volumetric(group: base.Group) -> nn.Module:
    return VolumetricRotation(group.angle, quarter_turns=group_order(group) == 4)


def inplane(group: base.Group) -> nn.Module:
    return InPlaneRotation(group.angle, quarter_turns=group_order(group) == 4)


def learned_channels_integer(group: base.Group) -> nn.Module:
    return IntegerChannelRotation(group.angle)
