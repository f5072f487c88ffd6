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


def _valid_band(n: int, window: np.ndarray) -> np.ndarray:
    """The 'valid' 1D filter as a band matrix ``(n - size + 1, n)``: row i holds the window at i."""
    size = len(window)
    band = np.zeros((n - size + 1, n), np.float32)
    for i in range(n - size + 1):
        band[i, i:i + size] = window
    return band


def _gaussian_filter(x: jax.Array, window: np.ndarray) -> jax.Array:
    """Separable 'valid' Gaussian filter over every spatial axis of ``(B, *spatial, C)``.

    One band-matrix product per axis: the same sums as a 1-channel convolution, 7-8x faster
    on CPU for the SSIM's forward and gradient at 28^2 and 32^3.
    """
    for axis in range(1, x.ndim - 1):
        band = jnp.asarray(_valid_band(x.shape[axis], window))
        x = jnp.moveaxis(jnp.tensordot(band, x, axes=([1], [axis])), 0, axis)
    return x


def ssim(a: jax.Array, b: jax.Array, data_range: float = 2.0, window_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> jax.Array:
    """Structural similarity (Wang et al. 2004) per example, 2D or 3D.

    Gaussian window (``window_size``, ``sigma``) applied 'valid' over every spatial axis
    (the convention of ``tf.image.ssim``), shrunk to the grid for small grids; the SSIM map
    is averaged over positions and channels. The five local moments are filtered in one pass,
    stacked on the channel axis.
    """
    size = min(window_size, *a.shape[1:-1])
    window = gaussian_window(size, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    moments = _gaussian_filter(jnp.concatenate([a, b, a * a, b * b, a * b], axis=-1), window)
    mu_a, mu_b, mean_aa, mean_bb, mean_ab = jnp.split(moments, 5, axis=-1)
    var_a = mean_aa - mu_a ** 2
    var_b = mean_bb - mu_b ** 2
    cov = mean_ab - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return jnp.mean(ssim_map, axis=tuple(range(1, a.ndim)))


def squared_error_and_norm(prediction: jax.Array, target: jax.Array):
    """``(sum ||prediction - target||^2, sum ||target||^2)`` per example: summed over a test
    set, their ratio is the relative equivariance / invariance error."""
    axes = tuple(range(1, target.ndim))
    return (jnp.sum(jnp.square(prediction - target), axis=axes),
            jnp.sum(jnp.square(target), axis=axes))
