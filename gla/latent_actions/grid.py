"""Latent actions that move the cells of the latent grid: ``Phi_g = T_g`` on ``z_v``.

* :class:`GridLatentAction` (``'grid'``): the group's own action on grids, applied to the
  latent grid ``(B, *h, c)``: ``rot90`` for C4 (``gla/groups/c4.py``), bilinear resampling
  for SO(2) (``gla/groups/resample.py``), ``rot90`` over axis pairs for the cube group
  (``gla/groups/cube.py``), trilinear resampling for SO(3) (``gla/groups/resample3d.py``).
* :class:`NormPreservingGridAction` (``'grid_norm_preserving'``): the same, rescaled to keep
  ``||z_v||`` per example.
* :class:`SubcellGridAction` (``config.group.subcells = s > 1``): either of the two above on
  the latent grid read ``s`` times finer, so that the group turns what lies inside a cell too.
* :class:`RegularGridAction` (``'grid_regular'``, C4 and the cube group): the cells moved as
  by ``'grid'``, and each cell's channels, ``|G|`` copies of ``c'``, permuted as the group's
  regular representation, so that the decoder may draw a different, turned pattern for each.
* :class:`InPlaneRotation` (``'inplane'``): for groups with an angle but no pixel action
  (yaw), the 2D latent grid turned in the image plane by ``angle(g)``: the wrong prior for an
  out-of-plane rotation, kept as a control.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gla import conv
from gla.groups import base
from gla.groups import c4
from gla.groups import permutation
from gla.groups import resample


class GridLatentAction(nn.Module):
    """``Phi_g = T_g`` on the latent grid: the group acts on ``z_v`` exactly as on images
    (C4 ``rot90`` of the ``h x w`` latent grid). No parameters."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return self.group.act(g, z_v)


class NormPreservingGridAction(nn.Module):
    """``Phi_g(z) = T_g z * ||z|| / ||T_g z||`` per example: the grid action rescaled so that
    it keeps the norm of ``z_v``. Bilinear resampling (SO(2)) averages neighbouring cells and
    shrinks the norm by a few percent; against the stop-gradient target of ``L_const`` a
    shrinking ``Phi_g`` rewards a larger latent scale at every step, and the scale runs away
    (docs/results.md, issue 3). For C4 the factor is exactly 1. No parameters."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        acted = self.group.act(g, z_v)
        axes = tuple(range(1, z_v.ndim))
        norm = jnp.sqrt(jnp.sum(jnp.square(z_v), axis=axes, keepdims=True))
        acted_norm = jnp.sqrt(jnp.sum(jnp.square(acted), axis=axes, keepdims=True))
        # An all-zero z_v (e.g. every channel invariant) stays zero.
        return acted * (norm / jnp.maximum(acted_norm, 1e-12))


class SubcellGridAction(nn.Module):
    """``Phi_g``: ``inner`` (a grid action) applied to the latent grid read ``subcells`` times
    finer. Each cell's ``c`` channels, ordered ``(r_1..r_N, c')`` as in
    :func:`gla.conv.depth_to_space` (``r_i`` the position inside the cell), are the
    ``subcells^N`` sub-cells of ``c' = c / subcells^N`` channels that tile it:

        (B, *h, s^N c') -> (B, *(s h), c') -> inner(g, .) -> (B, *h, s^N c')

    The paper's grid action moves whole cells and leaves each cell's channels as they are,
    so what lies inside a cell (a lesion a third of a cell wide, off its centre) is not
    turned with the cell; here it is, at the finer grid's resolution. For C4 and the cube
    group it is still a permutation (exact, norm-preserving). Needs a mask that treats the
    sub-cells alike (``gla.mask`` ``repeats``), so that turning moves variant channels onto
    variant channels. No parameters of its own."""
    inner: nn.Module
    subcells: int

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        fine = conv.depth_to_space(z_v, self.subcells, z_v.ndim - 2)
        return conv.space_to_depth(self.inner(g, fine), self.subcells)


def regular_permutations(matrices: np.ndarray) -> tuple:
    """The regular representation of a finite rotation group given by its integer matrices
    ``(|G|, d, d)`` (element ``g`` is ``matrices[g]``): row ``g`` lists, for each ``h``, the
    index of ``g^-1 h`` (:func:`gla.groups.permutation.group_table`), so that
    ``z'[h] = z[perm[g][h]]`` is ``Phi_g`` on ``|G|`` copies and ``Phi_a Phi_b = Phi_ab``.
    A tuple of tuples (a hashable module field)."""
    table, inverse = permutation.group_table(matrices)
    return tuple(tuple(int(k) for k in table[inverse[g]]) for g in range(len(matrices)))


class RegularGridAction(nn.Module):
    """``Phi_g``: the group's action on the latent grid (as ``'grid'``), and each cell's
    ``c = |G| c'`` channels, ordered ``(h, c')`` with ``h`` an element of the group, permuted
    as the regular representation: ``(Phi_g z)(p)[h] = (T_g z)(p)[g^-1 h]``.

    With the paper's action a cell's channels do not change when the grid turns, so a decoder
    that is to draw ``T_g x`` from ``Phi_g z`` for every ``g`` must draw the same pattern for
    a cell whichever way it has turned: in effect kernels without an orientation, which draw
    blobs, not a ventricle's edge or a lesion off a cell's centre. Here each of the ``|G|``
    copies stands for one orientation of the cell's content, so the decoder can learn one
    kernel per copy, each the turned version of the others (a group convolution's lifting,
    learned). Exact (a permutation of entries); keeps the norm. Needs a mask that treats the
    copies alike (``gla.mask`` ``repeats = |G|``). No parameters."""
    group: base.Group
    permutations: tuple  # regular_permutations(...): (|G|, |G|)

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        order = len(self.permutations)
        moved = self.group.act(g, z_v)
        fields = moved.reshape(moved.shape[:-1] + (order, moved.shape[-1] // order))
        source = jnp.asarray(self.permutations, jnp.int32)[g]  # (B, |G|)
        # a one-hot product, not a gather: a gather's gradient is a scatter, slow on XLA:CPU
        choose = jax.nn.one_hot(source, order, dtype=z_v.dtype)  # (B, h, k): 1 at k = g^-1 h
        out = jnp.einsum('b...kc,bhk->b...hc', fields, choose)
        return out.reshape(moved.shape)


def turn_square_planes(theta: jax.Array, planes: jax.Array, quarter_turns: bool) -> jax.Array:
    """Turns every ``(B, P, P, C)`` plane by ``theta`` ``(B,)`` radians (counter-clockwise
    as displayed): exactly by ``rot90`` if ``quarter_turns``, else bilinear."""
    if quarter_turns:
        k = jnp.round(theta / (jnp.pi / 2)).astype(jnp.int32)
        return c4.rotate_quarter_turns(k, planes)
    return resample.rotate_2d(theta, planes)


class InPlaneRotation(nn.Module):
    """``Phi_g``: the latent grid turned in the image plane by ``angle(g)`` (exact ``rot90``
    for quarter turns, bilinear otherwise): the in-plane control for yaw."""
    angle: Callable[[jax.Array], jax.Array]
    quarter_turns: bool = False

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        if z_v.ndim != 4 or z_v.shape[1] != z_v.shape[2]:
            raise ValueError(f'the in-plane action turns square 2D latent grids, got '
                             f'{z_v.shape[1:-1]}; use square images.')
        return turn_square_planes(self.angle(g), z_v, self.quarter_turns)
