"""Groups acting on images and latent grids, as pure functions.

``get_group(name, **options)`` returns a :class:`gla.groups.base.Group` and
``group_from_config(config.group)`` the group a config names (with its options);
``make_latent_action`` the matching ``Phi_g`` module. One module per group: ``c4.py``,
``so2.py`` ...
"""

from __future__ import annotations

from gla.groups import base
from gla.groups import c4
from gla.groups import so2
from gla.groups.base import Group
from gla.groups.latent_actions import make_latent_action

_GROUP_FACTORIES = {
    'c4': c4.make_group,
    'so2': so2.make_group,
}
# The config.group fields each group reads as options (absent fields keep the defaults, so
# configs written before an option existed still load).
_GROUP_OPTIONS = {
    'c4': (),
    'so2': ('angle_range_degrees', 'order'),
}


def get_group(name: str, **options) -> Group:
    """The group called ``name`` (``config.group.name``), built with ``options``."""
    if name not in _GROUP_FACTORIES:
        raise ValueError(f'unknown group {name!r}; config.group.name must be one of '
                         f'{sorted(_GROUP_FACTORIES)}')
    return _GROUP_FACTORIES[name](**options)


def available_groups() -> list:
    return sorted(_GROUP_FACTORIES)


def group_from_config(config) -> Group:
    """The group of ``config.group`` (a ConfigDict or dict with ``name`` and the options the
    group reads, e.g. ``angle_range_degrees`` and ``order`` for ``'so2'``)."""
    name = config['name']
    options = {k: (tuple(config[k]) if isinstance(config[k], (list, tuple)) else config[k])
               for k in _GROUP_OPTIONS.get(name, ()) if k in config}
    return get_group(name, **options)
