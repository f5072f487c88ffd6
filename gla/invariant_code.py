"""Beyond the paper: the invariant part as a global code (configs/rotated_mnist_invariant.py).

In the paper ``z_i = (1 - M) z`` is a set of channels of the convolutional latent map; a
channel sees a patch of the image and cannot be invariant to a rotation of the whole image.
:class:`InvariantCodeAutoencoder` replaces it by a global code ``u`` ``(B, dim)``:

    u = LayerNorm(Dense(dim)(flatten z))                                  (no hidden layer)
    u = LayerNorm(Dense(dim)(max_k LReLU(Dense(hidden)(flatten Phi_k z_v))))   (orbit pool)
    u = LayerNorm(Dense(dim)(pool_cells LReLU(Dense(hidden)(z_v[cell]))))     (cell pool)

where ``pool_cells`` concatenates the mean and the maximum over the latent's cells.

and the decoder receives ``acted + (1 - M) CodeToGrid(u)`` (every channel with
``config.model.invariant_code_fills='all'``). It overrides only the invariant-part interface
of :class:`gla.autoencoder.GroupLatentAutoencoder` (``invariant``, ``invariant_map``,
``probe_features``); the chain, the loss, evaluation and swap stay the paper's.
Parameter names (``invariant_code``, ``code_to_grid``) are those of earlier checkpoints.
"""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gla import autoencoder
from gla import conv
from gla import grids
from gla.groups import base


class InvariantCode(nn.Module):
    """A global invariant code ``(B, *h, c) -> (B, dim)``:
    ``u = LayerNorm(Dense(dim)(flatten z))``, with ``hidden > 0``
    ``u = LayerNorm(Dense(dim)(LReLU(Dense(hidden)(flatten z))))``, and with an orbit
    ``u = LayerNorm(Dense(dim)(max_k LReLU(Dense(hidden)(flatten Phi_k z_v))))``.

    Every entry of ``u`` sees the whole latent grid, so ``u`` can be invariant to a group
    that moves content across the grid; a channel of a convolutional latent map sees only a
    patch and cannot. The layer norm fixes the code's scale, which the stop-gradient target
    of ``L_inv`` needs (an unbounded code diverged)."""
    dim: int
    hidden: int = 0  # >0: a hidden layer of this width (LeakyReLU) before the last Dense
    negative_slope: float = 0.2
    stop_gradient: bool = False  # True: the code's losses train the head, not the encoder

    pool_over_orbit: bool = False  # inputs are orbits (K, B, *h, c), pooled after Hidden
    # Hidden applied to each cell's channels alone, then its mean and its maximum over the
    # cells: a bag of local features, invariant to any permutation of the cells (C4, the
    # cube group), which says whether and how much of a local thing (a lesion) is anywhere;
    # a Dense on the flattened grid would have to learn that at every cell.
    pool_over_cells: bool = False
    block: int = 1  # >1: the latent averaged over blocks of block^d cells before the Dense
    # >1: the cells pooled over are the sub-cells of config.group.subcells (each cell's
    # channels read as subcells^d sub-cells), which the latent action moves
    subcells: int = 1

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        """``z``: the latent ``(B, *h, c)``, or with ``pool_over_orbit`` its orbit
        ``(K, B, *h, c)`` (``Phi_k z_v`` over ``K`` group elements), whose hidden features
        are max-pooled over ``k`` (exactly invariant where ``z_v`` is equivariant)."""
        if self.stop_gradient:
            z = jax.lax.stop_gradient(z)
        lead = 2 if self.pool_over_orbit else 1  # (K, B) or (B,)
        if self.block > 1:
            # Blocks symmetric about the grid's centre: rotations that permute cells (C4,
            # the cube group) commute with the mean, so orbit pooling stays exact.
            try:
                z = grids.block_mean(z, self.block, lead)
            except ValueError:
                raise ValueError(
                    f'config.model.invariant_code_block={self.block} must divide every side '
                    f'of the latent grid {tuple(z.shape[lead:-1])}: choose a divisor, or 1'
                ) from None
        if self.pool_over_cells:
            if self.subcells > 1:
                z = conv.depth_to_space(z, self.subcells, z.ndim - 2)
            h = nn.leaky_relu(nn.Dense(self.hidden, name='Hidden')(z), self.negative_slope)
            cells = tuple(range(lead, z.ndim - 1))
            return self._head(jnp.concatenate([jnp.mean(h, cells), jnp.max(h, cells)], -1))
        h = z.reshape(z.shape[:lead] + (-1,))
        if self.hidden:
            h = nn.leaky_relu(nn.Dense(self.hidden, name='Hidden')(h), self.negative_slope)
        if self.pool_over_orbit:
            h = jnp.max(h, axis=0)
        return self._head(h)

    def _head(self, h: jax.Array) -> jax.Array:
        """``(B, features) -> LayerNorm(Dense(dim)) (B, dim)``."""
        return nn.LayerNorm(name='LayerNorm_0')(nn.Dense(self.dim, name='Dense_0')(h))


class CodeToGrid(nn.Module):
    """The decoder's view of the invariant code: ``Dense(u)`` reshaped onto the latent grid,
    ``(B, dim) -> (B, *grid)`` with ``grid = (*h, c)`` (the same map for every ``g``)."""

    @nn.compact
    def __call__(self, u: jax.Array, grid: Sequence[int]) -> jax.Array:
        size = 1
        for d in grid:
            size *= d
        return nn.Dense(size, name='Dense_0')(u).reshape((u.shape[0],) + tuple(grid))


class InvariantCodeAutoencoder(autoencoder.GroupLatentAutoencoder):
    """:class:`~gla.autoencoder.GroupLatentAutoencoder` whose ``z_i`` is the global code
    ``u = InvariantCode(...)`` ``(B, dim)``, of the latent ``z`` or, with ``code_orbit``,
    of the orbit ``Phi_k z_v`` over those group elements (scalars)."""
    invariant_code: Optional[nn.Module] = None
    code_to_grid: Optional[nn.Module] = None
    code_fills_all_channels: bool = False
    code_orbit: Optional[tuple] = None  # group elements (scalars) the code pools Phi_k z_v over

    def invariant(self, z: jax.Array, z_v: jax.Array, m: jax.Array) -> jax.Array:
        """``u`` ``(B, dim)``."""
        del m
        if self.invariant_code.pool_over_cells:  # the cells of z_v, not of z
            return self.invariant_code(z_v)
        if self.code_orbit is None:
            return self.invariant_code(z)
        orbit = jnp.stack([self.act(jnp.full((z.shape[0],), e), z_v) for e in self.code_orbit])
        return self.invariant_code(orbit)

    def invariant_map(self, z_i: jax.Array, grid: tuple) -> jax.Array:
        """``(1 - M) CodeToGrid(u)`` (all channels: ``CodeToGrid(u)``), ``(B, *grid)``."""
        mapped = self.code_to_grid(z_i, grid)
        if self.code_fills_all_channels:
            return mapped
        return (1 - self.mask().astype(mapped.dtype)) * mapped

    @staticmethod
    def probe_features(z: np.ndarray, z_i: np.ndarray, mask: np.ndarray) -> dict:
        """``z_i = u``; ``z_v`` = the variant channels of ``z`` flattened; ``z`` = both, all
        the decoder sees."""
        z_v = z[..., mask].reshape(len(z), -1)
        return {'z': np.concatenate([z_v, z_i], axis=1), 'z_v': z_v, 'z_i': z_i}


def code_orbit(group: base.Group) -> tuple:
    """The evaluation elements of ``group`` as a tuple of Python scalars (hashable module
    field) for orbit pooling; groups whose elements are not scalars are refused."""
    elements = np.asarray(group.eval_elements())
    if elements.ndim != 1:
        raise ValueError(f'config.model.invariant_code_orbit_pool needs a group with scalar '
                         f'elements (c4, cube, so2); {group.name} has elements of shape '
                         f'{elements.shape[1:]}: set it to False')
    return tuple(elements.tolist())


def build(model_config: ml_collections.ConfigDict, group: base.Group, subcells: int = 1,
          **chain) -> InvariantCodeAutoencoder:
    """The model of ``config.model.invariant_code_*`` around the ``chain`` modules
    (``encoder``, ``decoder``, ``mask``, ``latent_action``); ``subcells``:
    ``config.group.subcells``, the cells a cell-pooled code pools over."""
    m = model_config
    orbit = code_orbit(group) if m.invariant_code_orbit_pool else None
    return InvariantCodeAutoencoder(
        **chain,
        invariant_code=InvariantCode(m.invariant_code_dim, m.invariant_code_hidden,
                                     m.negative_slope, m.invariant_code_stop_gradient,
                                     pool_over_orbit=orbit is not None,
                                     pool_over_cells=m.invariant_code_cell_pool,
                                     block=m.invariant_code_block, subcells=subcells),
        code_to_grid=CodeToGrid(),
        code_fills_all_channels=m.invariant_code_fills == 'all',
        code_orbit=orbit)
