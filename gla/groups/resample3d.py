"""Trilinear resampling of 3D grids, and rotation of volumes about their centre.

Grids are channels-last ``(B, D, H, W, C)``; sample positions are voxel-index coordinates
``(d, h, w)`` (``0 .. n - 1`` along each axis). Positions outside the grid take the value of
the nearest edge voxel (coordinates are clamped): no fill value is needed, so the same
function serves images (whose border is background) and latent grids alike. Everything is
differentiable in the grid values (the gradient of a gather is a scatter-add) and jittable.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp


def trilinear_sample(x: jax.Array, coords: jax.Array) -> jax.Array:
    """Samples ``x`` ``(B, D, H, W, C)`` at ``coords`` ``(B, *out, 3)`` -> ``(B, *out, C)``.

    Trilinear interpolation between the 8 surrounding voxels; coordinates are clamped to
    ``[0, n - 1]`` per axis (edge extension).
    """
    if x.ndim != 5 or coords.shape[-1] != 3 or coords.shape[0] != x.shape[0]:
        raise ValueError(f'trilinear_sample needs x (B, D, H, W, C) and coords (B, ..., 3) '
                         f'with the same B, got {x.shape} and {coords.shape}')
    batch, sizes, channels = x.shape[0], x.shape[1:4], x.shape[-1]
    out_shape = coords.shape[1:-1]
    c = coords.reshape(batch, -1, 3).astype(jnp.float32)
    upper = jnp.asarray([n - 1 for n in sizes], jnp.float32)
    c = jnp.clip(c, 0.0, upper)
    lo = jnp.floor(c)
    frac = c - lo
    lo = lo.astype(jnp.int32)
    hi = jnp.minimum(lo + 1, upper.astype(jnp.int32))
    # One flat index over the whole batch: its gather's gradient is a plain scatter-add.
    # take_along_axis over axis 1 (batched indices) gave the same values and gradients, but
    # rotate_volumes forward + backward took 108 ms at batch 8 of 32^3 on a 2-core CPU
    # against 58 ms for this (the whole SO(3) step: 1.07x; docs/results.md, issue 15).
    volume = sizes[0] * sizes[1] * sizes[2]
    flat = x.reshape(batch * volume, channels)
    offset = (jnp.arange(batch, dtype=jnp.int32) * volume)[:, None]
    out = jnp.zeros((batch, c.shape[1], channels), x.dtype)
    for corner in itertools.product((0, 1), repeat=3):
        idx = [jnp.where(bit, hi[..., a], lo[..., a]) for a, bit in enumerate(corner)]
        weight = jnp.ones_like(frac[..., 0])
        for a, bit in enumerate(corner):
            weight = weight * (frac[..., a] if bit else 1.0 - frac[..., a])
        linear = (idx[0] * sizes[1] + idx[1]) * sizes[2] + idx[2] + offset
        values = flat[linear]
        out = out + weight[..., None].astype(x.dtype) * values
    return out.reshape((batch,) + tuple(out_shape) + (channels,))


def centred_grid(sizes: tuple) -> jax.Array:
    """``(D, H, W, 3)`` voxel coordinates relative to the grid centre ``(n - 1) / 2``."""
    axes = [jnp.arange(n, dtype=jnp.float32) - (n - 1) / 2.0 for n in sizes]
    return jnp.stack(jnp.meshgrid(*axes, indexing='ij'), axis=-1)


def rotate_volumes(x: jax.Array, rotations: jax.Array) -> jax.Array:
    """Rotates each ``x[b]`` of ``(B, D, H, W, C)`` about its centre by ``rotations[b]``.

    ``rotations``: ``(B, 3, 3)`` orthogonal matrices on centred voxel coordinates
    ``p = (d, h, w) - (n - 1) / 2``; the output is ``(T_R x)(p) = x(R^T p)`` (trilinear),
    so ``T_R T_S = T_{RS}`` up to interpolation error, and a signed permutation matrix
    moves voxels exactly.
    """
    if x.ndim != 5:
        raise ValueError(f'rotate_volumes needs (B, D, H, W, C) grids, got shape {x.shape}')
    sizes = x.shape[1:4]
    grid = centred_grid(sizes)
    centre = jnp.asarray([(n - 1) / 2.0 for n in sizes], jnp.float32)
    # source_i = sum_j R_ji p_j, i.e. R^T p.
    source = jnp.einsum('bji,dhwj->bdhwi', rotations.astype(jnp.float32), grid) + centre
    return trilinear_sample(x, source)
