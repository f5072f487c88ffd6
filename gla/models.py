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

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

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


class InvariantCode(nn.Module):
    """A global invariant code ``(B, *h, c) -> (B, dim)``:
    ``u = LayerNorm(Dense(dim)(flatten z))``, with ``hidden > 0``
    ``u = LayerNorm(Dense(dim)(LReLU(Dense(hidden)(flatten z))))``, and with an orbit
    ``u = LayerNorm(Dense(dim)(max_k LReLU(Dense(hidden)(flatten Phi_k z_v))))``.

    Every entry of ``u`` sees the whole latent grid, so ``u`` can be invariant to a group
    that moves content across the grid; a channel of a convolutional latent map sees only a
    patch and cannot. The layer norm fixes the code's scale, which the stop-gradient target
    of ``L_inv`` needs (an unbounded code diverged)."""
    dim: int
    hidden: int = 0  # >0: a hidden layer of this width (LeakyReLU) before the last Dense
    negative_slope: float = 0.2
    stop_gradient: bool = False  # True: the code's losses train the head, not the encoder

    pool_over_orbit: bool = False  # inputs are orbits (K, B, *h, c), pooled after Hidden

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        """``z``: the latent ``(B, *h, c)``, or with ``pool_over_orbit`` its orbit
        ``(K, B, *h, c)`` (``Phi_k z_v`` over ``K`` group elements), whose hidden features
        are max-pooled over ``k`` (exactly invariant where ``z_v`` is equivariant)."""
        if self.stop_gradient:
            z = jax.lax.stop_gradient(z)
        lead = 2 if self.pool_over_orbit else 1  # (K, B) or (B,)
        h = z.reshape(z.shape[:lead] + (-1,))
        if self.hidden:
            h = nn.leaky_relu(nn.Dense(self.hidden, name='Hidden')(h), self.negative_slope)
        if self.pool_over_orbit:
            h = jnp.max(h, axis=0)
        u = nn.Dense(self.dim, name='Dense_0')(h)
        return nn.LayerNorm(name='LayerNorm_0')(u)


class CodeToGrid(nn.Module):
    """The decoder's view of the invariant code: ``Dense(u)`` reshaped onto the latent grid,
    ``(B, dim) -> (B, *grid)`` with ``grid = (*h, c)`` (the same map for every ``g``)."""

    @nn.compact
    def __call__(self, u: jax.Array, grid: Sequence[int]) -> jax.Array:
        size = 1
        for d in grid:
            size *= d
        return nn.Dense(size, name='Dense_0')(u).reshape((u.shape[0],) + tuple(grid))


class GroupLatentAutoencoder(nn.Module):
    """``x -> z -> (z_v, z_i) -> combine(Phi_g(z_v), z_i) -> x_hat``.

    Two forms of the invariant part (``config.model.invariant_code_dim``):
      * 0 (the paper): ``z_i = (1 - M) z``, a map ``(B, *h, c)``, and
        ``combine(a, z_i) = a + z_i``;
      * ``dim > 0``: ``z_i = u``, the global :class:`InvariantCode` ``(B, dim)`` of the whole
        latent (of the orbit ``Phi_k z_v`` over ``code_orbit`` when set), and
        ``combine(a, u) = a + (1 - M) CodeToGrid(u)``: the invariant channels of the
        decoder's input come from the code (all channels: ``a + CodeToGrid(u)``, with
        ``code_fills_all_channels``).
    In both ``z_v = M z`` ``(B, *h, c)``.

    Methods (use with ``model.apply(variables, ..., method=model.<name>)``):
      ``encode(x) -> z``; ``variant_mask() -> M (c,)``; ``split(z) -> (z_v, z_i)``;
      ``act(g, z_v) -> Phi_g(z_v)``; ``combine(acted, z_i) -> decoder input (B, *h, c)``;
      ``decode(z) -> x_hat``; ``__call__(x, g) -> x_hat = D(combine(Phi_g(z_v), z_i))``,
      the predicted ``T_g x``.
    """
    encoder: nn.Module
    decoder: nn.Module
    mask: nn.Module
    latent_action: nn.Module
    invariant_code: Optional[nn.Module] = None
    code_to_grid: Optional[nn.Module] = None
    code_fills_all_channels: bool = False
    code_orbit: Optional[tuple] = None  # group elements (scalars) the code pools Phi_k z_v over

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)

    def variant_mask(self) -> jax.Array:
        return self.mask()

    def split(self, z: jax.Array):
        m = self.mask().astype(z.dtype)
        if self.invariant_code is None:
            return m * z, (1 - m) * z
        if self.code_orbit is None:
            return m * z, self.invariant_code(z)
        z_v = m * z
        orbit = jnp.stack([self.act(jnp.full((z.shape[0],), e), z_v) for e in self.code_orbit])
        return z_v, self.invariant_code(orbit)

    def act(self, g, z_v: jax.Array) -> jax.Array:
        return self.latent_action(g, z_v)

    def combine(self, acted: jax.Array, z_i: jax.Array) -> jax.Array:
        if self.invariant_code is None:
            return z_i + acted
        grid = self.code_to_grid(z_i, acted.shape[1:])
        if self.code_fills_all_channels:
            return acted + grid
        m = self.mask().astype(acted.dtype)
        return acted + (1 - m) * grid

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x: jax.Array, g) -> jax.Array:
        z_v, z_i = self.split(self.encode(x))
        return self.decode(self.combine(self.act(g, z_v), z_i))


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
    code_dim = m.get('invariant_code_dim', 0)
    if code_dim < 0:
        raise ValueError(f'config.model.invariant_code_dim={code_dim} must be >= 0 '
                         '(0 = the paper\'s invariant channels)')
    code, code_to_grid = None, None
    code_orbit = None
    if code_dim:
        if m.get('invariant_code_orbit_pool', False):
            code_orbit = _code_orbit(group)
        code = InvariantCode(code_dim, m.get('invariant_code_hidden', 0), m.negative_slope,
                             m.get('invariant_code_stop_gradient', False),
                             pool_over_orbit=code_orbit is not None)
        code_to_grid = CodeToGrid()
    return GroupLatentAutoencoder(
        encoder=encoder,
        decoder=decoder,
        mask=build_mask(config.mask, features[-1]),
        latent_action=latent_actions.make_latent_action(config.group.latent_action, group),
        invariant_code=code,
        code_to_grid=code_to_grid,
        code_fills_all_channels=m.get('invariant_code_fills', 'invariant') == 'all',
        code_orbit=code_orbit,
    )


def _code_orbit(group: base.Group) -> tuple:
    """The evaluation elements of ``group`` as a tuple of Python scalars (hashable module
    field) for orbit pooling; groups whose elements are not scalars are refused."""
    elements = np.asarray(group.eval_elements())
    if elements.ndim != 1:
        raise ValueError(f'config.model.invariant_code_orbit_pool needs a group with scalar '
                         f'elements (c4, cube, so2); {group.name} has elements of shape '
                         f'{elements.shape[1:]}: set it to False')
    return tuple(elements.tolist())


def count_params(params) -> int:
    return sum(int(p.size) for p in jax.tree_util.tree_leaves(params))
