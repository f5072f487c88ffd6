"""Rotating 2D grids by arbitrary angles with bilinear resampling.

Convention (the same as ``c4.py``): a positive angle turns the content counter-clockwise as
displayed (row 0 at the top), about the grid centre ``((H-1)/2, (W-1)/2)``. At multiples of
90° on a square grid the sample points fall on grid points and the result equals
``jnp.rot90`` to float rounding. Points that come from outside the grid read the nearest
edge value (for MNIST-like images the edge is background).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def rotation_sample_points(theta: jax.Array, height: int, width: int) -> jax.Array:
    """Input coordinates ``(2, H, W)`` (row, col) that output pixels of a rotation by
    ``theta`` (a scalar, radians, counter-clockwise) read from."""
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    rows, cols = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32) - cy,
                              jnp.arange(width, dtype=jnp.float32) - cx, indexing='ij')
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    # Inverse rotation of the output point, written in (row-down, col-right) coordinates.
    src_cols = cos * cols - sin * rows + cx
    src_rows = sin * cols + cos * rows + cy
    return jnp.stack([src_rows, src_cols])


def _rotate_one(theta: jax.Array, grid: jax.Array) -> jax.Array:
    """``(H, W, C)`` grid rotated by the scalar ``theta``."""
    points = rotation_sample_points(theta, grid.shape[0], grid.shape[1])

    def channel(c):
        return jax.scipy.ndimage.map_coordinates(c, list(points), order=1, mode='nearest')

    return jax.vmap(channel, in_axes=-1, out_axes=-1)(grid)


def rotate_2d(theta: jax.Array, x: jax.Array) -> jax.Array:
    """Rotates every grid ``x[b]`` of ``(B, H, W, C)`` by ``theta[b]`` radians (CCW),
    bilinear. Differentiable in ``x``; jittable and shardable along the batch."""
    if x.ndim != 4:
        raise ValueError(f'rotate_2d needs (B, H, W, C) grids, got shape {x.shape}; 3D '
                         'volumes need a 3D rotation.')
    return jax.vmap(_rotate_one)(jnp.asarray(theta, jnp.float32), x)
