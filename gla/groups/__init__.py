"""Groups acting on images and latent grids, as pure functions.

``get_group(name, **options)`` returns a :class:`gla.groups.base.Group` and
``group_from_config(config.group)`` the group a config names, with the options of the
sub-config named after it (``config.group.so2.order``). One module per group: ``c4.py``,
``so2.py`` (any angle, resampled), ``cube.py`` (the 24 rotations of the cube), ``so3.py``
(continuous 3D rotations), ``yaw.py`` (turns of a rendered object about its vertical axis).
Their actions on the latent grid, ``Phi_g``, are in ``gla/latent_actions/`` (a table there).
"""

from __future__ import annotations

from gla.groups import base
from gla.groups import c4
from gla.groups import cube
from gla.groups import so2
from gla.groups import so3
from gla.groups import yaw
from gla.groups.base import Group

_GROUP_FACTORIES = {
    'c4': c4.make_group,
    'so2': so2.make_group,
    'cube': cube.make_group,
    'so3': so3.make_group,
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


def group_from_config(group_config) -> Group:
    """The group of ``config.group`` (a ConfigDict, or a dict as restored from JSON):
    ``name``, with the options in the sub-config named after the group if there is one
    (e.g. ``config.group.so3.max_angle_degrees``); lists from JSON become tuples."""
    name = group_config['name']
    options = group_config.get(name, None) or {}
    return get_group(name, **{k: tuple(v) if isinstance(v, list) else v
                              for k, v in dict(options.items()).items()})


def available_groups() -> list:
    return sorted(_GROUP_FACTORIES)

