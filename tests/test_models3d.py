"""3D network pieces: the space-to-depth strided conv equals nn.Conv (values, gradients,
parameters), and the 3D autoencoder keeps the shape of a volume."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import test3d
from gla import conv
from gla import groups
from gla import models
from gla import state as state_lib


@pytest.mark.parametrize('ndim', [2, 3])
def test_space_to_depth_encoder_equals_xla_encoder(ndim):
    x = jax.random.normal(jax.random.key(0), (2,) + (8,) * ndim + (2,))
    xla = models.Encoder((4, 6), strided_conv='xla')
    s2d = models.Encoder((4, 6), strided_conv='space_to_depth')
    params = state_lib.init_variables(xla, jax.random.key(1), x)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(
        jnp.shape, jax.eval_shape(s2d.init, jax.random.key(1), x))
    np.testing.assert_allclose(jax.jit(s2d.apply)(params, x), jax.jit(xla.apply)(params, x),
                               atol=1e-5)

    def loss(p, model):
        return jnp.sum(jnp.sin(model.apply(p, x)))

    g_xla, g_s2d = (jax.jit(jax.grad(functools.partial(loss, model=model)))(params)
                    for model in (xla, s2d))
    for a, b in zip(jax.tree.leaves(g_xla), jax.tree.leaves(g_s2d)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_space_to_depth_round_trip_and_bad_shapes():
    x = jax.random.normal(jax.random.key(0), (2, 4, 6, 8, 3))
    np.testing.assert_array_equal(conv.depth_to_space(conv.space_to_depth(x, 2), 2, 3), x)
    with pytest.raises(ValueError, match='kernel == 2 \\* stride'):
        conv.space_to_depth_conv(x, jnp.zeros((3, 3, 3, 3, 1)), 2, 1)
    with pytest.raises(ValueError, match='strided_conv'):
        models.Encoder((4,), strided_conv='fft').init(jax.random.key(0), x)


@pytest.mark.parametrize('group_name', ['cube', 'so3'])
def test_3d_autoencoder_shapes(group_name):
    config = test3d.get_config()
    config.group.name = group_name
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1)
    x = jnp.zeros((2, 16, 16, 16, 1))
    g = group.sample(jax.random.key(0), 2)
    variables = state_lib.init_variables(model, jax.random.key(1), x, g)
    z = jax.eval_shape(functools.partial(model.apply, method=model.encode), variables, x)
    assert z.shape == (2, 4, 4, 4, 8)
    assert jax.jit(model.apply)(variables, x, g).shape == x.shape
