"""Group actions on the variant latent ``z_v``: ``Phi_g``, as Flax modules.

Every latent action is called as ``phi(g, z_v)`` with ``g`` a batch of group elements and
``z_v`` of shape ``(B, *latent_spatial, C)``, and returns the same shape. Actions without
parameters are plain wrappers of pure functions; learned actions own their parameters,
which train jointly with the encoder and decoder.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from gla.groups import base


class GridLatentAction(nn.Module):
    """``Phi_g = T_g`` on the latent grid: the group acts on ``z_v`` exactly as on images
    (C4 ``rot90`` of the ``h x w`` latent grid). No parameters."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return self.group.act(g, z_v)


LATENT_ACTIONS = {
    'grid': GridLatentAction,
}


def make_latent_action(name: str, group: base.Group) -> nn.Module:
    """Builds the latent action called ``name`` for ``group``."""
    if name not in LATENT_ACTIONS:
        raise ValueError(f'unknown latent action {name!r}; config.group.latent_action must '
                         f'be one of {sorted(LATENT_ACTIONS)}')
    return LATENT_ACTIONS[name](group=group)
