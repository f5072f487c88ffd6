"""An exact representation of 3D rotations on a latent code: Cartesian tensors turned by ``R``.

The SO(3) analogue of :class:`~gla.latent_actions.channel_rotation.FourierRotation`. The
entries of a code ``z`` ``(B, n)`` are read as consecutive blocks; each block holds one
Cartesian tensor of every rank ``1 .. max_rank`` (a 3-vector, a 3x3 matrix, a 3x3x3
tensor, ..., ``3 + 9 + ... + 3^max_rank`` entries), and the rotation ``R`` acts on a rank-k
tensor through every index:

    v'_a = R_ai v_i,   M'_ab = R_ai R_bj M_ij,   T'_abc = R_ai R_bj R_ck T_ijk, ...

A rank-k tensor carries the irreducible representations of SO(3) of degree ``l <= k`` (the
3x3 matrix: its trace ``l = 0``, antisymmetric part ``l = 1``, symmetric traceless part
``l = 2``), so the rank plays the role of the highest frequency of the 2D Fourier action.
The map is ``R^{(x)k}`` on each tensor: orthogonal (it keeps ``||z||``), ``Phi_I = id``,
``Phi_R Phi_S = Phi_RS`` and ``Phi_{R^T} = Phi_R^{-1}`` to float rounding, for every rotation,
not only the 24 of the cube. Entries after the last whole block are left unchanged.

``R`` is the group's rotation matrix on centred ``(d, h, w)`` voxel coordinates
(``Group.matrix``: the SO(3) element itself, ``cube.MATRICES[g]`` for the cube), the matrix
that moves the volume, so ``Phi_R`` turns the code the way ``T_R`` turns the volume.
"""

from __future__ import annotations

import string
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def block_size(max_rank: int) -> int:
    """Entries of one block: ``3 + 9 + ... + 3^max_rank``."""
    return sum(3 ** k for k in range(1, max_rank + 1))


def rotate_tensor(r: jax.Array, t: jax.Array) -> jax.Array:
    """``t`` ``(B, m, 3, .., 3)`` (``k`` trailing axes of 3) turned by ``r`` ``(B, 3, 3)``
    through every one of its ``k`` indices."""
    rank = t.ndim - 2
    letters = string.ascii_letters
    old, new = letters[:rank], letters[rank:2 * rank]
    operands = [f'z{n}{o}' for n, o in zip(new, old)]  # R_{new, old}, one per index
    spec = ','.join(operands + [f'zy{old}']) + f'->zy{new}'
    return jnp.einsum(spec, *([r] * rank + [t]))


def rotate_tensors(r: jax.Array, z: jax.Array, max_rank: int) -> jax.Array:
    """``z`` ``(B, n)`` read as blocks of tensors of ranks ``1 .. max_rank``, each turned by
    ``r`` ``(B, 3, 3)``; the last ``n mod block_size(max_rank)`` entries unchanged."""
    if z.ndim != 2:
        raise ValueError(f'the tensor action turns a code (B, n), got shape {z.shape}: use '
                         "config.model.latent='code'")
    size = block_size(max_rank)
    num_blocks = z.shape[-1] // size
    blocks = z[:, :num_blocks * size].reshape(z.shape[0], num_blocks, size)
    r = r.astype(z.dtype)
    out, start = [], 0
    for rank in range(1, max_rank + 1):
        width = 3 ** rank
        t = blocks[:, :, start:start + width].reshape((z.shape[0], num_blocks) + (3,) * rank)
        out.append(rotate_tensor(r, t).reshape(z.shape[0], num_blocks, width))
        start += width
    turned = jnp.concatenate(out, axis=-1).reshape(z.shape[0], num_blocks * size)
    return jnp.concatenate([turned, z[:, num_blocks * size:]], axis=-1)


# (3, 3, 3) epsilon_ijk: +1 on even permutations of (0, 1, 2), -1 on odd ones, else 0
LEVI_CIVITA = np.linalg.det(np.eye(3)[np.stack(np.meshgrid(*[range(3)] * 3, indexing='ij'),
                                                -1)]).round().astype(np.float32)


def remove_isotropic(z: jax.Array, max_rank: int) -> jax.Array:
    """``z`` ``(B, n)`` (blocks as :func:`rotate_tensors` reads them) with the parts that no
    rotation changes removed: the trace of each matrix (``M - tr(M) I / 3``) and the
    ``epsilon_ijk`` part of each rank-3 tensor. What is left carries only degrees ``l >= 1``,
    so it cannot satisfy ``Phi_R z = z`` unless it is 0. An orthogonal projection that
    commutes with ``Phi_R``. Ranks above 3 (more isotropic tensors) are refused."""
    if max_rank > 3:
        raise ValueError(f'remove_isotropic handles tensor ranks up to 3, got max_rank='
                         f'{max_rank}: lower config.group.max_frequency')
    size = block_size(max_rank)
    num_blocks = z.shape[-1] // size
    blocks = z[:, :num_blocks * size].reshape(z.shape[0], num_blocks, size)
    parts = [blocks[..., :3]]
    if max_rank >= 2:
        m = blocks[..., 3:12].reshape(z.shape[0], num_blocks, 3, 3)
        trace = jnp.trace(m, axis1=-2, axis2=-1)[..., None, None]
        parts.append((m - trace * jnp.eye(3, dtype=z.dtype) / 3).reshape(
            z.shape[0], num_blocks, 9))
    if max_rank >= 3:
        eps = jnp.asarray(LEVI_CIVITA, z.dtype)
        t = blocks[..., 12:39].reshape(z.shape[0], num_blocks, 3, 3, 3)
        along = jnp.einsum('zyabc,abc->zy', t, eps)[..., None, None, None] / 6
        parts.append((t - along * eps).reshape(z.shape[0], num_blocks, 27))
    kept = jnp.concatenate(parts, axis=-1).reshape(z.shape[0], num_blocks * size)
    return jnp.concatenate([kept, z[:, num_blocks * size:]], axis=-1)


class TensorRotation(nn.Module):
    """``Phi_g(z) = `` :func:`rotate_tensors` ``(matrix(g), z, max_rank)`` (``config.group.
    latent_action='tensors'``; ``config.group.max_frequency`` is the highest rank). No
    parameters. ``matrix`` maps a batch of group elements to ``(B, 3, 3)``
    (``Group.matrix``)."""
    matrix: Callable[[jax.Array], jax.Array]
    max_rank: int = 2

    @nn.compact
    def __call__(self, g, z: jax.Array) -> jax.Array:
        return rotate_tensors(self.matrix(g), z, self.max_rank)
