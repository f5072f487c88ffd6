"""Group actions on the variant latent ``z_v``: ``Phi_g``, as Flax modules.

Every latent action is called as ``phi(g, z_v)`` with ``g`` a batch of group elements and
``z_v`` of shape ``(B, *latent_spatial, C)``, and returns the same shape. Actions without
parameters are plain wrappers of pure functions; learned actions own their parameters,
which train jointly with the encoder and decoder.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla.groups import base
from gla.groups import channel_rotation
from gla.groups import yaw_actions


class GridLatentAction(nn.Module):
    """``Phi_g = T_g`` on the latent grid: the group acts on ``z_v`` exactly as on images
    (C4 ``rot90`` of the ``h x w`` latent grid). No parameters."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return self.group.act(g, z_v)


class NormPreservingGridAction(nn.Module):
    """``Phi_g(z) = T_g z * ||z|| / ||T_g z||`` per example: the grid action rescaled so that
    it keeps the norm of ``z_v``. Bilinear resampling (SO(2)) averages neighbouring cells and
    shrinks the norm by a few percent; against the stop-gradient target of ``L_const`` a
    shrinking ``Phi_g`` rewards a larger latent scale at every step, and the scale runs away
    (docs/results.md, issue 3). For C4 the factor is exactly 1. No parameters."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        acted = self.group.act(g, z_v)
        axes = tuple(range(1, z_v.ndim))
        norm = jnp.sqrt(jnp.sum(jnp.square(z_v), axis=axes, keepdims=True))
        acted_norm = jnp.sqrt(jnp.sum(jnp.square(acted), axis=axes, keepdims=True))
        # An all-zero z_v (e.g. every channel invariant) stays zero.
        return acted * (norm / jnp.maximum(acted_norm, 1e-12))


class GridAndLearnedChannels(nn.Module):
    """``Phi_g = exp(angle(g) A) o T_g``: the grid action, then a learned rotation of channel
    pairs (``channel_rotation.py``). The two commute, so the group law of each carries over
    to the composite."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return channel_rotation.LearnedChannelRotation(self.group.angle)(
            g, self.group.act(g, z_v))


# name -> (group -> module); other settings register their actions here.
LATENT_ACTIONS = {
    'grid': lambda group: GridLatentAction(group=group),
    'grid_norm_preserving': lambda group: NormPreservingGridAction(group=group),
    'learned_channels': lambda group: channel_rotation.LearnedChannelRotation(group.angle),
    'grid_and_learned_channels': lambda group: GridAndLearnedChannels(group=group),
    # Out-of-plane rotation about one axis (yaw of rendered planes): yaw_actions.py.
    'volumetric': yaw_actions.volumetric,
    'learned_channels_integer': yaw_actions.learned_channels_integer,
    'inplane': yaw_actions.inplane,
}
NEEDS_ANGLE = ('learned_channels', 'grid_and_learned_channels', 'volumetric',
               'learned_channels_integer', 'inplane')


def make_latent_action(name: str, group: base.Group) -> nn.Module:
    """Builds the latent action called ``name`` for ``group``:

    * ``'grid'``: ``Phi_g = T_g`` on the latent grid (exact for C4);
    * ``'grid_norm_preserving'``: ``T_g`` rescaled to keep ``||z_v||`` (for resampling);
    * ``'learned_channels'``: ``exp(angle(g) A)`` on channel pairs, the grid untouched;
    * ``'grid_and_learned_channels'``: both;
    * ``'volumetric'``, ``'learned_channels_integer'``, ``'inplane'``: for yaw
      (``yaw_actions.py``).
    """
    if name not in LATENT_ACTIONS:
        raise ValueError(f'unknown latent action {name!r}; config.group.latent_action must '
                         f'be one of {sorted(LATENT_ACTIONS)}')
    if name in NEEDS_ANGLE and group.angle is None:
        raise ValueError(f'latent action {name!r} needs a group of rotations about one axis '
                         f'(with an angle), but {group.name!r} has none; use "grid".')
    return LATENT_ACTIONS[name](group)
