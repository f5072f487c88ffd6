"""Image-quality and latent-structure metrics, as pure per-example functions.

Images are ``(B, *spatial, C)`` (2D or 3D); every function returns one value per example
``(B,)`` unless said otherwise. Data range defaults to 2 (images in ``[-1, 1]``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def per_example_mse(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.mean(jnp.square(a - b), axis=tuple(range(1, a.ndim)))


def psnr(a: jax.Array, b: jax.Array, data_range: float = 2.0) -> jax.Array:
    """Peak signal-to-noise ratio in dB: ``10 log10(range^2 / mse)`` per example."""
    return 10.0 * jnp.log10(data_range ** 2 / per_example_mse(a, b))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2.0
    w = np.exp(-x ** 2 / (2 * sigma ** 2))
    return (w / w.sum()).astype(np.float32)


def _gaussian_filter(x: jax.Array, window: np.ndarray) -> jax.Array:
    """Separable 'valid' Gaussian filter over every spatial axis of ``(B, *spatial, C)``."""
    ndim = x.ndim - 2
    for axis in range(1, 1 + ndim):
        x = jnp.moveaxis(x, axis, -1)
        shape = x.shape
        flat = x.reshape(-1, shape[-1], 1)
        flat = jax.lax.conv_general_dilated(flat, jnp.asarray(window)[:, None, None], (1,),
                                            'VALID', dimension_numbers=('NWC', 'WIO', 'NWC'))
        x = jnp.moveaxis(flat.reshape(shape[:-1] + (flat.shape[1],)), -1, axis)
    return x


def ssim(a: jax.Array, b: jax.Array, data_range: float = 2.0, window_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> jax.Array:
    """Structural similarity (Wang et al. 2004) per example, 2D or 3D.

    Gaussian window (``window_size``, ``sigma``) applied 'valid' over every spatial axis
    (the convention of ``tf.image.ssim``), shrunk to the grid for small grids; the SSIM map
    is averaged over positions and channels.
    """
    size = min(window_size, *a.shape[1:-1])
    window = gaussian_window(size, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = _gaussian_filter(a, window), _gaussian_filter(b, window)
    var_a = _gaussian_filter(a * a, window) - mu_a ** 2
    var_b = _gaussian_filter(b * b, window) - mu_b ** 2
    cov = _gaussian_filter(a * b, window) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return jnp.mean(ssim_map, axis=tuple(range(1, a.ndim)))


def squared_error_and_norm(prediction: jax.Array, target: jax.Array):
    """``(sum ||prediction - target||^2, sum ||target||^2)`` per example: summed over a test
    set, their ratio is the relative equivariance / invariance error."""
    axes = tuple(range(1, target.ndim))
    return (jnp.sum(jnp.square(prediction - target), axis=axes),
            jnp.sum(jnp.square(target), axis=axes))
