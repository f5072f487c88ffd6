"""SO(2): rotations of a 2D grid by arbitrary angles, or by the cyclic subgroup C_n.

Elements are ``float32`` angles ``(B,)`` in radians; a positive angle turns the content
counter-clockwise as displayed (row 0 at the top) about the grid centre, the convention of
``c4.py``. The action on images and latent grids is bilinear resampling
(``resample.rotate_2d``, ``interpolation='bilinear'``): it is the identity at 0 and equals
``rot90`` at quarter turns on square grids, but composition and inverse hold only within the
blur of two resamplings, and the blur depends on the angle (none at quarter turns), so a
model trained on it learns to blur and loses 3 dB at the quarter turns (docs/results.md).
``interpolation='fourier'`` rotates images by three Fourier shears
(``resample.rotate_2d_fourier``): no blur, the norm kept to 0.1 %, ``T_30 T_30 T_30`` within
29.5 dB of ``T_90`` on the bundled digits (bilinear: 21.5 dB); its ringing at sharp edges is
clipped to the image range ``[-1, 1]``, so it acts on images only, not on latent grids.

Composition is the sum of angles and the inverse the negation, not reduced mod 2*pi: the
action is 2*pi-periodic anyway, and a learned channel representation ``exp(theta A)`` with
non-integer frequencies (``channel_rotation.py``) is a homomorphism of the real line only
when angles are not wrapped.

Sampling is uniform over ``angle_range_degrees`` (default the whole circle) or, with
``order = n > 0``, uniform over the ``n`` angles ``2*pi*k/n``. Evaluation uses every 15°
in the sampled range (24 angles for the whole circle), or all ``n`` elements of C_n.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gla.groups import base
from gla.groups import resample

EVAL_STEP_DEGREES = 15.0


def check_planar_grid(spatial_shape: tuple) -> None:
    if len(spatial_shape) != 2:
        raise ValueError(
            f'SO(2) rotates 2D grids, got spatial shape {tuple(spatial_shape)}: use 2D images '
            '(config.data.spatial_ndim=2), or a 3D group for volumes.')


def _eval_angles_degrees(low: float, high: float, order: int) -> np.ndarray:
    """All of C_n, or the multiples of 15° in ``[low, high)`` (24 for the whole circle)."""
    if order > 0:
        return np.arange(order) * (360.0 / order)
    start = np.ceil(low / EVAL_STEP_DEGREES) * EVAL_STEP_DEGREES
    return np.arange(start, high, EVAL_STEP_DEGREES)


INTERPOLATIONS = ('bilinear', 'fourier')  # config.group.so2.interpolation


def _clipped_fourier_rotation(theta: jax.Array, images: jax.Array) -> jax.Array:
    return jnp.clip(resample.rotate_2d_fourier(theta, images), -1.0, 1.0)


def make_group(angle_range_degrees: Sequence[float] = (0.0, 360.0), order: int = 0,
               interpolation: str = 'bilinear') -> base.Group:
    """SO(2) sampled uniformly in ``[low, high)`` degrees, or C_n if ``order = n > 0``;
    ``interpolation`` in :data:`INTERPOLATIONS` (module docstring)."""
    low, high = (float(a) for a in angle_range_degrees)
    if not low < high or high - low > 360.0:
        raise ValueError(f'config.group.so2.angle_range_degrees={tuple(angle_range_degrees)} '
                         'must be (low, high) with low < high and high - low <= 360')
    if order < 0:
        raise ValueError(f'config.group.so2.order={order} must be 0 (continuous) or n > 0 (C_n)')
    if order > 0 and (low, high) != (0.0, 360.0):
        raise ValueError('config.group.so2.order > 0 samples the whole cyclic group C_n: leave '
                         'config.group.so2.angle_range_degrees at (0, 360)')
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'config.group.so2.interpolation={interpolation!r} must be one of '
                         f'{list(INTERPOLATIONS)}')
    eval_degrees = _eval_angles_degrees(low, high, order)

    def sample(key: jax.Array, n: int) -> jax.Array:
        if order > 0:
            k = jax.random.randint(key, (n,), 0, order)
            return k.astype(jnp.float32) * jnp.float32(2 * np.pi / order)
        return jnp.deg2rad(jax.random.uniform(key, (n,), jnp.float32, low, high))

    def describe(g) -> list:
        return [f'{round(float(np.rad2deg(a)), 2):g}°' for a in np.asarray(g, np.float64)]

    return base.Group(
        name='so2' if order == 0 else f'c{order}_resampled',
        spatial_ndim=2,
        sample=sample,
        identity=lambda n: jnp.zeros((n,), jnp.float32),
        compose=lambda g, h: g + h,
        inverse=lambda g: -g,
        act=resample.rotate_2d if interpolation == 'bilinear' else _clipped_fourier_rotation,
        eval_elements=lambda: jnp.asarray(np.deg2rad(eval_degrees), jnp.float32),
        describe=describe,
        check_grid=check_planar_grid,
        angle=lambda g: jnp.asarray(g, jnp.float32),
    )
