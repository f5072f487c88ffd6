"""The encoder and decoder: strided convolutions down, transposed convolutions up.

Shapes (2D; 3D adds a depth axis): images ``(B, H, W, C)`` in ``[-1, 1]`` -> latent
``(B, H / stride**depth, W / stride**depth, features[-1])`` -> images. The convolution forms
of ``gla/conv.py`` compute the same functions with the same parameters, faster on CPU.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla import conv

CONV_TRANSPOSE_KINDS = ('subpixel', 'hybrid', 'xla')  # config.model.conv_transpose
STRIDED_CONV_KINDS = ('xla', 'space_to_depth')  # config.model.strided_conv


class Encoder(nn.Module):
    """Strided convolutions with LeakyReLU after each (the published encoder:
    ``Conv(1->32, 4, s2) -> LReLU(0.2) -> Conv(32->64, 4, s2) -> LReLU(0.2)``).

    ``(B, *spatial, C) -> (B, *spatial / stride**len(features), features[-1])``.
    """
    features: Sequence[int] = (32, 64)
    kernel_size: int = 4
    stride: int = 2
    negative_slope: float = 0.2
    # 'xla': nn.Conv; 'space_to_depth': the same function and parameters as a stride-1
    # conv of the space-to-depth input (gla/conv.py), much faster to train on CPU in 3D.
    strided_conv: str = 'xla'

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ndim = x.ndim - 2
        pad = (self.kernel_size - self.stride) // 2
        kernel, strides = (self.kernel_size,) * ndim, (self.stride,) * ndim
        for i, width in enumerate(self.features):
            if self.strided_conv == 'xla':
                x = nn.Conv(width, kernel, strides, padding=[(pad, pad)] * ndim)(x)
            elif self.strided_conv == 'space_to_depth':
                x = conv.SpaceToDepthConv(width, kernel, strides, pad, name=f'Conv_{i}')(x)
            else:
                raise ValueError(f'unknown strided_conv {self.strided_conv!r}; '
                                 "config.model.strided_conv must be 'xla' or 'space_to_depth'")
            x = nn.leaky_relu(x, self.negative_slope)
        return x


class Decoder(nn.Module):
    """Mirror of :class:`Encoder`: transposed convolutions, LeakyReLU between, tanh out.

    ``features`` are the hidden widths after each upsampling but the last (the published
    decoder: ``(32,)``, then ``out_channels``). ``(B, *h, c) -> (B, *h * stride**(len+1),
    out_channels)``. ``conv_transpose='subpixel'`` computes the same function as ``'xla'``
    (same parameters) with stride-1 convolutions, which is faster on CPU; ``'hybrid'``
    takes each of forward, input and weight gradient from whichever is faster
    (:func:`gla.conv.hybrid_conv_transpose`).
    """
    features: Sequence[int] = (32,)
    out_channels: int = 1
    kernel_size: int = 4
    stride: int = 2
    negative_slope: float = 0.2
    conv_transpose: str = 'subpixel'

    def _upsample(self, width: int, ndim: int, name: str) -> nn.Module:
        pad = (self.kernel_size - self.stride) // 2
        kernel, strides = (self.kernel_size,) * ndim, (self.stride,) * ndim
        if self.conv_transpose in ('subpixel', 'hybrid'):
            return conv.SubpixelConvTranspose(width, kernel, strides, pad,
                                              method=self.conv_transpose, name=name)
        if self.conv_transpose == 'xla':
            full = self.kernel_size - 1 - pad
            return nn.ConvTranspose(width, kernel, strides, padding=[(full, full)] * ndim,
                                    name=name)
        raise ValueError(f'unknown conv_transpose {self.conv_transpose!r}; '
                         "config.model.conv_transpose must be 'subpixel', 'hybrid' or 'xla'")

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        ndim = z.ndim - 2
        widths = list(self.features) + [self.out_channels]
        for i, width in enumerate(widths):
            z = self._upsample(width, ndim, name=f'ConvTranspose_{i}')(z)
            if i < len(widths) - 1:
                z = nn.leaky_relu(z, self.negative_slope)
        return jnp.tanh(z)
