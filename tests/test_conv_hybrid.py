"""The hybrid transposed convolution computes XLA's function and XLA's gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gla import conv
from gla import state as state_lib


@pytest.mark.parametrize('ndim,features', [(2, 1), (2, 16), (3, 2), (3, 8)])
def test_hybrid_equals_xla_values_and_gradients(ndim, features):
    # features 1, 2 take XLA's weight gradient, 8 and 16 the sub-pixel one.
    x = jax.random.normal(jax.random.key(0), (2,) + (5,) * ndim + (3,))
    ref = nn.ConvTranspose(features, (4,) * ndim, (2,) * ndim, padding=[(2, 2)] * ndim)
    variables = ref.init(jax.random.key(1), x)
    hybrid = conv.SubpixelConvTranspose(features, (4,) * ndim, (2,) * ndim, 1,
                                        method='hybrid')
    np.testing.assert_allclose(jax.jit(hybrid.apply)(variables, x),
                               jax.jit(ref.apply)(variables, x), atol=1e-5)

    def loss(module):
        return lambda v, x: jnp.sum(jnp.sin(module.apply(v, x)))
    g_ref = jax.jit(jax.grad(loss(ref), argnums=(0, 1)))(variables, x)
    g_hybrid = jax.jit(jax.grad(loss(hybrid), argnums=(0, 1)))(variables, x)
    for a, b in zip(jax.tree.leaves(g_ref), jax.tree.leaves(g_hybrid)):
        np.testing.assert_allclose(b, a, atol=1e-4, rtol=1e-4)


def test_hybrid_model_trains_like_subpixel(tiny_config):
    # One loss gradient of the whole model: 'hybrid' and 'subpixel' agree.
    from gla import groups, losses, models
    group = groups.get_group('c4')
    x = jax.random.uniform(jax.random.key(2), (4, 28, 28, 1), minval=-1, maxval=1)
    g = jnp.arange(4, dtype=jnp.int32)
    target = group.act(g, x)
    grads = {}
    for method in ('subpixel', 'hybrid'):
        tiny_config.model.conv_transpose = method
        model = models.build_model(tiny_config, group, 1)
        params = state_lib.init_variables(model, jax.random.key(0), x, g)['params']
        grads[method] = jax.jit(jax.grad(lambda p: losses.pair_losses(
            model, p, x, target, g, 1.0, 1.0)[0]))(params)
    for a, b in zip(jax.tree.leaves(grads['subpixel']), jax.tree.leaves(grads['hybrid'])):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-4)
