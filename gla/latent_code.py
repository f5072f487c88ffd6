"""Beyond the paper: a global latent code instead of a latent grid (``config.model.latent``).

The paper's latent is the encoder's grid ``z`` ``(B, h, w, c)``. A rotation by an arbitrary
angle cannot act exactly on a 7x7 grid: bilinear resampling shrinks ``z_v`` and blurs it,
and against the stop-gradient target of ``L_const`` the latent scale runs away
(docs/results.md, issue 3). With ``config.model.latent='code'`` the latent is a vector:

    z = Dense(dim)(flatten E(x))                          (B, dim)        CodeEncoder
    z_v = rms(M z),  z_i = rms((1 - M) z)                 each RMS 1      CodeAutoencoder
    x_hat = D(LReLU(Dense(h*w*c)(Phi_g z_v + z_i)) on the grid)           CodeDecoder

and the mask, ``Phi_g``, the loss and the evaluation are the paper's, on ``(B, dim)``. A
code can carry an exact representation of the group: channel pairs rotated by
``exp(theta A)`` with integer frequencies (``'fourier'``,
:mod:`gla.latent_actions.channel_rotation`) are orthogonal, so ``||Phi_g z_v|| = ||z_v||``,
and ``Phi_g Phi_h = Phi_gh`` to float rounding. Every entry of the code sees the whole image,
so it *can* be equivariant to a rotation that moves content across the grid.

Each part is rescaled to root-mean-square 1 over its own entries. Where ``Phi_g`` is
orthogonal and ``z_i`` invariant, those norms are themselves invariant, so the rescaling
costs nothing the objective asks for; it removes the ways the paper's objective can cheat on
the scale: a latent that grows without bound, one that shrinks to make ``L_inv`` and
``L_const`` small, or one that moves its energy into ``z_i`` to make ``L_const`` small
(measured with one norm for the whole code: relative equivariance error 0.21 at
``L_const`` 0.004, docs/results.md).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla import autoencoder

LATENT_KINDS = ('grid', 'grid_unit_rms', 'code')  # config.model.latent
# config.model.code_encoder (gla/tensor_moments.py)
CODE_ENCODERS = ('dense', 'tensor_moments', 'isotropic_moments')
# config.model.code_decoder (gla/frame_decoder.py, gla/yaw_renderer.py)
CODE_DECODERS = ('dense', 'frame', 'yaw_volume')


def unit_rms(u: jax.Array, weights: jax.Array, eps: float = 1e-6) -> jax.Array:
    """``u`` ``(B, *h, c)`` rescaled per example to root-mean-square 1 over the entries that
    the channel weights ``(c,)`` (the mask, 0/1) select; the others are 0 in ``u`` and stay
    0. No selected entry: 0."""
    cells = 1
    for d in u.shape[1:-1]:
        cells *= d
    count = jnp.maximum(jnp.sum(weights) * cells, 1.0)
    axes = tuple(range(1, u.ndim))
    return u * jax.lax.rsqrt(jnp.sum(jnp.square(u), axis=axes, keepdims=True) / count + eps)


class CodeEncoder(nn.Module):
    """``E`` followed by a global code: ``(B, *spatial, C) -> Dense -> (B, dim)``."""
    encoder: nn.Module
    dim: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        grid = self.encoder(x)
        return nn.Dense(self.dim, name='to_code')(grid.reshape(grid.shape[0], -1))


class CodeDecoder(nn.Module):
    """``(B, dim) -> `` the decoder's latent grid ``(B, *grid)`` (Dense, LeakyReLU) ``-> D``."""
    decoder: nn.Module
    grid: Sequence[int]  # (*h, c): the latent grid of the wrapped encoder
    negative_slope: float = 0.2

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        size = 1
        for d in self.grid:
            size *= d
        h = nn.Dense(size, name='to_grid')(z).reshape((z.shape[0],) + tuple(self.grid))
        return self.decoder(nn.leaky_relu(h, self.negative_slope))


class UnitRmsAutoencoder(autoencoder.GroupLatentAutoencoder):
    """The paper's chain with the two parts of the latent each rescaled to RMS 1 over their
    own entries: ``z_v = rms(M z)``, ``z_i = rms((1 - M) z)`` (``config.model.latent=
    'grid_unit_rms'`` on the encoder's grid ``(B, *h, c)``). The latent's scale cannot run
    away against the stop-gradient targets of ``L_inv`` and ``L_const``; every latent action
    that moves grid cells or rotates channel pairs keeps the RMS, so ``Phi_g`` commutes with
    the rescaling."""

    def split(self, z: jax.Array) -> tuple:
        m = self.mask().astype(z.dtype)
        return unit_rms(m * z, m), unit_rms((1 - m) * z, 1 - m)


class CodeAutoencoder(UnitRmsAutoencoder):
    """:class:`UnitRmsAutoencoder` on a global code ``z`` ``(B, dim)`` (encoder
    :class:`CodeEncoder`, decoder :class:`CodeDecoder`)."""


def latent_grid(image_shape: Sequence[int], features: Sequence[int], stride: int) -> tuple:
    """The encoder's latent grid ``(*h, c)`` for images ``image_shape`` ``(*spatial, C)``."""
    down = stride ** len(features)
    return tuple(s // down for s in image_shape[:-1]) + (features[-1],)
