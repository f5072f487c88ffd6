"""The 24 rotations of the cube, acting exactly on cubic 3D grids (volumes and latents).

Elements are ``int32`` indices ``g`` in ``[0, 24)``, ``g = 4 * f + k``: first the "face"
rotation ``f`` in ``[0, 6)`` (which of the six faces ends up at the front of the depth
axis), then ``k`` quarter turns in the ``(H, W)`` plane. On a ``(B, D, H, W, C)`` grid,
axes 1, 2, 3 are ``d, h, w``:

    face 0: identity         face 1/2/3: rot90 by 1/2/3 in the (d, h) plane
    face 4: rot90 in (d, w)  face 5: rot90 by 3 in (d, w)
    then    jnp.rot90(., k, axes=(2, 3))

``jnp.rot90(x, 1, axes=(a, b))`` turns axis ``a`` towards axis ``b`` as numpy does. Each
element is also a signed permutation matrix ``M_g`` (``MATRICES[g]``, ``(3, 3)`` int, det
+1) on centred voxel coordinates ``p = (d, h, w) - (n - 1) / 2``, with

    (T_g x)(p) = x(M_g^-1 p),      M_{g*h} = M_g @ M_h,

the convention :mod:`gla.groups.so3` uses too, so a cube element and the SO(3) matrix
``M_g`` move a volume the same way. ``TABLE[g, h]`` is the index of ``g*h`` ("first h,
then g") and ``INVERSE[g]`` that of ``g^-1``; both are derived from the matrices at import.
The action permutes voxels, so it is exact and the group laws hold bit for bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import base
from gla.groups import permutation

ORDER = 24
NUM_FACES = 6
# (quarter turns, axes) of each face rotation, axes counted on the spatial grid (d, h, w).
FACE_ROTATIONS = (
    (),
    ((1, (0, 1)),),
    ((2, (0, 1)),),
    ((3, (0, 1)),),
    ((1, (0, 2)),),
    ((3, (0, 2)),),
)
SPIN_AXES = (1, 2)  # the (h, w) plane of the spatial grid: quarter turns about the d axis


def _apply_numpy(index: int, x: np.ndarray) -> np.ndarray:
    """Element ``index`` on one unbatched ``(D, H, W, ...)`` numpy grid (the reference)."""
    face, k = divmod(index, 4)
    for turns, axes in FACE_ROTATIONS[face]:
        x = np.rot90(x, turns, axes)
    return np.rot90(x, k, SPIN_AXES)


MATRICES = permutation.matrices_of(_apply_numpy, ORDER, 3)  # (24, 3, 3) int32


TABLE, INVERSE = permutation.group_table(MATRICES)  # (24, 24), (24,) int32


def check_cubic_grid(spatial_shape: tuple) -> None:
    shape = tuple(spatial_shape)
    if len(shape) != 3 or len(set(shape)) != 1:
        raise ValueError(
            f'the cube group rotates cubic 3D grids (D == H == W), got spatial shape {shape}: '
            'use cubic volumes (config.data.resolution) with config.data.spatial_ndim=3 and '
            'an encoder whose latent grid is cubic, or the so3 group for other shapes.')


def rotate_cube(g: jax.Array, x: jax.Array) -> jax.Array:
    """Rotates each grid ``x[b]`` of ``(B, D, H, W, C)`` by cube rotation ``g[b]``: one
    gather of the voxels by ``M_g`` (:func:`gla.groups.permutation.rotate_cells`), whose
    gradient is the gather by ``M_g^T``."""
    check_cubic_grid(x.shape[1:-1])
    return permutation.rotate_cells(jnp.asarray(MATRICES)[jnp.mod(g, ORDER)], x)


def describe_matrix(m: np.ndarray) -> str:
    """``'90° about (0,0,1)'`` style label of a rotation matrix on ``(d, h, w)``."""
    m = np.asarray(m, np.float64)
    angle = float(np.degrees(np.arccos(np.clip((np.trace(m) - 1) / 2, -1, 1))))
    if angle < 1e-3:
        return 'id'
    if abs(angle - 180) < 1e-3:
        axis = np.sqrt(np.clip((np.diag(m) + 1) / 2, 0, None))
        # Signs relative to the largest component, from the symmetric part.
        j = int(np.argmax(axis))
        axis = np.array([(m[j, i] + m[i, j]) / 4 / axis[j] if i != j else axis[j]
                         for i in range(3)])
    else:
        axis = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]])
    axis = axis / np.linalg.norm(axis)
    text = ','.join(f'{v:.2g}' if abs(v) > 1e-6 else '0' for v in axis)
    return f'{angle:.0f}° about ({text})'


def make_group() -> base.Group:
    table, inverse = jnp.asarray(TABLE), jnp.asarray(INVERSE)
    matrices = jnp.asarray(MATRICES, jnp.float32)
    return base.Group(
        name='cube',
        spatial_ndim=3,
        sample=lambda key, n: jax.random.randint(key, (n,), 0, ORDER, dtype=jnp.int32),
        identity=lambda n: jnp.zeros((n,), jnp.int32),
        compose=lambda g, h: table[jnp.mod(g, ORDER), jnp.mod(h, ORDER)],
        inverse=lambda g: inverse[jnp.mod(g, ORDER)],
        act=rotate_cube,
        eval_elements=lambda: jnp.arange(ORDER, dtype=jnp.int32),
        describe=lambda g: [describe_matrix(MATRICES[int(i) % ORDER]) for i in np.asarray(g)],
        check_grid=check_cubic_grid,
        matrix=lambda g: matrices[jnp.mod(g, ORDER)],
    )
