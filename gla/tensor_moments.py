"""Beyond the paper: an SO(3) tensor code whose ``z_v`` turns with the volume by construction
(``config.model.code_encoder='tensor_moments'``).

With ``config.model.latent='code'`` and ``config.group.latent_action='tensors'``, ``z_v`` is
read as blocks of Cartesian tensors (a 3-vector ``v_k``, a 3x3 matrix ``M_k``, ...) turned
exactly by ``Phi_R`` (``v -> R v``, ``M -> R M R^T``,
:mod:`gla.latent_actions.tensor_rotation`). With the plain code encoder
(:class:`gla.latent_code.CodeEncoder`, a Dense layer on the flattened grid) ``L_const`` is
met by a ``z_v`` made of the matrices' traces, the one part of a tensor code that no
rotation moves: in the 40-epoch runs of ``configs/adrenal3d_so3.py`` 99.8 % of ``z_v``'s
energy sat in the traces, so its equivariance error of 0.0007 measured an invariant code
(docs/results.md, issue 15). This module closes that door and opens the right one:

    w(p)   = Dense(E(x)(p))                      (B, P, K * r)   per-cell weights
    v_k    = mean_p w_k1(p) p,   M_k = mean_p w_k2(p) p p^T, ...   moments about the centre
    z_v    = rms(remove_isotropic(M z))           traces and epsilon parts removed
    z_i    = rms((1 - M) Dense(flatten E(x)))     as CodeEncoder

``p`` ``(3,)`` is the centred ``(d, h, w)`` coordinate of a cell of the encoder's grid, the
frame in which ``R`` turns the volume. Where the cells' features move with the volume
(``E(T_R x)(p) ~ E(x)(R^T p)``), the moments turn by ``R``: ``z_v`` is equivariant up to
how far the convolutions and the resampling are from it, so ``L_const`` starts low and
stays low, and it can no longer be met by traces.

``config.model.code_encoder='isotropic_moments'`` (:class:`IsotropicMomentEncoder`, the
default of ``configs/adrenal3d_so3.py``) takes the weights from the input instead, from
features a rotation moves but does not change (:func:`isotropic_features`): then ``z_v`` is
equivariant by construction, up to resampling, not only as far as the convolutions are. The
code is drawn by :class:`gla.latent_code.CodeDecoder`, or in a frame read off ``z_v``
(:mod:`gla.frame_decoder`).
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gla import grids
from gla import latent_code
from gla.groups import resample3d
from gla.latent_actions import tensor_rotation

MAX_RANK = 3  # remove_isotropic knows the isotropic tensors up to rank 3


def cell_coordinates(grid: Sequence[int]) -> jax.Array:
    """Centred coordinates ``(d, h, w)`` of the cells of a grid ``grid`` ``(D, H, W)``
    (:func:`gla.groups.resample3d.centred_grid`), in units of half the longest side, one
    scale for every axis so that rotations stay rotations: ``(D * H * W, 3)`` (on a side of 8
    cells the innermost sit at +-1/8, the outermost at +-7/8)."""
    return resample3d.centred_grid(tuple(grid)).reshape(-1, 3) / (max(grid) / 2)


def tensor_moments(weights: jax.Array, p: jax.Array, max_rank: int) -> jax.Array:
    """Moments of per-cell weights ``weights`` ``(B, P, K * max_rank)`` at the points ``p``
    ``(P, 3)``: block ``k`` holds ``mean_p w(p) p^{(x)r}`` for ranks ``r = 1 .. max_rank``
    (weight column ``k * max_rank + r - 1``), laid out as
    :func:`~gla.latent_actions.tensor_rotation.rotate_tensors` reads blocks: ``(B, K * s)``.
    If the weights move with the points (``w'(p) = w(R^T p)``), the moments turn by ``R``."""
    batch, points = weights.shape[:2]
    num_blocks = weights.shape[-1] // max_rank
    w = weights.reshape(batch, points, num_blocks, max_rank)
    out, power = [], jnp.ones((points, 1), p.dtype)
    for rank in range(1, max_rank + 1):
        power = (power[:, :, None] * p[:, None, :]).reshape(points, 3 ** rank)  # p^{(x)r}
        # one matmul over the points; an einsum with r copies of p would build (B, P, K, 3^r)
        moment = jnp.einsum('zxk,xm->zkm', w[..., rank - 1], power) / points
        out.append(moment)
    return jnp.concatenate(out, axis=-1).reshape(batch, -1)


class TensorMomentEncoder(nn.Module):
    """``E`` ``->`` its grid ``(B, *grid)`` ``->`` a code ``(B, dim)``: the first
    ``num_variant`` entries are tensor blocks, the moments (:func:`tensor_moments`) of
    per-cell weights (a Dense layer on each cell's features) about the grid's centre; the
    other ``dim - num_variant`` a Dense layer on the flattened grid."""
    encoder: nn.Module
    dim: int
    num_variant: int
    max_rank: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        grid = self.encoder(x)
        cells = grid.reshape(grid.shape[0], -1, grid.shape[-1])
        num_blocks = self.num_variant // tensor_rotation.block_size(self.max_rank)
        weights = nn.Dense(num_blocks * self.max_rank, name='cell_weights')(cells)
        p = cell_coordinates(grid.shape[1:-1])
        rest = nn.Dense(self.dim - self.num_variant, name='to_code')(
            grid.reshape(grid.shape[0], -1))
        return jnp.concatenate([tensor_moments(weights, p, self.max_rank), rest], axis=-1)


def blur_matrix(size: int, sigma: float) -> np.ndarray:
    """``(size, size)``: a Gaussian of ``sigma`` cells along one axis (cut at 3 sigma,
    normalised, edges padded by their own values) as a matrix on that axis."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    matrix = np.zeros((size, size))
    for i in range(size):
        np.add.at(matrix[i], np.clip(np.arange(i - radius, i + radius + 1), 0, size - 1), taps)
    return (matrix / taps.sum()).astype(np.float32)


def gaussian_blur(x: jax.Array, sigma: float) -> jax.Array:
    """``x`` ``(B, D, H, W, C)`` blurred by an isotropic Gaussian of ``sigma`` voxels
    (separable, one small matrix product per axis, :func:`blur_matrix`): a filter that
    commutes with every rotation up to its sampling. (As a sum of shifted slices it took
    most of the step.)"""
    for axis in (1, 2, 3):
        matrix = jnp.asarray(blur_matrix(x.shape[axis], sigma), x.dtype)
        x = jnp.moveaxis(jnp.tensordot(matrix, x, axes=([1], [axis])), 0, axis)
    return x


def gradient_norm(x: jax.Array) -> jax.Array:
    """``|grad x|`` of ``x`` ``(B, D, H, W, C)`` by central differences (edges padded by
    their own values), per channel: ``(B, D, H, W, C)``."""
    squared = 0.0
    for axis in (1, 2, 3):
        padding = [(0, 0)] * x.ndim
        padding[axis] = (1, 1)
        padded = jnp.pad(x, padding, mode='edge')
        size = x.shape[axis]
        difference = (jax.lax.slice_in_dim(padded, 2, size + 2, axis=axis)
                      - jax.lax.slice_in_dim(padded, 0, size, axis=axis)) / 2
        squared = squared + difference ** 2
    return jnp.sqrt(squared + 1e-12)


def isotropic_features(x: jax.Array, sigmas: Sequence[float]) -> jax.Array:
    """Per-voxel features of ``x`` ``(B, D, H, W, C)`` that no rotation changes, only moves:
    ``x``, its Gaussian blurs at ``sigmas`` and their gradient norms,
    ``(B, D, H, W, C * (1 + 2 len(sigmas)))``. ``F(T_R x)(p) = F(x)(R^T p)`` up to sampling."""
    blurs = [gaussian_blur(x, s) for s in sigmas]
    return jnp.concatenate([x, *blurs, *(gradient_norm(b) for b in blurs)], axis=-1)


class IsotropicMomentEncoder(nn.Module):
    """Like :class:`TensorMomentEncoder`, but the per-cell weights come from the input
    itself, not from the encoder's grid: an MLP on :func:`isotropic_features` of ``x``
    ``(B, D, H, W, C)``, averaged over blocks of ``pool^3`` voxels (the MLP on every 32^3
    voxel, with the blur as shifted slices, made the step 6x slower), at each cell inside
    the ball ``|p| <= 1``. Those features and the ball move with a rotation and do not
    change, so the moments turn by ``R`` by construction (exactly for the cube's rotations),
    up to the trilinear resampling of ``T_R x`` and the blocks: the convolutions' lack of
    equivariance no longer enters ``z_v``. ``z_i`` is the Dense layer on the encoder's grid;
    the code is ``(B, dim)``, its first ``num_variant`` entries the tensor blocks."""
    encoder: nn.Module
    dim: int
    num_variant: int
    max_rank: int = 2
    sigmas: Sequence[float] = (1.0, 2.0, 4.0)
    hidden: int = 32
    pool: int = 2  # features averaged over pool^3 voxels first: the MLP runs on 16^3 cells

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        grid = self.encoder(x)
        features = grids.block_mean(isotropic_features(x, self.sigmas), self.pool)
        cells = features.reshape(x.shape[0], -1, features.shape[-1])
        p = cell_coordinates(features.shape[1:-1])
        in_ball = (jnp.sum(p ** 2, axis=-1) <= 1.0).astype(x.dtype)[None, :, None]
        num_blocks = self.num_variant // tensor_rotation.block_size(self.max_rank)
        h = nn.gelu(nn.Dense(self.hidden, name='voxel_hidden_0')(cells))
        h = nn.gelu(nn.Dense(self.hidden, name='voxel_hidden_1')(h))
        weights = nn.Dense(num_blocks * self.max_rank, name='voxel_weights')(h) * in_ball
        rest = nn.Dense(self.dim - self.num_variant, name='to_code')(
            grid.reshape(grid.shape[0], -1))
        return jnp.concatenate([tensor_moments(weights, p, self.max_rank), rest], axis=-1)


class TensorMomentAutoencoder(latent_code.CodeAutoencoder):
    """:class:`~gla.latent_code.CodeAutoencoder` whose ``z_v`` keeps no rotation-invariant
    part: ``z_v = rms(remove_isotropic(M z))`` (:func:`~gla.latent_actions.tensor_rotation.
    remove_isotropic`), so ``L_const`` cannot be met by a code that no rotation moves."""
    max_rank: int = 2

    def split(self, z: jax.Array) -> tuple:
        m = self.mask().astype(z.dtype)
        z_v = tensor_rotation.remove_isotropic(m * z, self.max_rank)
        return latent_code.unit_rms(z_v, m), latent_code.unit_rms((1 - m) * z, 1 - m)


# config.model.code_encoder -> the encoder that reads z_v as moments
ENCODERS = {'tensor_moments': TensorMomentEncoder,
            'isotropic_moments': IsotropicMomentEncoder}
