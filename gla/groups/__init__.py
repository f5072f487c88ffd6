"""Groups acting on images and latent grids, as pure functions.

``get_group(name)`` returns a :class:`gla.groups.base.Group`; ``make_latent_action`` the
matching ``Phi_g`` module. One module per group: ``c4.py`` ...

Usable in any JAX code (every function is pure, jittable and vmappable). Grids are
channels-last ``(B, *spatial, C)``; ``g`` is a batch of elements with leading axis ``B``
(C4: ``int32`` quarter turns counter-clockwise, ``(B,)``); ``compose(g, h)`` acts as "first
``h``, then ``g``"::

    c4 = gla.groups.get_group('c4')
    g = c4.sample(jax.random.key(0), x.shape[0])        # (B,) in {0, 1, 2, 3}
    x_rot = c4.act(g, x)                                 # rot90 of each x[b], g[b] times
    assert (c4.act(c4.inverse(g), x_rot) == x).all()
"""

from __future__ import annotations

from gla.groups import base
from gla.groups import c4
from gla.groups.base import Group
from gla.groups.latent_actions import make_latent_action

_GROUP_FACTORIES = {
    'c4': c4.make_group,
}


def get_group(name: str, **options) -> Group:
    """The group called ``name`` (``config.group.name``), built with ``options``."""
    if name not in _GROUP_FACTORIES:
        raise ValueError(f'unknown group {name!r}; config.group.name must be one of '
                         f'{sorted(_GROUP_FACTORIES)}')
    return _GROUP_FACTORIES[name](**options)


def available_groups() -> list:
    return sorted(_GROUP_FACTORIES)
