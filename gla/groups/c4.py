"""C4: rotations of a square 2D grid by quarter turns (the published code's group).

Elements are ``int32`` counts ``k`` in ``{0, 1, 2, 3}``; ``k`` rotates a ``(B, H, W, C)``
grid by ``k`` quarter turns counter-clockwise as displayed (row 0 at the top), i.e.
``jnp.rot90(x, k, axes=(1, 2))``. The action is a permutation of grid cells, so it is exact
on images and latents alike and the group laws hold bit for bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import base
from gla.groups import permutation

ORDER = 4


# (4, 2, 2) int32: the matrix of k quarter turns on centred (row, column) coordinates.
MATRICES = permutation.matrices_of(lambda k, x: np.rot90(x, k, (0, 1)), ORDER, 2)


def rotate_quarter_turns(k: jax.Array, x: jax.Array) -> jax.Array:
    """Rotates each grid ``x[b]`` of ``(B, H, W, C)`` by ``k[b]`` quarter turns (CCW): one
    gather of the cells (:func:`gla.groups.permutation.rotate_cells`), equal bit for bit to
    ``jnp.rot90(x[b], k[b], axes=(0, 1))``; its gradient is the gather by the inverse turn."""
    check_square_grid(x.shape[1:3])
    return permutation.rotate_cells(jnp.asarray(MATRICES)[jnp.mod(k, ORDER)], x)


def check_square_grid(spatial_shape: tuple) -> None:
    if len(spatial_shape) != 2 or spatial_shape[0] != spatial_shape[1]:
        raise ValueError(
            f'C4 rotates square 2D grids, got spatial shape {tuple(spatial_shape)}: '
            'use square images and an encoder whose latent grid is square (h == w), '
            'or a group that acts on this grid.')


def make_group() -> base.Group:
    return base.cyclic_group('c4', ORDER, spatial_ndim=2, act=rotate_quarter_turns,
                             check_grid=check_square_grid)
