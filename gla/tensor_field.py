"""Beyond the paper: a decoder that draws the latent grid *from* the tensor code, so that a
turned code draws a turned grid (``config.model.code_decoder='tensor_field'``).

With ``config.model.latent='code'`` and ``config.group.latent_action='tensors'``, ``z_v``
``(B, n_v)`` is ``n_v / s`` blocks of Cartesian tensors (a 3-vector ``v_k``, a 3x3 matrix
``M_k``, ...; ``s`` entries per block), turned exactly by ``Phi_R`` (``v -> R v``,
``M -> R M R^T``, :mod:`gla.latent_actions.tensor_rotation`). The plain code decoder
(:class:`gla.latent_code.CodeDecoder`) maps the whole code through one Dense layer to the
decoder's ``8^3 x c`` grid: it must learn to draw every pose from a vector, and in 40 epochs
it draws one smooth ellipsoid per pose (SSIM 0.78, docs/results.md, issue 15).

This decoder evaluates the grid as a field of the cell's centred coordinate ``p`` ``(3,)``
(``(d, h, w)``, the frame in which ``R`` turns the volume), read through the tensors:

    a_k(p) = v_k . p,   b_k(p) = p^T M_k p,   (rank r: the tensor contracted r times with p)
    F(p)   = MLP([a(p), b(p), |p|^2] ; z_i)                      (B, *grid)   field
    x_hat  = D(LReLU(F))                                                     the decoder

Every input of the MLP is invariant under turning the code and the point together:
``(R v) . p = v . (R^T p)`` and ``p^T R M R^T p = (R^T p)^T M (R^T p)``, so the field of
``Phi_R z_v`` at ``p`` is the field of ``z_v`` at ``R^T p``: **a turned code draws the grid
turned by R** (for the cube's 24 rotations, a permutation of the cells, tested bit for bit
against :func:`gla.groups.permutation.rotate_cells`; for other rotations the same field
sampled at turned points). The decoder then only has to render a grid that already has the
pose, as the paper's grid model does, while ``Phi_R`` stays exact on the code. With three or
more independent ``v_k`` the ``a_k(p)`` fix ``p`` in the shape's own frame, so the field can
draw any shape. ``z_i`` (the invariant entries, the code after ``z_v``) enters as a bias of
the first layer.
"""

from __future__ import annotations

import string
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gla import latent_code
from gla.latent_actions import tensor_rotation


def cell_coordinates(grid: Sequence[int]) -> np.ndarray:
    """Centred coordinates ``(d, h, w)`` of the cells of a grid ``grid`` ``(D, H, W)``, in
    units of half the grid's side: ``(D, H, W, 3)``, symmetric about 0 (a cell at the centre
    of a side of 8 cells sits at +-1/8, the outermost at +-7/8)."""
    axes = [(np.arange(n) - (n - 1) / 2) / (n / 2) for n in grid]
    return np.stack(np.meshgrid(*axes, indexing='ij'), axis=-1).astype(np.float32)


def tensor_invariants(z_v: jax.Array, p: jax.Array, max_rank: int) -> jax.Array:
    """The blocks of tensors in ``z_v`` ``(B, n_v)`` (ranks ``1 .. max_rank``, as
    :func:`~gla.latent_actions.tensor_rotation.rotate_tensors` reads them) each contracted
    ``r`` times with the points ``p`` ``(P, 3)``: ``(B, P, num_blocks * max_rank)``.
    Unchanged when ``z_v`` is turned by ``R`` and ``p`` by ``R`` together."""
    size = tensor_rotation.block_size(max_rank)
    num_blocks = z_v.shape[-1] // size
    blocks = z_v[:, :num_blocks * size].reshape(z_v.shape[0], num_blocks, size)
    letters = string.ascii_letters[:max_rank]
    out, start = [], 0
    for rank in range(1, max_rank + 1):
        width = 3 ** rank
        t = blocks[:, :, start:start + width].reshape((z_v.shape[0], num_blocks) + (3,) * rank)
        idx = letters[:rank]
        spec = 'zy' + idx + ',' + ','.join(f'x{i}' for i in idx) + '->zxy'
        out.append(jnp.einsum(spec, t, *([p] * rank)))
        start += width
    return jnp.concatenate(out, axis=-1)


def tensor_moments(weights: jax.Array, p: jax.Array, max_rank: int) -> jax.Array:
    """Moments of per-cell weights ``weights`` ``(B, P, K * max_rank)`` at the points ``p``
    ``(P, 3)``: block ``k`` holds ``mean_p w(p) p^{(x)r}`` for ranks ``r = 1 .. max_rank``
    (weight column ``k * max_rank + r - 1``), laid out as
    :func:`~gla.latent_actions.tensor_rotation.rotate_tensors` reads blocks: ``(B, K * s)``.
    If the weights move with the points (``w'(p) = w(R^T p)``), the moments turn by ``R``."""
    batch, points = weights.shape[:2]
    num_blocks = weights.shape[-1] // max_rank
    w = weights.reshape(batch, points, num_blocks, max_rank)
    letters = string.ascii_letters[:max_rank]
    out = []
    for rank in range(1, max_rank + 1):
        idx = letters[:rank]
        spec = 'zxk,' + ','.join(f'x{i}' for i in idx) + '->zk' + idx
        moment = jnp.einsum(spec, w[..., rank - 1], *([p] * rank)) / points
        out.append(moment.reshape(batch, num_blocks, 3 ** rank))
    return jnp.concatenate(out, axis=-1).reshape(batch, -1)


class TensorMomentEncoder(nn.Module):
    """``E`` ``->`` its grid ``(B, *grid)`` ``->`` a code ``(B, dim)``: the first
    ``num_variant`` entries are tensor blocks, the moments (:func:`tensor_moments`) of
    per-cell weights (a Dense layer on each cell's features) about the grid's centre; the rest
    a Dense layer on the flattened grid, as :class:`gla.latent_code.CodeEncoder`. Where the
    cells' features turn with the volume, so do the moments: ``z_v`` is equivariant by
    construction up to how far the convolutions are from rotation-equivariant, and
    ``L_const`` starts near 0 instead of at the level of an uninformative code."""
    encoder: nn.Module
    dim: int
    num_variant: int
    max_rank: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        grid = self.encoder(x)
        spatial = grid.shape[1:-1]
        cells = grid.reshape(grid.shape[0], -1, grid.shape[-1])
        num_blocks = self.num_variant // tensor_rotation.block_size(self.max_rank)
        weights = nn.Dense(num_blocks * self.max_rank, name='cell_weights')(cells)
        p = jnp.asarray(cell_coordinates(spatial).reshape(-1, 3))
        variant = tensor_moments(weights, p, self.max_rank)
        rest = nn.Dense(self.dim - self.num_variant, name='to_code')(
            grid.reshape(grid.shape[0], -1))
        return jnp.concatenate([variant, rest], axis=-1)


class TensorFieldDecoder(nn.Module):
    """``(B, dim)`` code (``Phi_R z_v + z_i``; the first ``num_variant`` entries are the
    tensor blocks) ``->`` the field ``F`` on the decoder's latent grid ``(B, *grid)`` ``->`` the
    wrapped decoder ``D``. ``grid`` is ``(D, H, W, c)``; ``hidden`` the MLP's width."""
    decoder: nn.Module
    grid: Sequence[int]
    num_variant: int
    max_rank: int = 2
    hidden: int = 128
    negative_slope: float = 0.2

    def setup(self):
        self.point = nn.Dense(self.hidden)
        self.invariant = nn.Dense(self.hidden)
        self.hidden_layer = nn.Dense(self.hidden)
        self.to_grid = nn.Dense(self.grid[-1])

    def field(self, z: jax.Array) -> jax.Array:
        """The field ``F`` on the grid, ``(B, *grid)``, before the LeakyReLU."""
        spatial = tuple(self.grid[:-1])
        p = jnp.asarray(cell_coordinates(spatial).reshape(-1, 3))
        z_v, z_i = z[:, :self.num_variant], z[:, self.num_variant:]
        point = jnp.concatenate(
            [tensor_invariants(z_v, p, self.max_rank),
             jnp.broadcast_to(jnp.sum(p * p, axis=-1)[None, :, None],
                              (z.shape[0], p.shape[0], 1))], axis=-1)
        h = self.point(point)
        if z_i.shape[-1]:
            h = h + self.invariant(z_i)[:, None, :]
        h = self.hidden_layer(nn.leaky_relu(h, self.negative_slope))
        h = self.to_grid(nn.leaky_relu(h, self.negative_slope))
        return h.reshape((z.shape[0],) + spatial + (self.grid[-1],))

    def __call__(self, z: jax.Array) -> jax.Array:
        return self.decoder(nn.leaky_relu(self.field(z), self.negative_slope))


class TensorFieldAutoencoder(latent_code.CodeAutoencoder):
    """:class:`~gla.latent_code.CodeAutoencoder` whose ``z_v`` keeps no rotation-invariant
    part: ``z_v = rms(remove_isotropic(M z))`` (the trace of each matrix, the ``epsilon``
    part of each rank-3 tensor removed, :func:`~gla.latent_actions.tensor_rotation.
    remove_isotropic`). Without it ``L_const`` is met by a ``z_v`` made of traces, which no
    rotation moves: measured with this decoder, 94 % of ``z_v``'s energy sat in the traces
    after 7 epochs, the same code for every volume, and the prediction stayed at background
    (docs/results.md, issue 15)."""
    max_rank: int = 2

    def split(self, z: jax.Array) -> tuple:
        m = self.mask().astype(z.dtype)
        z_v = tensor_rotation.remove_isotropic(m * z, self.max_rank)
        return latent_code.unit_rms(z_v, m), latent_code.unit_rms((1 - m) * z, 1 - m)
