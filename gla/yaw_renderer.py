"""Beyond the paper: a decoder that renders a feature volume turned by the code's own pose
(``config.model.code_decoder='yaw_volume'``; yaw groups, a global code, the Fourier action).

Yaw turns a 3D object out of the image plane, so no action on pixels or on the encoder's
grid is exact, and a decoder that must draw every pose from a vector learns to ignore the
part ``Phi_g`` scrambles (docs/results.md, issue 17). Here the pose is an angle the decoder
cannot ignore:

    u      = z_v[:, 0:2]                          (B, 2) the first pair of z_v; 'fourier'
                                                  turns it by angle(g) (frequency 1)
    theta  = atan2(u_1, u_0)                      the pose, read off the code
    c      = [Phi_{-theta} z_v, z_i]              the code in its own frame: no g moves it
    V      = up3(Dense(c))                        (B, S, S, S, F) features in the object's frame,
                                                  axes (depth, rows, columns)
    V_th   = T_{R_y(theta)} V                     turned about its row (vertical) axis, trilinear
    x_hat  = D(LReLU(P(V_th) + Dense(c)))         P: depth stacked on channels, a 1x1 map to
                                                  (B, S, S, C); Dense(c): an unturned grid (the sky)

Because ``theta(Phi_g z_v) = theta(z_v) + angle(g)`` and ``c`` does not move,
``V_th(Phi_g z) = T_{R_y(angle(g))} V_th(z)``: decoding turns the volume by ``g`` exactly (up
to trilinear resampling; exactly at quarter turns). The projection ``P`` and the 2D decoder
``D`` are learned, so the camera's elevation and the plane's look are learned too; what is
fixed is that a turn of the code is a turn of the object's volume about one axis.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gla import conv
from gla import networks
from gla.groups import resample3d
from gla.latent_actions import channel_rotation

POSE_SOURCES = ('shared', 'separate', 'detached')  # config.model.yaw_pose


def pose_angle(z_v: jax.Array) -> jax.Array:
    """The pose ``theta`` ``(B,)`` in radians: the angle of the first pair of ``z_v`` ``(B,
    n)``, ``atan2(z_v[:, 1], z_v[:, 0])``. A turn of that pair by ``a`` adds ``a``."""
    return jnp.arctan2(z_v[:, 1], z_v[:, 0])


def yaw_matrices(theta: jax.Array) -> jax.Array:
    """``(B, 3, 3)`` rotations by ``theta`` ``(B,)`` about the row axis of ``(depth, rows,
    columns)`` coordinates (:func:`gla.groups.resample3d.rotate_volumes`): they turn the
    (depth, columns) plane and keep the rows."""
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    zero, one = jnp.zeros_like(theta), jnp.ones_like(theta)
    return jnp.stack([jnp.stack([cos, zero, -sin], -1),
                      jnp.stack([zero, one, zero], -1),
                      jnp.stack([sin, zero, cos], -1)], axis=-2)


class YawVolumeDecoder(nn.Module):
    """Code ``(B, dim)`` (its first ``num_variant`` entries ``z_v``, channel pairs of the
    ``'fourier'`` action with frequencies ``1..max_frequency``) ``->`` images ``(B, H, W,
    C)``: the module docstring's chain. ``grid`` ``(S, S, c)`` is the 2D decoder's input:
    the volume is ``S^3 x volume_features`` (built at ``S / 2`` and upsampled once)."""
    decoder: nn.Module
    grid: Sequence[int]
    num_variant: int
    max_frequency: int
    volume_features: int = 16
    negative_slope: float = 0.2
    detach_pose: bool = False  # the pose learns from L_const alone, not from the drawing

    @nn.compact
    def __call__(self, z: jax.Array, volume_only: bool = False) -> jax.Array:
        """Images ``(B, H, W, C)``; ``volume_only``: ``V_th`` ``(B, S, S, S,
        volume_features)``, the object's feature volume turned by its pose, instead."""
        size, coarse = self.grid[0], self.grid[0] // 2
        z_v = z[:, :self.num_variant]
        if self.detach_pose:  # the pose learns from L_const alone
            z_v = jax.lax.stop_gradient(z_v)
        theta = pose_angle(z_v)
        frequencies = channel_rotation.fourier_frequencies(self.num_variant, self.max_frequency)
        canonical = channel_rotation.rotate_channel_pairs(-theta, z_v,
                                                          frequencies.astype(z.dtype))
        code = jnp.concatenate([canonical, z[:, self.num_variant:]], axis=-1)
        width = 2 * self.volume_features
        hidden = nn.Dense(coarse ** 3 * width, name='to_volume')(code)
        hidden = nn.leaky_relu(hidden.reshape((z.shape[0],) + (coarse,) * 3 + (width,)),
                               self.negative_slope)
        volume = conv.SubpixelConvTranspose(self.volume_features, (4, 4, 4), (2, 2, 2), 1,
                                            name='volume_up')(hidden)
        if volume.shape[1] != size:
            raise ValueError(f'the volume is {volume.shape[1]} cells wide, the 2D decoder '
                             f'reads a grid {tuple(self.grid)}: its side must be even')
        turned = resample3d.rotate_volumes(volume, yaw_matrices(theta))
        if volume_only:
            return turned
        b, d, h, w, f = turned.shape
        # (B, depth, rows, cols, F) -> (B, rows, cols, depth * F): the depth seen along the
        # camera's axis, projected by a learned 1x1 map.
        stacked = turned.transpose(0, 2, 3, 1, 4).reshape(b, h, w, d * f)
        projected = nn.Dense(self.grid[-1], name='project')(stacked)
        cells = h * w * self.grid[-1]
        flat = nn.Dense(cells, name='to_grid')(code).reshape((b,) + tuple(self.grid))
        return self.decoder(nn.leaky_relu(projected + flat, self.negative_slope))


class PoseAndCodeEncoder(nn.Module):
    """Images ``(B, H, W, C)`` ``->`` code ``(B, dim)``: ``[pose (2), Dense(E(x)) (dim - 2)]``.
    The pose comes from a network of its own (``pose_encoder``, then Dense ``hidden``,
    LeakyReLU, Dense 2): on a shared network the invariant part's losses make the last
    features alike for every view and leave the pose nothing to read."""
    encoder: nn.Module
    pose_encoder: nn.Module
    dim: int
    hidden: int = 256
    negative_slope: float = 0.2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        grid = self.encoder(x)
        rest = nn.Dense(self.dim - 2, name='to_code')(grid.reshape(grid.shape[0], -1))
        features = self.pose_encoder(x)
        hidden = nn.leaky_relu(nn.Dense(self.hidden, name='pose_hidden')(
            features.reshape(features.shape[0], -1)), self.negative_slope)
        return jnp.concatenate([nn.Dense(2, name='pose')(hidden), rest], axis=-1)


def build(code_encoder: nn.Module, grid: Sequence[int], num_variant: int, image_channels: int,
          model_config, max_frequency: int) -> tuple:
    """``(encoder, decoder)`` for ``config.model.code_decoder='yaw_volume'``: the 2D decoder
    starts one upsampling later than the paper's, at twice the latent ``grid``'s side
    ``(h, w, c)``; ``model_config.yaw_pose`` says where the pose comes from (the code's
    encoder ``code_encoder``, a :class:`gla.latent_code.CodeEncoder`, or a network of its
    own)."""
    m = model_config
    features = tuple(m.encoder_features)
    decoder = networks.Decoder(tuple(reversed(features[:-2])), image_channels, m.kernel_size,
                               m.stride, m.negative_slope, m.conv_transpose, m.init)
    decoder = YawVolumeDecoder(decoder, (2 * grid[0], 2 * grid[1], features[-2]), num_variant,
                               max_frequency, negative_slope=m.negative_slope,
                               detach_pose=m.yaw_pose == 'detached')
    if m.yaw_pose == 'shared':
        return code_encoder, decoder
    pose_encoder = networks.Encoder(features, m.kernel_size, m.stride, m.negative_slope,
                                    m.strided_conv, m.init)
    return PoseAndCodeEncoder(code_encoder.encoder, pose_encoder, m.code_dim), decoder
