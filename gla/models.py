"""Building the model a config describes, and its one forward path as a pure function.

    model = build_model(config, group, image_channels)
    variables = model.init(key, x, g)
    parts = forward(model, variables['params'], x, g)   # z, z_v, z_i, acted, prediction

The pieces, one module each: :mod:`gla.networks` (encoder, decoder), :mod:`gla.mask` (the
ALD mask), :mod:`gla.latent_actions` (``Phi_g``), :mod:`gla.autoencoder` (the chain and
:class:`~gla.autoencoder.Parts`), :mod:`gla.invariant_code` (beyond the paper: a global
invariant code). Their names are re-exported here.
"""

from __future__ import annotations

from typing import Any

import jax
import ml_collections

from gla import frame_decoder
from gla import invariant_code
from gla import latent_actions
from gla import latent_code
from gla import tensor_moments
from gla import yaw_renderer
from gla.autoencoder import GroupLatentAutoencoder, Parts  # noqa: F401  (re-exported)
from gla.groups import base
from gla.mask import FixedMask, LearnedMask, build_mask, straight_through_mask  # noqa: F401
from gla.networks import Decoder, Encoder  # noqa: F401


def build_model(config: ml_collections.ConfigDict, group: base.Group, image_channels: int,
                spatial_shape: tuple = ()) -> GroupLatentAutoencoder:
    """The model described by ``config.model``, ``config.mask``, ``config.group`` (values
    checked by :mod:`gla.config_checks`): the paper's; with ``config.model.latent=
    'grid_unit_rms'`` its two parts rescaled to RMS 1; with ``'code'`` a global latent code
    (needs the images' ``spatial_shape``, :mod:`gla.latent_code`; with
    ``config.model.code_encoder='tensor_moments'`` its ``z_v`` the moments of the encoder's
    grid, with ``'isotropic_moments'`` those of the input's isotropic features,
    :mod:`gla.tensor_moments`; with ``config.model.code_decoder='yaw_volume'`` drawn as a
    feature volume turned by the code's pose, :mod:`gla.yaw_renderer`); or with
    ``config.model.invariant_code_dim > 0`` the global-invariant-code variant."""
    m = config.model
    features = tuple(m.encoder_features)
    encoder = Encoder(features, m.kernel_size, m.stride, m.negative_slope, m.strided_conv,
                      m.init, tuple(m.encoder_context_dilations),
                      tuple(m.latent_volume_dilations))
    decoder = Decoder(tuple(reversed(features[:-1])), image_channels, m.kernel_size,
                      m.stride, m.negative_slope, m.conv_transpose, m.init,
                      tuple(m.decoder_context_dilations), tuple(m.latent_volume_dilations))
    latent_width = features[-1]
    if m.latent == 'code':
        if not spatial_shape:
            raise ValueError("config.model.latent='code' needs the images' spatial shape: "
                             'build_model(..., spatial_shape=(H, W))')
        grid = latent_code.latent_grid(tuple(spatial_shape) + (image_channels,), features,
                                       m.stride)
        num_variant = config.mask.num_variant or m.code_dim // 2  # the code's z_v entries
        if m.code_encoder in tensor_moments.ENCODERS:
            encoder = tensor_moments.ENCODERS[m.code_encoder](
                encoder, m.code_dim, num_variant, config.group.max_frequency)
        else:
            encoder = latent_code.CodeEncoder(encoder, m.code_dim)
        if m.code_decoder == 'frame':
            decoder = frame_decoder.FrameDecoder(decoder, grid, num_variant,
                                                 config.group.max_frequency, m.negative_slope)
        elif m.code_decoder == 'yaw_volume':
            encoder, decoder = yaw_renderer.build(encoder, grid, num_variant, image_channels,
                                                  m, config.group.max_frequency)
        else:
            decoder = latent_code.CodeDecoder(decoder, grid, m.negative_slope)
        latent_width = m.code_dim
    subcells = config.group.subcells
    chain = dict(
        encoder=encoder, decoder=decoder,
        mask=build_mask(config.mask, latent_width, latent_actions.channel_copies(
            config.group.latent_action, config.group.name, subcells, config.data.spatial_ndim)),
        latent_action=latent_actions.make_latent_action(config.group.latent_action, group,
                                                        config.group.max_frequency,
                                                        config.group.volume_tilt, subcells))
    if m.invariant_code_dim:
        return invariant_code.build(m, group, subcells=subcells, **chain)
    if m.code_encoder in tensor_moments.ENCODERS:
        return tensor_moments.TensorMomentAutoencoder(**chain,
                                                      max_rank=config.group.max_frequency)
    if m.latent == 'code':
        return latent_code.CodeAutoencoder(**chain)
    if m.latent == 'grid_unit_rms':
        return latent_code.UnitRmsAutoencoder(**chain)
    return GroupLatentAutoencoder(**chain)


def forward(model: GroupLatentAutoencoder, params: Any, x: jax.Array, g: Any) -> Parts:
    """:meth:`GroupLatentAutoencoder.forward` as a pure function of ``params``."""
    return model.apply({'params': params}, x, g, method=model.forward)


def split_latent(model: GroupLatentAutoencoder, params: Any, x: jax.Array) -> tuple:
    """``(z, z_v, z_i)`` of images ``x`` (no group element: the targets' encoder pass)."""
    z = model.apply({'params': params}, x, method=model.encode)
    return (z,) + tuple(model.apply({'params': params}, z, method=model.split))


def count_params(params) -> int:
    return sum(int(p.size) for p in jax.tree_util.tree_leaves(params))
