"""Rotations that permute the cells of a grid (C4 in 2D, the cube group in 3D), as one gather.

A rotation of a square or cubic grid by a signed permutation matrix ``M`` (integer, ``d x d``,
det +1) moves cells without mixing them:

    (T_M x)(p) = x(M^-1 p),    p = index - (n - 1) / 2  (centred cell coordinates),

the convention of :mod:`gla.groups.cube` and :mod:`gla.groups.so3`. :func:`rotate_cells`
applies one such matrix per example with a single gather over the flattened grid, the source
index of every cell computed on the device from ``M`` (no table of indices in the program).
Its gradient is the rotation by ``M^-1 = M^T``, again one gather (``jax.custom_vjp``): no
scatter. Per-example ``jnp.rot90`` copies selected with ``where`` compute the same values but
copy the batch once per candidate rotation, forward and backward: replacing them made the
fused adrenal training step 1.32x faster and a single 2D C4 step 1.04x (docs/results.md,
"Group rotations as one gather").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def matrices_of(apply_numpy, order: int, ndim: int) -> np.ndarray:
    """``(order, ndim, ndim)`` int: the matrix ``M_g`` of each element ``g`` of a rotation
    group given as ``apply_numpy(g, grid) -> rotated grid`` on one unbatched numpy grid,
    read off the action on a grid of 3 cells a side holding centred coordinates."""
    coords = np.stack(np.meshgrid(*[np.arange(3) - 1] * ndim, indexing='ij'), -1)
    out = []
    for g in range(order):
        moved = apply_numpy(g, coords)  # moved[p] = M^-1 p
        m_inv = np.stack([moved[tuple(e + 1)] for e in np.eye(ndim, dtype=int)], axis=1)
        out.append(np.round(np.linalg.inv(m_inv)).astype(np.int32))
    return np.stack(out)


def group_table(matrices: np.ndarray) -> tuple:
    """``(table, inverse)`` of a finite rotation group given by its distinct integer matrices
    ``(order, d, d)``: ``table[a, b]`` is the element whose matrix is ``M_a @ M_b`` ("first
    b, then a"), ``inverse[g]`` the element whose matrix is ``M_g^T``; both int32."""
    index = {np.asarray(m).tobytes(): g for g, m in enumerate(matrices)}
    assert len(index) == len(matrices), 'the group\'s matrices must be distinct'

    def element(m: np.ndarray) -> int:
        return index[np.asarray(m, matrices.dtype).tobytes()]
    order = len(matrices)
    table = np.array([[element(matrices[a] @ matrices[b]) for b in range(order)]
                      for a in range(order)], np.int32)
    return table, np.array([element(matrices[g].T) for g in range(order)], np.int32)


def _source_cells(m: jax.Array, side: int, ndim: int) -> jax.Array:
    """``(B, side**ndim)`` int32: the flat index of the cell ``M^-1 p`` read into each cell
    ``p``, for matrices ``m`` ``(B, ndim, ndim)``. Doubled coordinates ``2 p`` are odd or
    even integers, so the arithmetic is exact."""
    index = jnp.stack(jnp.meshgrid(*[jnp.arange(side, dtype=jnp.int32)] * ndim,
                                   indexing='ij'), -1).reshape(-1, ndim)
    doubled = 2 * index - (side - 1)  # (P, ndim)
    m_inv = jnp.swapaxes(m, 1, 2).astype(jnp.int32)  # signed permutation: M^-1 = M^T
    source = jnp.sum(m_inv[:, None, :, :] * doubled[None, :, None, :], axis=-1)  # (B, P, nd)
    source = (source + (side - 1)) // 2
    strides = jnp.asarray([side ** (ndim - 1 - a) for a in range(ndim)], jnp.int32)
    return jnp.sum(source * strides, axis=-1)


@jax.custom_vjp
def rotate_cells(m: jax.Array, x: jax.Array) -> jax.Array:
    """Each grid ``x[b]`` of ``(B, *grid, C)`` (``ndim`` equal spatial axes) rotated by the
    signed permutation matrix ``m[b]`` of ``m`` ``(B, ndim, ndim)``: ``(T_M x)(p) =
    x(M^-1 p)``. Exact (a permutation of cells); the gradient is the rotation by ``M^T``."""
    batch, channels = x.shape[0], x.shape[-1]
    grid = x.shape[1:-1]
    ndim, side = len(grid), grid[0]
    source = _source_cells(m, side, ndim)
    flat = x.reshape(batch, side ** ndim, channels)
    moved = jnp.take_along_axis(flat, source[:, :, None], axis=1, mode='promise_in_bounds')
    return moved.reshape(x.shape)


def _rotate_cells_fwd(m, x):
    return rotate_cells(m, x), m


def _rotate_cells_bwd(m, moved_cotangent):
    return None, rotate_cells(jnp.swapaxes(m, 1, 2), moved_cotangent)


rotate_cells.defvjp(_rotate_cells_fwd, _rotate_cells_bwd)
