"""C_n yaw: turns of a rendered object about its own vertical axis, out of the image plane.

Elements are ``int32`` counts ``k`` in ``{0, ..., n-1}``; ``k`` turns the object by
``2*pi*k/n`` radians counter-clockwise seen from above (``gla/settings/planes/render.py``).
The default ``n = 24`` gives 15° steps; ``n = 4`` quarter turns.

The group does not act on image pixels: ``T_g x`` is another rendered view of the same
object, which the pair function picks (``view_pairs`` in ``gla/settings/planes/data.py``).
``act`` therefore raises, and the latent actions for yaw (``'volumetric'``,
``'learned_channels_integer'``, ``'learned_channels'``, the in-plane control ``'inplane'``)
never call it. ``check_grid``
only asks for 2D grids.
"""

from __future__ import annotations

from gla.groups import base

DEFAULT_ORDER = 24


def _no_pixel_action(g, x):
    raise ValueError(
        'the yaw group turns a 3D object out of the image plane and has no action on pixel '
        'or latent grids: T_g x comes from rendered views (config.data.source="planes"), and '
        'the latent action must be one of "volumetric", "learned_channels_integer", '
        '"learned_channels" or "inplane" (config.group.latent_action), not "grid".')


def check_2d_grid(spatial_shape: tuple) -> None:
    if len(spatial_shape) != 2:
        raise ValueError(f'yaw acts on views of 2D images, got spatial shape '
                         f'{tuple(spatial_shape)}; use config.data.spatial_ndim=2.')


def make_group(order: int = DEFAULT_ORDER) -> base.Group:
    if order < 2:
        raise ValueError(f'a yaw group needs order >= 2, got {order}')
    return base.cyclic_group(f'yaw{order}', order, spatial_ndim=2, act=_no_pixel_action,
                             check_grid=check_2d_grid)
