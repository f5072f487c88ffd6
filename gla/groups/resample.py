"""Rotating 2D grids by arbitrary angles: bilinear resampling, or three Fourier shears.

Convention (the same as ``c4.py``): a positive angle turns the content counter-clockwise as
displayed (row 0 at the top), about the grid centre ``((H-1)/2, (W-1)/2)``. At multiples of
90° on a square grid the sample points fall on grid points and the result equals
``jnp.rot90`` to float rounding. Points that come from outside the grid read the nearest
edge value (for MNIST-like images the edge is background).

:func:`rotate_2d_fourier` is the other interpolation: the exact quarter turns, then the
rest of the angle (within +-45°) as three shears, each a sub-pixel shift of every row (or
column) by a phase ramp of its discrete Fourier transform (Unser, Thevenaz & Yaroslavsky,
1995). A shift is unitary, so the rotation keeps the norm of a band-limited image and does
not blur it; bilinear resampling averages neighbours and blurs by an amount that depends on
the angle (none at quarter turns, most at 45°), which is not a group action:
``T_45 T_45 != T_90``. The shears treat the grid as periodic: content that reaches the
border wraps (MNIST's border is background).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gla.groups import c4


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


def _shift_lines(x: jax.Array, shifts: jax.Array, axis: int) -> jax.Array:
    """``y = x`` moved along ``axis`` (1: each column, 2: each row) so that line ``j`` of
    the other spatial axis reads ``y[i] = x[i + shifts[b, j]]`` (periodic, sub-pixel, by the
    Fourier shift theorem). ``x`` ``(B, H, W, C)``, ``shifts`` ``(B, lines)``."""
    n = x.shape[axis]
    spectrum = jnp.fft.rfft(x, axis=axis)
    k = jnp.arange(n // 2 + 1, dtype=jnp.float32)
    phase = jnp.exp(2j * jnp.pi * shifts[..., None] * k / n)  # (B, lines, freqs)
    phase = phase[:, :, :, None] if axis == 2 else jnp.swapaxes(phase, 1, 2)[..., None]
    return jnp.fft.irfft(spectrum * phase, n=n, axis=axis).astype(x.dtype)


def rotate_2d_fourier(theta: jax.Array, x: jax.Array) -> jax.Array:
    """Rotates every grid ``x[b]`` of ``(B, H, W, C)`` by ``theta[b]`` radians (CCW, the
    convention of :func:`rotate_2d`): ``rot90`` by the nearest quarter turn, exactly, then
    the remaining ``phi`` in ``[-45°, 45°]`` as shears ``S_w(a) S_h(b) S_w(a)`` with
    ``a = -tan(phi / 2)``, ``b = sin(phi)`` (``S_w(a)`` shifts row ``r`` by ``a r``).
    Identity at 0 and ``rot90`` at quarter turns, exactly; differentiable in ``x``."""
    if x.ndim != 4 or x.shape[1] != x.shape[2]:
        raise ValueError(f'rotate_2d_fourier needs square (B, H, W, C) grids, got {x.shape}')
    theta = jnp.asarray(theta, jnp.float32)
    quarter = jnp.round(theta / (jnp.pi / 2))
    x = c4.rotate_quarter_turns(quarter.astype(jnp.int32) % 4, x)
    phi = theta - quarter * (jnp.pi / 2)
    centred = jnp.arange(x.shape[1], dtype=jnp.float32) - (x.shape[1] - 1) / 2.0
    a, b = -jnp.tan(phi / 2), jnp.sin(phi)
    sheared = _shift_lines(x, a[:, None] * centred, axis=2)
    sheared = _shift_lines(sheared, b[:, None] * centred, axis=1)
    sheared = _shift_lines(sheared, a[:, None] * centred, axis=2)
    # No shear at all where phi is 0 (not even the FFT round trip's rounding).
    return jnp.where((phi == 0)[:, None, None, None], x, sheared)
