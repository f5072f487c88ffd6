"""Latent group actions ``Phi_g``: how a group element acts on the variant part ``z_v``.

Every action is a Flax module called as ``phi(g, z_v)`` with ``g`` a batch of group elements
and ``z_v`` ``(B, *latent_spatial, c)``; it returns the same shape. Actions without
parameters wrap pure functions; learned actions own their parameters, which train jointly
with the encoder and decoder. ``make_latent_action(name, group)`` builds one
(``config.group.latent_action``). Where each ``Phi_g`` lives:

| group (``config.group.name``) | latent action | ``Phi_g`` | file |
| --- | --- | --- | --- |
| ``c4`` | ``grid`` | ``rot90`` of the ``h x w`` grid, exact | ``grid.py`` -> ``groups/c4.py`` |
| ``so2`` | ``grid`` | bilinear rotation of the grid | ``grid.py`` -> ``groups/resample.py`` |
| ``so2``, ``c4`` | ``grid_norm_preserving`` | the same, rescaled to keep ``||z_v||`` | ``grid.py`` |
| ``so2``, ``c4``, ``yaw*`` | ``learned_channels`` | ``exp(angle(g) A)`` on channel pairs | ``channel_rotation.py`` |
| ``so2``, ``c4`` | ``fourier`` | ``exp(angle(g) A)``, fixed frequencies 1..K, exact | ``channel_rotation.py`` |
| ``so2``, ``c4`` | ``grid_and_learned_channels`` | both of the above | ``channel_rotation.py`` |
| ``cube`` | ``grid`` | ``rot90`` over axis pairs, exact | ``grid.py`` -> ``groups/cube.py`` |
| ``c4``, ``cube`` | ``grid_regular`` | ``rot90`` of the grid, and each cell's ``|G|`` channel copies permuted (the regular representation), exact | ``grid.py`` |
| any | ``grid``, ``grid_norm_preserving`` with ``config.group.subcells > 1`` | the same on the grid read that many times finer (each cell's channels its sub-cells) | ``grid.py`` |
| ``so3`` | ``grid`` | trilinear rotation of the grid | ``grid.py`` -> ``groups/resample3d.py`` |
| ``so3``, ``cube`` | ``tensors`` | Cartesian tensors of ranks 1..K turned by ``R``, exact | ``tensor_rotation.py`` |
| ``yaw24``, ``yaw4`` | ``volumetric`` | channels as a feature volume turned about the vertical axis (tilted towards the viewer by ``config.group.volume_tilt``) | ``volumetric.py`` |
| ``yaw24``, ``yaw4`` | ``learned_channels_integer`` | ``exp(angle(g) A)``, integer frequencies | ``channel_rotation.py`` |
| ``yaw24``, ``yaw4`` | ``inplane`` | the grid turned in the image plane (the control) | ``grid.py`` |
"""

from __future__ import annotations

import flax.linen as nn

from gla.groups import base
from gla.groups import c4
from gla.groups import cube
from gla.latent_actions import channel_rotation
from gla.latent_actions import grid
from gla.latent_actions import tensor_rotation
from gla.latent_actions import volumetric


def _quarter_turns(group: base.Group) -> bool:
    return base.eval_order(group) == 4


# name -> ((group, max_frequency, volume_tilt) -> module); max_frequency: the highest Fourier
# frequency (fourier) or tensor rank (tensors); volume_tilt: the volumetric action's axis
# tilt in radians; each unused by the others
_FACTORIES = {
    'grid': lambda group, *_: grid.GridLatentAction(group=group),
    'grid_norm_preserving': lambda group, *_: grid.NormPreservingGridAction(group=group),
    'grid_regular': lambda group, *_: grid.RegularGridAction(
        group=group, permutations=grid.regular_permutations(FINITE_MATRICES[group.name])),
    'learned_channels': lambda group, *_: channel_rotation.LearnedChannelRotation(group.angle),
    'grid_and_learned_channels': lambda group, *_: channel_rotation.GridAndLearnedChannels(
        group=group),
    'learned_channels_integer': lambda group, *_: channel_rotation.IntegerChannelRotation(
        group.angle),
    'fourier': lambda group, max_frequency, _: channel_rotation.FourierRotation(
        group.angle, max_frequency),
    'tensors': lambda group, max_frequency, _: tensor_rotation.TensorRotation(
        group.matrix, max_frequency),
    'volumetric': lambda group, _, tilt: volumetric.VolumetricRotation(
        group.angle, quarter_turns=_quarter_turns(group), tilt=tilt),
    'inplane': lambda group, *_: grid.InPlaneRotation(group.angle,
                                                      quarter_turns=_quarter_turns(group)),
}
# Actions that read the rotation angle of g (groups of rotations about one axis).
NEEDS_ANGLE = ('learned_channels', 'grid_and_learned_channels', 'volumetric',
               'learned_channels_integer', 'inplane', 'fourier')

# Actions that read the rotation matrix of g (groups of 3D rotations).
NEEDS_MATRIX = ('tensors',)

# Actions on channels alone, the only ones a global code (config.model.latent='code') admits.
CHANNEL_ACTIONS = ('learned_channels', 'learned_channels_integer', 'fourier', 'tensors')


def available_latent_actions() -> list:
    return sorted(_FACTORIES)


# The finite groups whose elements index these integer matrices, for 'grid_regular'.
FINITE_MATRICES = {'c4': c4.MATRICES, 'cube': cube.MATRICES}


def channel_copies(name: str, group_name: str, subcells: int, spatial_ndim: int) -> int:
    """How many copies of each latent channel the action ``name`` moves among themselves
    (its mask must be the same for each; ``gla.mask`` ``repeats``): ``|G|`` for
    ``'grid_regular'``, ``subcells^d`` for refined grid actions, else 1."""
    if name == 'grid_regular':
        return len(FINITE_MATRICES[group_name])
    return subcells ** spatial_ndim if subcells > 1 else 1


# Actions that move whole cells of the grid, which config.group.subcells may refine.
SUBCELL_ACTIONS = ('grid', 'grid_norm_preserving')


def make_latent_action(name: str, group: base.Group, max_frequency: int = 4,
                       volume_tilt: float = 0.0, subcells: int = 1) -> nn.Module:
    """The latent action called ``name`` (the table above) for ``group``; ``'fourier'``
    uses the frequencies ``1 .. max_frequency`` (``config.group.max_frequency``),
    ``'tensors'`` the tensor ranks ``1 .. max_frequency``, ``'volumetric'`` an axis tilted
    by ``volume_tilt`` radians towards the viewer (``config.group.volume_tilt``); the grid
    actions with ``subcells > 1`` act on the grid read that many times finer
    (``config.group.subcells``, :class:`grid.SubcellGridAction`)."""
    if name not in _FACTORIES:
        raise ValueError(f'unknown latent action {name!r}; config.group.latent_action must '
                         f'be one of {available_latent_actions()}')
    if name in NEEDS_ANGLE and group.angle is None:
        raise ValueError(f'latent action {name!r} needs a group of rotations about one axis '
                         f'(with an angle), but {group.name!r} has none; use "grid".')
    if name == 'grid_regular' and group.name not in FINITE_MATRICES:
        raise ValueError(f"latent action 'grid_regular' permutes copies of the channels by "
                         f'the regular representation of a finite group '
                         f'{sorted(FINITE_MATRICES)}, not {group.name!r}; use "grid".')
    if name in NEEDS_MATRIX and group.matrix is None:
        raise ValueError(f'latent action {name!r} needs a group of 3D rotations (cube or so3, '
                         f'with a rotation matrix), but {group.name!r} has none.')
    action = _FACTORIES[name](group, max_frequency, volume_tilt)
    if subcells > 1:
        if name not in SUBCELL_ACTIONS:
            raise ValueError(f'config.group.subcells={subcells} refines the grid actions '
                             f'{list(SUBCELL_ACTIONS)}, not {name!r}: set it to 1')
        return grid.SubcellGridAction(action, subcells)
    return action
