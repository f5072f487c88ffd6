"""The ALD mask (Adaptive Latent Disentanglement) and the fixed splits it is compared with.

The mask ``M`` is ``(c,)``, one entry per latent channel: 1 marks a transformation-variant
channel (``z_v = M z``), 0 an invariant one (``z_i = (1 - M) z``). With ``repeats = r > 1``
(an action that moves ``r`` copies of ``c / r`` channels among themselves: the sub-cells of
``config.group.subcells``, the ``|G|`` copies of ``'grid_regular'``) the mask has ``c / r``
entries, the same for every copy: ``M = tile(m, r)``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

MASK_KINDS = ('learned', 'all_variant', 'manual', 'none')  # config.mask.kind


def straight_through_mask(alpha: jax.Array, tau: float) -> jax.Array:
    """The ALD mask: forward value ``1[sigmoid(alpha) > tau]`` (exactly 0/1), gradient that
    of ``sigmoid(alpha)`` (straight-through estimator). ``alpha``: ``(c,)`` -> ``(c,)``."""
    p = jax.nn.sigmoid(alpha)
    hard = (p > tau).astype(p.dtype)
    # Parenthesised so the forward value is exactly `hard`: (p - sg(p)) is exactly 0,
    # whereas hard + p - sg(p) rounds to 0.99999994 for some p in float32.
    return hard + (p - jax.lax.stop_gradient(p))


class LearnedMask(nn.Module):
    """Adaptive Latent Disentanglement: learnable logits ``alpha ~ N(0, init_std^2)``, one per
    latent channel (of one copy), thresholded at ``tau`` with a straight-through gradient."""
    num_channels: int  # entries of alpha: the channels of one copy
    tau: float = 0.5
    init_std: float = 0.1
    repeats: int = 1  # channel copies per cell: the mask is alpha's, tiled this many times

    @nn.compact
    def __call__(self) -> jax.Array:
        alpha = self.param('alpha', nn.initializers.normal(self.init_std), (self.num_channels,))
        return jnp.tile(straight_through_mask(alpha, self.tau), self.repeats)


class FixedMask(nn.Module):
    """A fixed split: the first ``num_variant`` channels variant, the rest invariant.
    ``num_variant == num_channels`` is the plain equivariant autoencoder (``z_i`` empty)."""
    num_channels: int  # the channels of one copy
    num_variant: int  # of the channels of one copy (config.mask.num_variant)
    repeats: int = 1  # channel copies per cell: the mask is tiled this many times

    def __call__(self) -> jax.Array:
        mask = (jnp.arange(self.num_channels) < self.num_variant).astype(jnp.float32)
        return jnp.tile(mask, self.repeats)


def build_mask(config: ml_collections.ConfigDict, num_channels: int,
               repeats: int = 1) -> nn.Module:
    """The mask module for ``config.mask`` (``kind`` in :data:`MASK_KINDS`; values checked
    by :mod:`gla.config_checks`) over ``num_channels`` channels, the same for each of
    ``repeats`` copies (``num_channels / repeats`` channels each)."""
    kind = config.kind
    width = num_channels // repeats
    if kind == 'learned':
        return LearnedMask(width, tau=config.tau, init_std=config.init_std, repeats=repeats)
    if kind in ('all_variant', 'none'):
        # 'none' is the plain autoencoder: trained on identity pairs only
        # (pairs.training_group); at evaluation Phi_g acts on the whole latent.
        return FixedMask(width, width, repeats)
    if kind == 'manual':
        return FixedMask(width, config.num_variant or width // 2, repeats)
    raise ValueError(f'unknown mask kind {kind!r}; config.mask.kind must be one of '
                     f'{list(MASK_KINDS)}')
