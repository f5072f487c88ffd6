"""The latent read as a feature volume: the depth-folded 3x3x3 convolution and the blocks
around the volumetric action (gla/latent_volume.py, gla/networks.py LatentVolumeBlocks)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import planes
from gla import config_checks
from gla import groups
from gla import latent_volume
from gla import models
from gla import networks


def _xla_conv3d(x, kernel, dilation):
    return jax.lax.conv_general_dilated(
        x, kernel, (1, 1, 1), [(dilation, dilation)] * 3, rhs_dilation=(dilation,) * 3,
        dimension_numbers=('NDHWC', 'DHWIO', 'NDHWC'))


@pytest.mark.parametrize('dilation', [1, 2])
def test_depth_folded_conv3d_is_xla_conv3d_with_its_gradients(dilation):
    x = jax.random.normal(jax.random.key(0), (2, 5, 6, 7, 3))  # rows, columns, depth differ
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, 3, 4))
    folded = latent_volume.depth_folded_conv3d(x, kernel, dilation)
    np.testing.assert_allclose(folded, _xla_conv3d(x, kernel, dilation), atol=1e-4)

    def loss(conv):
        return lambda x, k: jnp.sum(jnp.sin(conv(x, k, dilation)))

    grads = jax.grad(loss(latent_volume.depth_folded_conv3d), (0, 1))(x, kernel)
    expected = jax.grad(loss(_xla_conv3d), (0, 1))(x, kernel)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_volume_conv_is_flax_conv_with_the_same_parameters():
    x = jax.random.normal(jax.random.key(0), (2, 4, 4, 4, 5))
    ours = latent_volume.VolumeConv(6, dilation=2)
    theirs = nn.Conv(6, (3, 3, 3), padding=[(2, 2)] * 3, kernel_dilation=(2, 2, 2))
    params = ours.init(jax.random.key(3), x)
    assert jax.tree_util.tree_map(jnp.shape, params) == jax.tree_util.tree_map(
        jnp.shape, theirs.init(jax.random.key(3), x))
    np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x), atol=1e-4)


def _depths_read(dilations):
    """Depth cells of the input volume that output depth cell 0 reads (latent 4x4, 4 depth
    cells of 2 features)."""
    blocks = networks.LatentVolumeBlocks(dilations)
    z = jax.random.normal(jax.random.key(0), (1, 4, 4, 8))
    params = blocks.init(jax.random.key(1), z)

    def first_depth_cell(z):
        return jnp.sum(blocks.apply(params, z).reshape(1, 4, 4, 4, 2)[:, :, :, 0])

    grad = np.asarray(jax.grad(first_depth_cell)(z)).reshape(1, 4, 4, 4, 2)
    return sorted(np.nonzero(np.abs(grad).sum(axis=(0, 1, 2, 4)))[0].tolist())


def test_volume_blocks_mix_along_depth_by_their_dilations():
    assert _depths_read(()) == [0]  # no blocks: the identity
    assert _depths_read((1,)) == [0, 1]
    assert _depths_read((1, 2)) == [0, 1, 2, 3]


def test_planes_with_volume_blocks_keep_shapes_and_add_two_blocks_each_side():
    config = planes.get_config()
    group = groups.group_from_config(config.group)
    x = jnp.zeros((2, 64, 64, 3))
    counts = []
    for dilations in ((), (1, 2)):
        config.model.latent_volume_dilations = dilations
        assert not config_checks.config_problems(config)
        model = models.build_model(config, group, 3, (64, 64))
        params = model.init(jax.random.key(0), x, group.identity(2))['params']
        assert model.apply({'params': params}, x, group.identity(2)).shape == x.shape
        counts.append(models.count_params(params))
    # 16 features per voxel: 27 * 16 * 16 + 16 per block, two in the encoder, two in the decoder
    assert counts[1] - counts[0] == 4 * (27 * 16 * 16 + 16)


def test_volume_blocks_refuse_a_width_that_does_not_divide_the_channels():
    with pytest.raises(ValueError, match='the width must divide the channels'):
        networks.LatentVolumeBlocks((1,)).init(jax.random.key(0), jnp.zeros((1, 4, 3, 8)))
