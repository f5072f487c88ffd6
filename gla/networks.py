"""The encoder and decoder: strided convolutions down, transposed convolutions up.

Shapes (2D; 3D adds a depth axis): images ``(B, H, W, C)`` in ``[-1, 1]`` -> latent
``(B, H / stride**depth, W / stride**depth, features[-1])`` -> images. The convolution forms
of ``gla/conv.py`` compute the same functions with the same parameters, faster on CPU.
Optional context blocks (:class:`DilatedContext`, residual dilated 3x3 convolutions at one
resolution) widen what each latent cell sees without changing any shape; optional volume
blocks (:class:`LatentVolumeBlocks`) mix a 2D latent read as a feature volume in 3D, at the
encoder's end and the decoder's start (around the volumetric action's turn).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla import conv
from gla import latent_volume
from gla.latent_actions import volumetric

CONV_TRANSPOSE_KINDS = ('subpixel', 'hybrid', 'xla')  # config.model.conv_transpose
STRIDED_CONV_KINDS = ('xla', 'space_to_depth')  # config.model.strided_conv
INITS = ('pytorch', 'flax')  # config.model.init


def initializers(init: str, fan_in: int) -> dict:
    """``kernel_init`` and ``bias_init`` of a convolution whose fan-in is ``fan_in``.

    ``'flax'``: Flax's defaults (LeCun-normal kernel, zero bias). ``'pytorch'``: where the
    published PyTorch code starts, ``torch.nn.Conv{2,3}d`` / ``ConvTranspose{2,3}d``'s
    ``reset_parameters``: Kaiming-uniform with ``a = sqrt(5)``, i.e. kernel and bias both
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, with PyTorch's fan-in: ``C_in * k**n`` for a
    convolution and ``C_out * k**n`` for a transposed one (its weight is ``(C_in, C_out,
    *k)`` and the fan-in is read from dimension 1).
    """
    if init == 'flax':
        return dict(kernel_init=nn.initializers.lecun_normal(),
                    bias_init=nn.initializers.zeros_init())
    bound = 1.0 / float(fan_in) ** 0.5

    def uniform(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return dict(kernel_init=uniform, bias_init=uniform)


class DilatedContext(nn.Module):
    """Residual stride-1 convolutions, kernel 3, one per dilation: ``x <- x +
    LeakyReLU(Conv_d(x))``. ``(B, *spatial, C) -> (B, *spatial, C)``. Each block with dilation
    ``d`` widens the receptive field by ``2 d`` cells of its resolution; no blocks (``()``) is
    the identity."""
    dilations: Sequence[int] = ()
    negative_slope: float = 0.2
    initialization: str = 'flax'

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ndim, width = x.ndim - 2, x.shape[-1]
        for d in self.dilations:
            inits = initializers(self.initialization, width * 3 ** ndim)
            y = nn.Conv(width, (3,) * ndim, padding=[(d, d)] * ndim,
                        kernel_dilation=(d,) * ndim, **inits)(x)
            x = x + nn.leaky_relu(y, self.negative_slope)
        return x


class LatentVolumeBlocks(nn.Module):
    """Residual 3x3x3 convolutions, one per dilation, on a 2D latent read as a feature volume:
    ``(B, h, w, c)`` -> ``(B, h, w, w, c / w)`` (rows, columns, depth, features: the reading of
    the volumetric action, ``gla/latent_actions/volumetric.py``) -> ``v <- v +
    LeakyReLU(Conv3d_d(v))`` (:class:`gla.latent_volume.VolumeConv`) -> ``(B, h, w, c)``. The
    volumetric action turns that volume; these blocks let the encoder and the decoder mix it
    along depth as along rows and columns (the 3D convolutions of equivariant neural
    rendering, Dupont et al. 2020). ``()`` = the identity."""
    dilations: Sequence[int] = ()
    negative_slope: float = 0.2
    initialization: str = 'flax'

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        if not self.dilations:
            return z
        volume = volumetric.as_volume(z)
        features = volume.shape[-1]  # per voxel
        for d in self.dilations:
            y = latent_volume.VolumeConv(features, d, **initializers(self.initialization,
                                                                     features * 27))(volume)
            volume = volume + nn.leaky_relu(y, self.negative_slope)
        return volume.reshape(z.shape)


class Encoder(nn.Module):
    """Strided convolutions with LeakyReLU after each (the published encoder:
    ``Conv(1->32, 4, s2) -> LReLU(0.2) -> Conv(32->64, 4, s2) -> LReLU(0.2)``).

    ``(B, *spatial, C) -> (B, *spatial / stride**len(features), features[-1])``.
    ``context_dilations``: :class:`DilatedContext` blocks on the input of the last strided
    convolution (for ``(64, 256)`` on 64x64 images: at 32x32x64), so that each latent cell
    reads a wider part of the image. ``volume_dilations``: :class:`LatentVolumeBlocks` on its
    output (2D only).
    """
    features: Sequence[int] = (32, 64)
    kernel_size: int = 4
    stride: int = 2
    negative_slope: float = 0.2
    # 'xla': nn.Conv; 'space_to_depth': the same function and parameters as a stride-1
    # conv of the space-to-depth input (gla/conv.py), much faster to train on CPU in 3D.
    strided_conv: str = 'xla'
    initialization: str = 'flax'  # 'flax' | 'pytorch' (initializers())
    context_dilations: Sequence[int] = ()
    volume_dilations: Sequence[int] = ()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ndim = x.ndim - 2
        pad = (self.kernel_size - self.stride) // 2
        kernel, strides = (self.kernel_size,) * ndim, (self.stride,) * ndim
        for i, width in enumerate(self.features):
            if i == len(self.features) - 1 and self.context_dilations:
                x = DilatedContext(self.context_dilations, self.negative_slope,
                                   self.initialization, name='Context')(x)
            inits = initializers(self.initialization, x.shape[-1] * self.kernel_size ** ndim)
            if self.strided_conv == 'xla':
                x = nn.Conv(width, kernel, strides, padding=[(pad, pad)] * ndim, **inits)(x)
            elif self.strided_conv == 'space_to_depth':
                x = conv.SpaceToDepthConv(width, kernel, strides, pad, name=f'Conv_{i}',
                                          **inits)(x)
            else:
                raise ValueError(f'unknown strided_conv {self.strided_conv!r}; '
                                 "config.model.strided_conv must be 'xla' or 'space_to_depth'")
            x = nn.leaky_relu(x, self.negative_slope)
        return LatentVolumeBlocks(self.volume_dilations, self.negative_slope,
                                  self.initialization, name='LatentVolume')(x)


class Decoder(nn.Module):
    """Mirror of :class:`Encoder`: transposed convolutions, LeakyReLU between, tanh out.

    ``features`` are the hidden widths after each upsampling but the last (the published
    decoder: ``(32,)``, then ``out_channels``). ``(B, *h, c) -> (B, *h * stride**(len+1),
    out_channels)``. ``conv_transpose='subpixel'`` computes the same function as ``'xla'``
    (same parameters) with stride-1 convolutions, which is faster on CPU; ``'hybrid'``
    takes each of forward, input and weight gradient from whichever is faster
    (:func:`gla.conv.hybrid_conv_transpose`). ``context_dilations``: :class:`DilatedContext`
    blocks on the input of the last upsampling (the mirror of the encoder's);
    ``volume_dilations``: :class:`LatentVolumeBlocks` on the latent before the first.
    """
    features: Sequence[int] = (32,)
    out_channels: int = 1
    kernel_size: int = 4
    stride: int = 2
    negative_slope: float = 0.2
    conv_transpose: str = 'subpixel'
    initialization: str = 'flax'  # 'flax' | 'pytorch' (initializers())
    context_dilations: Sequence[int] = ()
    volume_dilations: Sequence[int] = ()

    def _upsample(self, width: int, ndim: int, name: str) -> nn.Module:
        pad = (self.kernel_size - self.stride) // 2
        kernel, strides = (self.kernel_size,) * ndim, (self.stride,) * ndim
        # PyTorch's fan-in of a transposed convolution counts its output channels.
        inits = initializers(self.initialization, width * self.kernel_size ** ndim)
        if self.conv_transpose in ('subpixel', 'hybrid'):
            return conv.SubpixelConvTranspose(width, kernel, strides, pad,
                                              method=self.conv_transpose, name=name, **inits)
        if self.conv_transpose == 'xla':
            full = self.kernel_size - 1 - pad
            return nn.ConvTranspose(width, kernel, strides, padding=[(full, full)] * ndim,
                                    name=name, **inits)
        raise ValueError(f'unknown conv_transpose {self.conv_transpose!r}; '
                         "config.model.conv_transpose must be 'subpixel', 'hybrid' or 'xla'")

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        ndim = z.ndim - 2
        z = LatentVolumeBlocks(self.volume_dilations, self.negative_slope, self.initialization,
                               name='LatentVolume')(z)
        widths = list(self.features) + [self.out_channels]
        for i, width in enumerate(widths):
            if i == len(widths) - 1 and self.context_dilations:
                z = DilatedContext(self.context_dilations, self.negative_slope,
                                   self.initialization, name='Context')(z)
            z = self._upsample(width, ndim, name=f'ConvTranspose_{i}')(z)
            if i < len(widths) - 1:
                z = nn.leaky_relu(z, self.negative_slope)
        return jnp.tanh(z)
