"""Rotated & blocked images: a square block that does not move, drawn on both images.

The digit turns under ``g``, the block stays: ``x = paint(image)`` and ``T_g x =
paint(T_g image)`` with the same block (size, position, intensity) on both, drawn **after**
rotating, so the pair teaches that the block is invariant. The position is drawn uniformly
per image, with the block wholly inside the grid. Everything is pure and jittable.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gla.groups import base


def block_masks(key: jax.Array, num: int, spatial_shape: tuple, size: int) -> jax.Array:
    """``(num, H, W, 1)`` float masks, 1 inside a ``size x size`` square at a uniformly
    random position (top-left corner in ``[0, H - size] x [0, W - size]``), 0 elsewhere."""
    height, width = spatial_shape
    if not 0 < size <= min(height, width):
        raise ValueError(f'config.blocks.size={size} must be in [1, {min(height, width)}] '
                         f'for {height}x{width} images')
    key_r, key_c = jax.random.split(key)
    top = jax.random.randint(key_r, (num, 1, 1), 0, height - size + 1)
    left = jax.random.randint(key_c, (num, 1, 1), 0, width - size + 1)
    rows = jnp.arange(height)[None, :, None]
    cols = jnp.arange(width)[None, None, :]
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return inside[..., None].astype(jnp.float32)


def paint(images: jax.Array, masks: jax.Array, intensity: float) -> jax.Array:
    """``images`` ``(B, H, W, C)`` with every pixel under ``masks`` ``(B, H, W, 1)`` set to
    ``intensity`` (images live in [-1, 1]; 1.0 is full white)."""
    return masks * jnp.asarray(intensity, images.dtype) + (1 - masks) * images


def blocked_pairs(group: base.Group, size: int, intensity: float):
    """The pair function ``(key, images, g) -> (paint(x), paint(T_g x))`` (``gla/pairs.py``):
    ``key`` draws the block position, one per image."""

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        masks = block_masks(key, images.shape[0], tuple(images.shape[1:3]), size)
        return paint(images, masks, intensity), paint(group.act(g, images), masks, intensity)

    return make
