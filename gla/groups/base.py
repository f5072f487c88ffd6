"""The interface every group plugs into.

A group is a bundle of pure functions on batches of group elements ``g`` (a pytree of
arrays whose leading axis is the batch, e.g. ``(B,)`` int32 quarter-turn counts for C4) and
on batches of images or latent grids laid out channels-last, ``(B, *spatial, C)``.
Everything is jittable and vmappable; nothing holds state.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

GroupElements = Any  # a pytree of arrays with a leading batch axis


@dataclasses.dataclass(frozen=True)
class Group:
    """A group acting on channels-last grids.

    Attributes:
      name: short name used in configs and reports (``'c4'``).
      spatial_ndim: number of spatial axes the action needs (2 for images, 3 for volumes).
      sample: ``(key, batch_size) -> g``, elements drawn as the training pairs need them
        (uniformly over the group, identity included).
      identity: ``batch_size -> g``, the neutral element repeated.
      compose: ``(g, h) -> g*h``, acting as "first h, then g": ``act(g*h, x) ==
        act(g, act(h, x))``.
      inverse: ``g -> g^-1``.
      act: ``(g, x) -> T_g x`` on a ``(B, *spatial, C)`` grid (images or latents); the
        channels are untouched.
      eval_elements: ``() -> g``, the fixed elements every test image is evaluated under
        (all elements for a finite group, a fixed grid of them otherwise).
      describe: ``g -> list[str]``, human-readable labels of elements for tables / figures.
      check_grid: ``spatial_shape -> None``; raises ``ValueError`` saying what to change when
        the action cannot act on a grid of that shape.
      angle: for groups of rotations about one axis (C4, SO(2), yaw), ``g -> (B,)`` the
        rotation angle in radians (counter-clockwise); ``None`` for other groups. Learned
        channel representations (``channel_rotation.py``) need it.
      matrix: for groups of 3D rotations (cube, SO(3)), ``g -> (B, 3, 3)`` float32, the
        rotation matrix on centred ``(d, h, w)`` voxel coordinates that moves a volume as
        ``act`` does; ``None`` for other groups. The tensor action
        (``tensor_rotation.py``) needs it.
    """
    name: str
    spatial_ndim: int
    sample: Callable[[jax.Array, int], GroupElements]
    identity: Callable[[int], GroupElements]
    compose: Callable[[GroupElements, GroupElements], GroupElements]
    inverse: Callable[[GroupElements], GroupElements]
    act: Callable[[GroupElements, jax.Array], jax.Array]
    eval_elements: Callable[[], GroupElements]
    describe: Callable[[GroupElements], list]
    check_grid: Callable[[tuple], None]
    angle: Optional[Callable[[GroupElements], Any]] = None
    matrix: Optional[Callable[[GroupElements], jax.Array]] = None


def cyclic_group(name: str, order: int, spatial_ndim: int, act: Callable,
                 check_grid: Callable) -> Group:
    """``C_order`` with ``int32`` elements ``k`` in ``{0, ..., order-1}`` (``(B,)``), ``k``
    meaning ``k`` steps of ``360 / order`` degrees counter-clockwise: the element algebra,
    labels and angles every cyclic rotation group shares; ``act`` and ``check_grid`` say
    what a step does to a grid."""
    step_degrees = 360 / order
    return Group(
        name=name,
        spatial_ndim=spatial_ndim,
        sample=lambda key, n: jax.random.randint(key, (n,), 0, order, dtype=jnp.int32),
        identity=lambda n: jnp.zeros((n,), jnp.int32),
        compose=lambda g, h: jnp.mod(g + h, order),
        inverse=lambda g: jnp.mod(-g, order),
        act=act,
        eval_elements=lambda: jnp.arange(order, dtype=jnp.int32),
        describe=lambda g: [f'{step_degrees * int(k):g}°' for k in np.asarray(g)],
        check_grid=check_grid,
        angle=lambda k: jnp.asarray(k, jnp.float32) * (2 * jnp.pi / order),
    )


def num_elements(elements: GroupElements) -> int:
    """How many elements a batch ``g`` holds (its leading axis)."""
    return int(np.shape(jax.tree.leaves(elements)[0])[0])


def eval_order(group: Group) -> int:
    """The number of evaluation elements of ``group``: the order of a finite group."""
    return num_elements(group.eval_elements())
