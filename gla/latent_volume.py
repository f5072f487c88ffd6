"""A 3x3x3 convolution of feature volumes as one 2D convolution: faster on CPU.

The volumetric action (``gla/latent_actions/volumetric.py``) reads a 2D latent ``(B, h, w,
c)`` as a feature volume ``(B, h, w, depth = w, f = c / w)``. :class:`VolumeConv` convolves
such a volume in 3D (kernel 3 along rows, columns and depth, stride 1, zero padding ``d`` for
dilation ``d``: the shape is kept). It computes exactly ``nn.Conv(f, (3, 3, 3),
kernel_dilation=d, padding=d)`` with the same parameters (kernel ``(3, 3, 3, f_in, f)``,
bias ``(f,)``), but as one 2D convolution: the three depth neighbours of every voxel are
stacked as channels (``(B * depth, h, w, 3 f_in)``), and a 3x3 kernel ``(3, 3, 3 f_in, f)``
convolves rows and columns. On a 2-core CPU (16^3 voxels x 16 features, batch 8, forward and
both gradients) that took 35 ms against 88 ms for XLA's 3D convolution.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp


def depth_folded_conv3d(x: jax.Array, kernel: jax.Array, dilation: int = 1) -> jax.Array:
    """``x`` ``(B, H, W, D, C_in)`` convolved with ``kernel`` ``(3, 3, 3, C_in, C_out)``
    (rows, columns, depth; cross-correlation, as ``lax.conv``), dilation ``dilation``, zero
    padding that keeps the shape -> ``(B, H, W, D, C_out)``."""
    b, h, w, depth, c_in = x.shape
    padded = jnp.pad(x, ((0, 0), (0, 0), (0, 0), (dilation, dilation), (0, 0)))
    neighbours = jnp.concatenate(
        [padded[:, :, :, i * dilation:i * dilation + depth] for i in range(3)], axis=-1)
    planes = neighbours.transpose(0, 3, 1, 2, 4).reshape(b * depth, h, w, 3 * c_in)
    y = jax.lax.conv_general_dilated(
        planes, kernel.reshape(3, 3, 3 * c_in, kernel.shape[-1]), (1, 1),
        [(dilation, dilation)] * 2, rhs_dilation=(dilation, dilation),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y.reshape(b, depth, h, w, -1).transpose(0, 2, 3, 1, 4)


class VolumeConv(nn.Module):
    """``nn.Conv(features, (3, 3, 3), padding=dilation, kernel_dilation=dilation)`` on volumes
    ``(B, H, W, D, C)``, computed by :func:`depth_folded_conv3d`."""
    features: int
    dilation: int = 1
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param('kernel', self.kernel_init, (3, 3, 3, x.shape[-1], self.features))
        bias = self.param('bias', self.bias_init, (self.features,))
        return depth_folded_conv3d(x, kernel.astype(x.dtype), self.dilation) + bias
