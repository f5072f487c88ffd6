"""SO(3): continuous 3D rotations of volumes and latent grids, by trilinear resampling.

Elements are rotation matrices ``(B, 3, 3)`` float32 acting on centred voxel coordinates
``p = (d, h, w) - (n - 1) / 2`` of a ``(B, D, H, W, C)`` grid: ``(T_R x)(p) = x(R^T p)``
(the convention of :mod:`gla.groups.cube`, whose ``MATRICES[g]`` moves a volume exactly as
the cube rotation ``g``). ``compose(R, S) = R @ S`` ("first S, then R"), ``inverse(R) =
R^T``. The action resamples (see :mod:`gla.groups.resample3d`), so the group laws hold up
to interpolation error: small for smooth content inside the inscribed ball, and the
corners, which rotate out of the cube, take edge values.

Sampling (``make_group`` options, ``config.group.so3`` in configs):
  * ``axes='any'``: axis uniform on the sphere, angle in ``[0, max_angle_degrees]`` with
    density proportional to ``1 - cos(angle)``: the Haar (uniform) measure of SO(3)
    restricted to rotations of at most that angle; ``max_angle_degrees=180`` is uniform
    over all of SO(3).
  * ``axes='d'``, ``'h'`` or ``'w'``: rotations about that grid axis only, angle uniform in
    ``[-max_angle_degrees, max_angle_degrees]`` (SO(2) inside SO(3)).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import base
from gla.groups import cube
from gla.groups import resample3d

AXES = ('any', 'd', 'h', 'w')
_TABLE_SIZE = 4097  # inverse-CDF table of the Haar angle density


def axis_angle_to_matrix(axis: jax.Array, angle: jax.Array) -> jax.Array:
    """Rodrigues: unit ``axis`` ``(B, 3)``, ``angle`` ``(B,)`` radians -> ``(B, 3, 3)``.
    Positive angles turn ``h`` towards ``w`` about ``d`` (right-handed in ``(d, h, w)``)."""
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    zero = jnp.zeros_like(x)
    k = jnp.stack([jnp.stack([zero, -z, y], -1), jnp.stack([z, zero, -x], -1),
                   jnp.stack([-y, x, zero], -1)], axis=-2)
    s, c = jnp.sin(angle)[:, None, None], jnp.cos(angle)[:, None, None]
    return jnp.eye(3, dtype=axis.dtype) + s * k + (1 - c) * (k @ k)


def rotation_angle_degrees(r: jax.Array) -> jax.Array:
    """The rotation angle in degrees of each ``(B, 3, 3)`` matrix, in ``[0, 180]``."""
    cos = (jnp.trace(r, axis1=-2, axis2=-1) - 1.0) / 2.0
    return jnp.degrees(jnp.arccos(jnp.clip(cos, -1.0, 1.0)))


def _haar_angle(u: jax.Array, max_angle: float) -> jax.Array:
    """Inverse CDF of the density ``∝ 1 - cos(t)`` on ``[0, max_angle]`` at ``u`` in [0, 1)."""
    t = np.linspace(0.0, max_angle, _TABLE_SIZE)
    cdf = t - np.sin(t)
    cdf = cdf / cdf[-1]
    return jnp.interp(u, jnp.asarray(cdf, jnp.float32), jnp.asarray(t, jnp.float32))


def sample_rotations(key: jax.Array, n: int, max_angle_degrees: float = 180.0,
                     axes: str = 'any') -> jax.Array:
    """``n`` rotations ``(n, 3, 3)`` drawn as the module docstring says."""
    max_angle = float(np.radians(max_angle_degrees))
    axis_key, angle_key = jax.random.split(key)
    if axes == 'any':
        axis = jax.random.normal(axis_key, (n, 3))
        axis = axis / jnp.linalg.norm(axis, axis=-1, keepdims=True)
        angle = _haar_angle(jax.random.uniform(angle_key, (n,)), max_angle)
    else:
        axis = jnp.tile(jnp.eye(3)[AXES.index(axes) - 1], (n, 1))
        angle = jax.random.uniform(angle_key, (n,), minval=-max_angle, maxval=max_angle)
    return axis_angle_to_matrix(axis, angle)


def check_3d_grid(spatial_shape: tuple) -> None:
    if len(tuple(spatial_shape)) != 3:
        raise ValueError(f'SO(3) rotates 3D grids, got spatial shape {tuple(spatial_shape)}: '
                         'set config.data.spatial_ndim=3 and use volumes (N, D, H, W[, C]).')


def rotate(r: jax.Array, x: jax.Array) -> jax.Array:
    """``T_R x`` for ``r`` ``(B, 3, 3)`` and ``x`` ``(B, D, H, W, C)`` (trilinear)."""
    check_3d_grid(x.shape[1:-1])
    return resample3d.rotate_volumes(x, r)


def make_group(max_angle_degrees: float = 180.0, axes: str = 'any',
               num_eval_elements: int = 8, eval_seed: int = 0) -> base.Group:
    """SO(3) with training rotations of at most ``max_angle_degrees`` about ``axes``.

    The evaluation elements are the identity and ``num_eval_elements - 1`` rotations drawn
    from the same distribution with ``eval_seed`` (fixed, so runs compare).
    """
    if not 0.0 < max_angle_degrees <= 180.0:
        raise ValueError(f'so3 max_angle_degrees={max_angle_degrees} must lie in (0, 180] '
                         '(180 = uniform over all rotations)')
    if axes not in AXES:
        raise ValueError(f'so3 axes={axes!r} must be one of {AXES}: any axis, or rotations '
                         'about the d, h or w grid axis only')
    if num_eval_elements < 1:
        raise ValueError(f'so3 num_eval_elements={num_eval_elements} must be >= 1')
    sample = functools.partial(sample_rotations, max_angle_degrees=max_angle_degrees,
                               axes=axes)

    def eval_elements():
        drawn = sample(jax.random.key(eval_seed), num_eval_elements - 1)
        return jnp.concatenate([jnp.eye(3)[None], drawn], axis=0)

    return base.Group(
        name='so3',
        spatial_ndim=3,
        sample=lambda key, n: sample(key, n),
        identity=lambda n: jnp.tile(jnp.eye(3, dtype=jnp.float32), (n, 1, 1)),
        compose=lambda r, s: r @ s,
        inverse=lambda r: jnp.swapaxes(r, -1, -2),
        act=rotate,
        eval_elements=eval_elements,
        describe=lambda r: [cube.describe_matrix(m) for m in np.asarray(r)],
        check_grid=check_3d_grid,
        matrix=lambda r: jnp.asarray(r, jnp.float32),
    )
