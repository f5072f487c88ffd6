"""A learned linear representation of planar rotations on latent channels: ``exp(theta*A)``.

``A`` is block-diagonal and skew-symmetric: channel pairs ``(2k, 2k+1)`` rotate as 2-vectors
by the angle ``omega_k * theta`` with learned frequencies ``omega_k``; an odd last channel
is left unchanged. For every real ``omega`` this is an exact homomorphism of the real line,
``Phi_theta o Phi_phi = Phi_{theta+phi}``, ``Phi_0 = id``, ``Phi_{-theta} = Phi_theta^-1``
(up to float rounding). It is also ``2*pi``-periodic, i.e. a representation of SO(2) or of a
cyclic group C_n, only where the ``omega_k`` are integers; learned real frequencies trade
that for flexibility and the test suite states it.
"""

from __future__ import annotations

import functools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla.groups import base


def rotate_channel_pairs(theta: jax.Array, z: jax.Array, frequencies: jax.Array) -> jax.Array:
    """``z`` ``(B, *spatial, C)``, ``theta`` ``(B,)`` radians, ``frequencies`` ``(C // 2,)``.

    Returns ``exp(theta * A) z`` applied at every spatial position.
    """
    num_pairs = z.shape[-1] // 2
    if frequencies.shape != (num_pairs,):
        raise ValueError(f'{z.shape[-1]} channels need {num_pairs} frequencies, got '
                         f'{frequencies.shape}')
    angle = jnp.asarray(theta, z.dtype).reshape((-1,) + (1,) * (z.ndim - 1)) * frequencies
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    paired = z[..., :2 * num_pairs]
    first, second = paired[..., 0::2], paired[..., 1::2]
    rotated = jnp.stack([cos * first - sin * second, sin * first + cos * second], axis=-1)
    rotated = rotated.reshape(paired.shape)
    return jnp.concatenate([rotated, z[..., 2 * num_pairs:]], axis=-1)


def round_straight_through(x: jax.Array) -> jax.Array:
    """Forward ``round(x)``, gradient of the identity."""
    return x + jax.lax.stop_gradient(jnp.round(x) - x)


class LearnedChannelRotation(nn.Module):
    """``Phi_g(z) = exp(angle(g) * A) z`` with learned frequencies (parameter
    ``frequencies``, ``(C // 2,)``, initialised uniformly in ``[0.5, init_max]``).

    ``angle`` maps a batch of group elements to radians ``(B,)`` (``Group.angle``).
    ``integer_frequencies`` rounds the frequencies in the forward pass (straight-through
    gradient to the real parameters), which makes ``Phi`` an exact representation of
    ``C_n`` and SO(2): a full turn is the identity.
    """
    angle: Callable[[jax.Array], jax.Array]
    init_max: float = 3.0
    integer_frequencies: bool = False

    @nn.compact
    def __call__(self, g, z: jax.Array) -> jax.Array:
        frequencies = self.param(
            'frequencies',
            lambda key, shape: jax.random.uniform(key, shape, minval=0.5, maxval=self.init_max),
            (z.shape[-1] // 2,))
        if self.integer_frequencies:
            frequencies = round_straight_through(frequencies)
        return rotate_channel_pairs(self.angle(g), z, frequencies.astype(z.dtype))


# Integer frequencies: starting frequencies 1 .. round(init_max) ('learned_channels_integer';
# the planes comparison's "learned" action).
IntegerChannelRotation = functools.partial(LearnedChannelRotation, init_max=4.5,
                                           integer_frequencies=True)


def fourier_frequencies(num_channels: int, max_frequency: int) -> jax.Array:
    """The frequencies ``(num_channels // 2,)`` of :class:`FourierRotation`'s channel pairs:
    ``1, 2, .., max_frequency, 1, 2, ..``."""
    return 1 + jnp.arange(num_channels // 2) % max_frequency


class FourierRotation(nn.Module):
    """``Phi_g(z) = exp(angle(g) * A) z`` with fixed integer frequencies ``1, 2, ..,
    max_frequency, 1, 2, ..`` on the channel pairs: an exact real representation of SO(2)
    (a sum of its irreducible 2D representations, the Fourier view of a steerable feature).
    Orthogonal, so it keeps ``||z||``; ``Phi_0 = id``, ``Phi_theta Phi_phi =
    Phi_{theta+phi}``, a full turn is the identity, and at quarter turns it is the C4
    representation ``exp(k pi/2 A)`` (a signed permutation of channels). Meant for a global
    code (``config.model.latent='code'``, :mod:`gla.latent_code`); on a grid it turns the
    channels of every cell without moving cells. No parameters."""
    angle: Callable[[jax.Array], jax.Array]
    max_frequency: int = 4

    @nn.compact
    def __call__(self, g, z: jax.Array) -> jax.Array:
        frequencies = fourier_frequencies(z.shape[-1], self.max_frequency)
        return rotate_channel_pairs(self.angle(g), z, frequencies.astype(z.dtype))


class GridAndLearnedChannels(nn.Module):
    """``Phi_g = exp(angle(g) A) o T_g``: the grid action, then a learned rotation of channel
    pairs. The two commute, so the group law of each carries over to the composite."""
    group: base.Group

    @nn.compact
    def __call__(self, g, z_v: jax.Array) -> jax.Array:
        return LearnedChannelRotation(self.group.angle)(g, self.group.act(g, z_v))
