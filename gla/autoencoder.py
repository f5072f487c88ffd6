"""The model: ``x -> z -> (z_v, z_i) -> Phi_g(z_v) -> x_hat``, with one forward path.

Shapes (2D; 3D adds a depth axis): images ``x`` ``(B, H, W, C)`` in ``[-1, 1]``; the latent
``z = E(x)`` ``(B, h, w, c)``; the mask ``M`` ``(c,)`` (1 = variant channel); ``g`` a batch
of group elements in the convention of the group (C4: int quarter turns CCW, ``(B,)``).

    z_v = M z                          the transformation-variant part
    z_i = (1 - M) z                    the invariant part (the paper; a subclass may
                                       replace it, gla/invariant_code.py)
    acted = Phi_g(z_v)                 the latent group action (gla/latent_actions/)
    prediction = D(acted + map(z_i))   the predicted T_g x; map(z_i) = z_i in the paper

:meth:`GroupLatentAutoencoder.forward` computes every one of them (:class:`Parts`); the loss,
the evaluation, the swap test, the report and :class:`gla.run.Run` all call it (or
:meth:`~GroupLatentAutoencoder.swap`), so they cannot disagree about what a part means.

What a swap means, once for all (:meth:`GroupLatentAutoencoder.swap`): the invariant part of
``x_a`` with the *acted* variant part of ``x_b``, ``D(Phi_g z_v(x_b) + map(z_i(x_a)))``. The
report and the planes figures swap at the identity (``Phi_e = id`` exactly for every latent
action), the blocked swap test under several ``g``.
"""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import numpy as np


@flax.struct.dataclass
class Parts:
    """Everything one forward pass computes (a pytree, so it passes through ``jax.jit``)."""
    z: jax.Array  # (B, *h, c) the latent E(x)
    z_v: jax.Array  # (B, *h, c) M z
    z_i: jax.Array  # (B, *h, c) (1 - M) z; or a global invariant code (B, dim)
    acted: jax.Array  # (B, *h, c) Phi_g(z_v)
    invariant_map: jax.Array  # (B, *h, c) what the decoder receives of z_i (z_i itself here)
    prediction: jax.Array  # (B, *spatial, C) D(acted + invariant_map), the predicted T_g x


class GroupLatentAutoencoder(nn.Module):
    """The paper's model: encoder, ALD mask, latent action ``Phi_g``, decoder.

    Methods (``model.apply(variables, ..., method=model.<name>)``): ``forward(x, g) ->
    Parts``; ``swap(x_a, x_b, g)``; the steps ``encode(x) -> z``, ``variant_mask() -> M``,
    ``split(z) -> (z_v, z_i)``, ``act(g, z_v)``, ``combine(acted, z_i) -> decoder input``,
    ``decode(z)``; ``__call__(x, g)`` is ``forward(x, g).prediction``.

    The invariant part is the one place a variant of the model changes: override
    :meth:`invariant` (``z_i`` from ``z`` and ``z_v``), :meth:`invariant_map` (what the
    decoder receives of ``z_i``) and :meth:`probe_features` (``gla/invariant_code.py``).
    """
    encoder: nn.Module
    decoder: nn.Module
    mask: nn.Module
    latent_action: nn.Module

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)

    def variant_mask(self) -> jax.Array:
        return self.mask()

    def split(self, z: jax.Array) -> tuple:
        m = self.mask().astype(z.dtype)
        z_v = m * z
        return z_v, self.invariant(z, z_v, m)

    def invariant(self, z: jax.Array, z_v: jax.Array, m: jax.Array) -> jax.Array:
        """``z_i = (1 - M) z``, ``(B, *h, c)``."""
        del z_v
        return (1 - m) * z

    def invariant_map(self, z_i: jax.Array, grid: tuple) -> jax.Array:
        """What the decoder receives of ``z_i``, ``(B, *grid)``: ``z_i`` itself."""
        del grid
        return z_i

    def act(self, g: Any, z_v: jax.Array) -> jax.Array:
        return self.latent_action(g, z_v)

    def combine(self, acted: jax.Array, z_i: jax.Array) -> jax.Array:
        """The decoder's input ``acted + map(z_i)``, ``(B, *h, c)``."""
        return acted + self.invariant_map(z_i, acted.shape[1:])

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def forward(self, x: jax.Array, g: Any) -> Parts:
        """Every part of the chain for images ``x`` and elements ``g`` (one per image)."""
        z = self.encode(x)
        z_v, z_i = self.split(z)
        acted = self.act(g, z_v)
        invariant_map = self.invariant_map(z_i, acted.shape[1:])
        return Parts(z=z, z_v=z_v, z_i=z_i, acted=acted, invariant_map=invariant_map,
                     prediction=self.decode(acted + invariant_map))

    def swap(self, x_a: jax.Array, x_b: jax.Array, g: Any) -> jax.Array:
        """``D(combine(Phi_g z_v(x_b), z_i(x_a)))``: A's invariant part with B's variant part,
        acted on by ``g`` (the identity: a plain swap). ``(B, *spatial, C)``."""
        _, z_i_a = self.split(self.encode(x_a))
        z_v_b, _ = self.split(self.encode(x_b))
        return self.decode(self.combine(self.act(g, z_v_b), z_i_a))

    def __call__(self, x: jax.Array, g: Any) -> jax.Array:
        return self.forward(x, g).prediction

    @staticmethod
    def probe_features(z: np.ndarray, z_i: np.ndarray, mask: np.ndarray) -> dict:
        """The linear probe's features ``{'z', 'z_v', 'z_i'}`` from host arrays of latents
        ``z`` ``(N, *h, c)`` and invariant parts ``z_i``: the variant and invariant channels
        of ``z`` (``mask``: bool ``(c,)``)."""
        del z_i
        return {'z': z, 'z_v': z[..., mask], 'z_i': z[..., ~mask]}
