"""Encoder, decoder, the ALD mask and the model that ties them to a latent group action.

Shapes (2D; 3D adds a depth axis everywhere): images ``x`` are ``(B, H, W, C)`` in
``[-1, 1]``; the latent ``z = E(x)`` is ``(B, h, w, c)`` with ``h = H / stride**depth``.
The mask ``M`` is ``(c,)``: 1 marks a transformation-variant channel, 0 an invariant one.

Use the modules as pure functions::

    model = build_model(config, group)
    variables = model.init(key, x, g)
    z = model.apply(variables, x, method=model.encode)
    z_v, z_i = model.apply(variables, z, method=model.split)
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from gla import conv
from gla.groups import base
from gla.groups import latent_actions


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


def straight_through_mask(alpha: jax.Array, tau: float) -> jax.Array:
    """The ALD mask: forward value ``1[sigmoid(alpha) > tau]`` (exactly 0/1), gradient that
    of ``sigmoid(alpha)`` (straight-through estimator). ``alpha``: ``(c,)`` -> ``(c,)``."""
    p = jax.nn.sigmoid(alpha)
    hard = (p > tau).astype(p.dtype)
    # Parenthesised so the forward value is exactly `hard`: (p - sg(p)) is exactly 0,
    # whereas hard + p - sg(p) rounds to 0.99999994 for some p in float32.
    return hard + (p - jax.lax.stop_gradient(p))


class LearnedMask(nn.Module):
    """Adaptive Latent Disentanglement: learnable logits ``alpha ~ N(0, init_std^2)``, one per
    latent channel, thresholded at ``tau`` with a straight-through gradient."""
    num_channels: int
    tau: float = 0.5
    init_std: float = 0.1

    @nn.compact
    def __call__(self) -> jax.Array:
        alpha = self.param('alpha', nn.initializers.normal(self.init_std), (self.num_channels,))
        return straight_through_mask(alpha, self.tau)


class FixedMask(nn.Module):
    """A fixed split: the first ``num_variant`` channels variant, the rest invariant.
    ``num_variant == num_channels`` is the plain equivariant autoencoder (``z_i`` empty)."""
    num_channels: int
    num_variant: int

    def __call__(self) -> jax.Array:
        return (jnp.arange(self.num_channels) < self.num_variant).astype(jnp.float32)


class GroupLatentAutoencoder(nn.Module):
    """``x -> z -> (z_v, z_i) -> z_i + Phi_g(z_v) -> x_hat``.

    Methods (use with ``model.apply(variables, ..., method=model.<name>)``):
      ``encode(x) -> z``; ``variant_mask() -> M (c,)``; ``split(z) -> (z_v, z_i)``;
      ``act(g, z_v) -> Phi_g(z_v)``; ``decode(z) -> x_hat``;
      ``__call__(x, g) -> x_hat = D(z_i + Phi_g(z_v))``, the predicted ``T_g x``.
    """
    encoder: nn.Module
    decoder: nn.Module
    mask: nn.Module
    latent_action: nn.Module

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)

    def variant_mask(self) -> jax.Array:
        return self.mask()

    def split(self, z: jax.Array):
        m = self.mask().astype(z.dtype)
        return m * z, (1 - m) * z

    def act(self, g, z_v: jax.Array) -> jax.Array:
        return self.latent_action(g, z_v)

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x: jax.Array, g) -> jax.Array:
        z_v, z_i = self.split(self.encode(x))
        return self.decode(z_i + self.act(g, z_v))


CONV_TRANSPOSE_KINDS = ('subpixel', 'hybrid', 'xla')  # config.model.conv_transpose
STRIDED_CONV_KINDS = ('xla', 'space_to_depth')  # config.model.strided_conv
MASK_KINDS = ('learned', 'all_variant', 'manual', 'none')


def build_mask(config: ml_collections.ConfigDict, num_channels: int) -> nn.Module:
    """The mask module for ``config.mask`` (``kind`` in :data:`MASK_KINDS`)."""
    kind = config.kind
    if kind == 'learned':
        return LearnedMask(num_channels, tau=config.tau, init_std=config.init_std)
    if kind in ('all_variant', 'none'):
        # 'none' is the plain autoencoder: trained on identity pairs only
        # (pairs.training_group); at evaluation Phi_g acts on the whole latent.
        return FixedMask(num_channels, num_channels)
    if kind == 'manual':
        k = config.num_variant if config.num_variant > 0 else num_channels // 2
        if not 0 < k <= num_channels:
            raise ValueError(f'config.mask.num_variant={config.num_variant} must be in '
                             f'[1, {num_channels}] (the latent width)')
        return FixedMask(num_channels, k)
    raise ValueError(f'unknown mask kind {kind!r}; config.mask.kind must be one of '
                     f'{list(MASK_KINDS)}')


def build_model(config: ml_collections.ConfigDict, group: base.Group,
                image_channels: int) -> GroupLatentAutoencoder:
    """The model described by ``config.model``, ``config.mask``, ``config.group``."""
    m = config.model
    features = tuple(m.encoder_features)
    if not features:
        raise ValueError('config.model.encoder_features must name at least one width')
    encoder = Encoder(features, m.kernel_size, m.stride, m.negative_slope,
                      m.get('strided_conv', 'xla'))
    decoder = Decoder(tuple(reversed(features[:-1])), image_channels, m.kernel_size,
                      m.stride, m.negative_slope, m.conv_transpose)
    return GroupLatentAutoencoder(
        encoder=encoder,
        decoder=decoder,
        mask=build_mask(config.mask, features[-1]),
        latent_action=latent_actions.make_latent_action(config.group.latent_action, group),
    )


def count_params(params) -> int:
    return sum(int(p.size) for p in jax.tree_util.tree_leaves(params))
