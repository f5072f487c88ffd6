"""Metrics that see the object, not the background: pure per-example functions for volumes.

A 3D test volume is mostly background (AdrenalMNIST3D at 32^3: ~98 % of the voxels), so a
prediction of background everywhere already scores a high PSNR. These functions measure the
object itself. Conventions, shared with :mod:`gla.metrics`:

  * volumes (or images) are ``(B, *spatial, C)`` in ``[-1, 1]``, background ``-1``;
  * masks are boolean, shaped like the volumes or broadcastable to them (``(B, *spatial,
    1)``: one mask for every channel);
  * each function returns one value per example, ``(B,)``;
  * binary shapes are thresholded at the midpoint of the range, ``threshold = 0``: a voxel is
    foreground where its value is ``> threshold``.

Everything is ``jax.numpy`` and jittable; numpy arrays work too. Where a quantity is
undefined (an empty mask) the value is NaN, except Dice and IoU of two empty shapes, which
are 1 (they agree).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

MIDPOINT = 0.0  # the threshold of binary shapes: the midpoint of [-1, 1]


def _sum(x: jax.Array) -> jax.Array:
    """Sum over every axis but the first: ``(B, ...) -> (B,)``."""
    return jnp.sum(x, axis=tuple(range(1, x.ndim)))


def foreground(volumes: jax.Array, threshold: float = MIDPOINT) -> jax.Array:
    """The binary shape of ``volumes`` ``(B, *spatial, C)``: ``volumes > threshold``."""
    return volumes > threshold


def dice(prediction: jax.Array, target: jax.Array, threshold: float = MIDPOINT) -> jax.Array:
    """Dice coefficient ``2 |P & T| / (|P| + |T|)`` of the thresholded shapes ``P``, ``T``
    of ``prediction`` and ``target`` ``(B, *spatial, C)``: ``(B,)`` in ``[0, 1]``; 1 when
    both shapes are empty."""
    p, t = foreground(prediction, threshold), foreground(target, threshold)
    overlap = _sum(p & t).astype(jnp.float32)
    total = (_sum(p) + _sum(t)).astype(jnp.float32)
    return jnp.where(total > 0, 2.0 * overlap / jnp.maximum(total, 1.0), 1.0)


def iou(prediction: jax.Array, target: jax.Array, threshold: float = MIDPOINT) -> jax.Array:
    """Intersection over union (Jaccard) ``|P & T| / |P | T|`` of the thresholded shapes:
    ``(B,)`` in ``[0, 1]``; 1 when both shapes are empty. ``iou = dice / (2 - dice)``."""
    p, t = foreground(prediction, threshold), foreground(target, threshold)
    overlap = _sum(p & t).astype(jnp.float32)
    union = _sum(p | t).astype(jnp.float32)
    return jnp.where(union > 0, overlap / jnp.maximum(union, 1.0), 1.0)


def masked_squared_error(prediction: jax.Array, target: jax.Array, mask: jax.Array) -> tuple:
    """``(sum of (prediction - target)^2 over the mask, number of values in the mask)``,
    each ``(B,)`` float32; the mask is broadcast to the volumes' shape (a ``(B, *spatial,
    1)`` mask counts every channel of its voxels). Pool these over a test set to weigh
    every masked voxel the same."""
    mask = jnp.broadcast_to(mask, prediction.shape)
    error = jnp.where(mask, jnp.square(prediction - target), 0.0)
    return _sum(error).astype(jnp.float32), _sum(mask).astype(jnp.float32)


def masked_mse(prediction: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean squared error over the mask only: ``(B,)``; NaN where the mask is empty."""
    error, count = masked_squared_error(prediction, target, mask)
    return jnp.where(count > 0, error / jnp.maximum(count, 1.0), jnp.nan)


def foreground_mse(prediction: jax.Array, target: jax.Array,
                   threshold: float = MIDPOINT) -> jax.Array:
    """Mean squared error over the target's shape (voxels where ``target > threshold``): how
    well the object itself is drawn, blind to the background. ``(B,)``; NaN where the
    target has no foreground."""
    return masked_mse(prediction, target, foreground(target, threshold))


def psnr_of_mse(mse: jax.Array, data_range: float = 2.0) -> jax.Array:
    """``10 log10(data_range^2 / mse)`` in dB (``inf`` for 0, NaN for NaN)."""
    return 10.0 * jnp.log10(data_range ** 2 / mse)


def masked_psnr(prediction: jax.Array, target: jax.Array, mask: jax.Array,
                data_range: float = 2.0) -> jax.Array:
    """PSNR in dB over the mask only (e.g. inside the head): ``10 log10(data_range^2 /
    masked_mse)``, ``(B,)``; NaN where the mask is empty. Data range 2 for ``[-1, 1]``."""
    return psnr_of_mse(masked_mse(prediction, target, mask), data_range)


def masked_mean(volumes: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean value of ``volumes`` over the mask (all channels of masked voxels): ``(B,)``;
    NaN where the mask is empty."""
    mask = jnp.broadcast_to(mask, volumes.shape)
    total, count = _sum(jnp.where(mask, volumes, 0.0)), _sum(mask).astype(jnp.float32)
    return jnp.where(count > 0, total / jnp.maximum(count, 1.0), jnp.nan)


def structure_contrast(volumes: jax.Array, structure: jax.Array,
                       reference: jax.Array) -> jax.Array:
    """Contrast of a structure against a reference tissue: ``mean(volumes over structure) -
    mean(volumes over reference)``, in the volumes' units (``[-1, 1]``: contrast in
    ``[-2, 2]``). ``(B,)``; NaN where either mask is empty. A constant volume (e.g. all
    background) has contrast 0."""
    return masked_mean(volumes, structure) - masked_mean(volumes, reference)
