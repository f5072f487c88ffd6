"""Beyond the paper: a latent code whose variant part is a set of points (``latent='points'``).

A global code (:mod:`gla.latent_code`) makes an exact latent action possible, but its
decoder must learn to draw every pose of the object from a vector through one Dense layer;
on 3D shapes under SO(3) it drew one ellipsoid per pose and no shape (docs/results.md,
issue 15). Here the code is drawn as points instead:

    z = Dense(dim)(flatten E(x))                          (B, dim)         CodeEncoder
    z_v = rms(first 3K entries) = K points p_k in R^3;  z_i = rms(the rest)
    Phi_R z_v = (R p_1, ..., R p_K)                       'tensors', rank 1: exact
    f_k = Dense(K * c)(z_i)                               a feature per point, invariant
    G(x) = sum_k f_k exp(-|x - s p_k|^2 / (2 w^2))        (B, *h, c)  on the latent grid
    x_hat = D(LReLU(G + b))                                the paper's decoder

``x`` runs over the centred coordinates ``(d, h, w) - (n - 1) / 2`` of the ``*h`` latent
cells, the convention of :mod:`gla.groups.so3` and :mod:`gla.groups.cube`; ``s`` (cells per
unit of ``z_v``) and ``w`` (the width in cells) are learned scalars. The splatted field is
equivariant by construction: with ``p_k -> R p_k`` it becomes ``G(R^T x)``, the field turned
by ``R`` and sampled on the same cells, so the decoder sees a turned feature volume (as in
equivariant neural rendering), while the latent action stays an exact orthogonal
representation of SO(3): ``||Phi_R z_v|| = ||z_v||`` and ``Phi_R Phi_S = Phi_RS``.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def centred_cells(shape: Sequence[int]) -> jax.Array:
    """``(*shape, len(shape))``: the centred coordinates ``index - (n - 1) / 2`` of every
    cell of a grid, axes in order (``(d, h, w)`` for volumes)."""
    axes = [jnp.arange(n, dtype=jnp.float32) - (n - 1) / 2 for n in shape]
    return jnp.stack(jnp.meshgrid(*axes, indexing='ij'), axis=-1)


def splat(points: jax.Array, features: jax.Array, shape: Sequence[int],
          width: jax.Array) -> jax.Array:
    """``sum_k features_k * exp(-|x - points_k|^2 / (2 width^2))`` on the cells of
    ``shape``: ``points`` ``(B, K, N)`` in centred cell coordinates, ``features``
    ``(B, K, c)`` -> ``(B, *shape, c)``."""
    cells = centred_cells(shape).reshape(-1, len(shape))  # (P, N)
    squared = jnp.sum(jnp.square(points[:, :, None, :] - cells[None, None]), axis=-1)
    weights = jnp.exp(-squared / (2 * jnp.square(width)))  # (B, K, P)
    field = jnp.einsum('bkp,bkc->bpc', weights, features)
    return field.reshape((points.shape[0],) + tuple(shape) + (features.shape[-1],))


class PointDecoder(nn.Module):
    """``(B, dim)`` -> the image: the first ``num_points * N`` entries are points (``z_v``,
    turned by ``Phi``), the rest ``z_i`` gives each point a feature; splatted on the latent
    grid ``grid = (*h, c)`` and decoded by ``decoder`` (module docstring)."""
    decoder: nn.Module
    grid: Sequence[int]
    num_points: int
    negative_slope: float = 0.2
    init_scale: float = 2.0  # cells per unit of z_v (z_v has RMS 1 per coordinate)
    init_width: float = 1.0  # Gaussian width in cells

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        shape, channels = tuple(self.grid[:-1]), self.grid[-1]
        ndim, k = len(shape), self.num_points
        points = z[:, :ndim * k].reshape(z.shape[0], k, ndim)
        features = nn.Dense(k * channels, name='to_features')(z[:, ndim * k:])
        log_scale = self.param('log_scale', nn.initializers.constant(jnp.log(self.init_scale)),
                               ())
        log_width = self.param('log_width', nn.initializers.constant(jnp.log(self.init_width)),
                               ())
        field = splat(jnp.exp(log_scale) * points, features.reshape(z.shape[0], k, channels),
                      shape, jnp.exp(log_width))
        bias = self.param('bias', nn.initializers.zeros, (channels,))
        return self.decoder(nn.leaky_relu(field + bias, self.negative_slope))
