"""Beyond the paper: a decoder that turns with the code by construction
(``config.model.code_decoder='frame'``, 3D, with a tensor-moment ``z_v``).

The code's ``z_v`` ``(B, num_variant)`` holds blocks of Cartesian tensors that ``Phi_R``
turns exactly (``v -> R v``, ``M -> R M R^T``, :mod:`gla.latent_actions.tensor_rotation`).
The plain :class:`gla.latent_code.CodeDecoder` must learn to draw every pose from those
numbers. This one reads a frame off the code and draws in it:

    F      = gram_schmidt(v_1, v_2)        (B, 3, 3) rotation, columns e_1, e_2, e_1 x e_2
    c      = [Phi_{F^T} z_v, z_i]          the code in its own frame: no rotation moves it
    D(z)   = T_F CodeDecoder(c)            the canonical volume turned into the frame

Because ``F(Phi_R z_v) = R F(z_v)``, ``D(Phi_R z) = T_{RF} V = T_R D(z)`` up to trilinear
resampling: the decoder is equivariant by construction, and with an equivariant ``z_v``
(:class:`gla.tensor_moments.IsotropicMomentEncoder`) the chain reconstructs ``x`` in a frame
of its own and turns it, rather than drawing a pose from a code.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla import latent_code
from gla.groups import resample3d
from gla.latent_actions import tensor_rotation


def _unit(v: jax.Array, eps: float = 1e-6) -> jax.Array:
    return v * jax.lax.rsqrt(jnp.sum(jnp.square(v), axis=-1, keepdims=True) + eps)


def tensor_frame(z_v: jax.Array, max_rank: int) -> jax.Array:
    """The rotation ``(B, 3, 3)`` whose columns are the Gram-Schmidt frame of the vectors of
    the first two tensor blocks of ``z_v`` ``(B, n)`` (blocks as
    :func:`~gla.latent_actions.tensor_rotation.rotate_tensors` reads them): ``e_1 = v_1 /
    |v_1|``, ``e_2`` the unit part of ``v_2`` normal to ``e_1``, ``e_3 = e_1 x e_2``
    (determinant +1). Equivariant: the frame of ``R z_v`` is ``R F``."""
    size = tensor_rotation.block_size(max_rank)
    e1 = _unit(z_v[:, 0:3])
    v2 = z_v[:, size:size + 3]
    e2 = _unit(v2 - jnp.sum(v2 * e1, axis=-1, keepdims=True) * e1)
    return jnp.stack([e1, e2, jnp.cross(e1, e2)], axis=-1)


class FrameDecoder(nn.Module):
    """Code ``(B, dim)`` (its first ``num_variant`` entries tensor blocks of ranks
    ``1..max_rank``) ``->`` volume ``(B, D, H, W, C)``: the code turned into its own frame
    (:func:`tensor_frame`), decoded by a :class:`~gla.latent_code.CodeDecoder`, and the volume
    turned back by the frame (:func:`gla.groups.resample3d.rotate_volumes`)."""
    decoder: nn.Module
    grid: Sequence[int]
    num_variant: int
    max_rank: int
    negative_slope: float = 0.2

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        frame = tensor_frame(z, self.max_rank)
        canonical = tensor_rotation.rotate_tensors(
            jnp.swapaxes(frame, 1, 2), z[:, :self.num_variant], self.max_rank)
        code = jnp.concatenate([canonical, z[:, self.num_variant:]], axis=-1)
        volume = latent_code.CodeDecoder(self.decoder, self.grid, self.negative_slope,
                                         name='canonical')(code)
        return resample3d.rotate_volumes(volume, frame)
