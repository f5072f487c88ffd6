"""Groups acting on images and latent grids, as pure functions.

``get_group(name)`` returns a :class:`gla.groups.base.Group`; ``make_latent_action`` the
matching ``Phi_g`` module. One module per group: ``c4.py`` ...
"""

from __future__ import annotations

from gla.groups import base
from gla.groups import c4
from gla.groups import yaw
from gla.groups.base import Group
from gla.groups.latent_actions import make_latent_action

_GROUP_FACTORIES = {
    'c4': c4.make_group,
    # Yaw of rendered objects (planes): C24 in 15° steps, C4 in quarter turns.
    'yaw24': lambda: yaw.make_group(24),
    'yaw4': lambda: yaw.make_group(4),
}


def get_group(name: str, **options) -> Group:
    """The group called ``name`` (``config.group.name``), built with ``options``."""
    if name not in _GROUP_FACTORIES:
        raise ValueError(f'unknown group {name!r}; config.group.name must be one of '
                         f'{sorted(_GROUP_FACTORIES)}')
    return _GROUP_FACTORIES[name](**options)


def available_groups() -> list:
    return sorted(_GROUP_FACTORIES)
