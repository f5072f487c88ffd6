"""The modules in a user's own JAX code, without the trainer: encoder, decoder, ALD mask and
the C4 action composed inside the user's ``jax.jit`` / ``jax.grad`` / ``jax.vmap``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gla import groups
from gla import models


def _user_modules():
    """What a user builds by hand: the published MNIST encoder/decoder and a mask."""
    encoder = models.Encoder(features=(8, 16))
    decoder = models.Decoder(features=(8,), out_channels=1)
    mask = models.LearnedMask(num_channels=16)
    # 16 x 16 images -> a 4 x 4 x 16 latent (two stride-2 convs), square for C4.
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    # Initialised under jit: op-by-op (eager) init of the convolutions is slow on CPU.
    enc = jax.jit(encoder.init)(jax.random.key(1), x)
    z = jax.jit(encoder.apply)(enc, x)
    params = {'enc': enc, 'dec': jax.jit(decoder.init)(jax.random.key(2), z),
              'mask': jax.jit(mask.init)(jax.random.key(3))}
    return encoder, decoder, mask, params, x


def test_user_jit_grad_over_encoder_mask_action_decoder():
    encoder, decoder, mask, params, x = _user_modules()
    c4 = groups.get_group('c4')

    def decode_with_mask(params, m, x, k):
        z = encoder.apply(params['enc'], x)  # (B, 4, 4, 16)
        z_v, z_i = m * z, (1 - m) * z
        x_hat = decoder.apply(params['dec'], z_i + c4.act(k, z_v))
        return jnp.mean((x_hat - c4.act(k, x)) ** 2)

    def user_loss(params, x, k):
        return decode_with_mask(params, mask.apply(params['mask']), x, k)  # m: (16,), 0/1

    k = jnp.array([0, 1, 2, 3], jnp.int32)
    loss, grads = jax.jit(jax.value_and_grad(user_loss))(params, x, k)
    m = mask.apply(params['mask'])
    assert set(np.unique(np.asarray(m)).tolist()) <= {0.0, 1.0}
    assert float(loss) == pytest.approx(float(jax.jit(decode_with_mask)(params, m, x, k)),
                                        rel=1e-6)
    # Straight-through, known answer: d loss / d alpha = d loss / d m (at the hard m)
    # * sigmoid'(alpha), for every channel, through the user's own jit(grad).
    alpha = params['mask']['params']['alpha']
    d_m = jax.jit(jax.grad(decode_with_mask, argnums=1))(params, m, x, k)
    expected = d_m * jax.nn.sigmoid(alpha) * (1 - jax.nn.sigmoid(alpha))
    np.testing.assert_allclose(grads['mask']['params']['alpha'], expected, rtol=1e-4,
                               atol=1e-9)
    assert np.all(np.asarray(grads['mask']['params']['alpha']) != 0)
    # The encoder and decoder get gradients too.
    for part in ('enc', 'dec'):
        assert any(np.any(np.asarray(a) != 0) for a in jax.tree.leaves(grads[part]))


def test_user_vmap_over_group_elements_is_the_orbit():
    encoder, _, _, params, x = _user_modules()
    c4 = groups.get_group('c4')
    z = jax.jit(encoder.apply)(params['enc'], x)  # (4, 4, 4, 16)

    # vmap over the four elements, each applied to the whole batch.
    orbit = jax.jit(jax.vmap(lambda k: c4.act(jnp.full((z.shape[0],), k), z)))(
        jnp.arange(4, dtype=jnp.int32))
    assert orbit.shape == (4,) + z.shape
    for k in range(4):
        np.testing.assert_array_equal(orbit[k], jnp.rot90(z, k, axes=(1, 2)))

    # vmap of a per-example function (no batch axis inside) over a batch of elements.
    def act_one(k, zi):
        return c4.act(k[None], zi[None])[0]

    k = jnp.array([3, 0, 1, 2], jnp.int32)
    batched = jax.vmap(act_one)(k, z)
    np.testing.assert_array_equal(batched, c4.act(k, z))
    # Group laws inside the user's jit: g * g^-1 = e, and act(g*h) = act(g) . act(h).
    h = jnp.array([1, 1, 2, 3], jnp.int32)
    laws = jax.jit(lambda g, h, z: (c4.act(c4.compose(g, c4.inverse(g)), z),
                                    c4.act(c4.compose(g, h), z), c4.act(g, c4.act(h, z))))
    identity, gh, g_then_h = laws(k, h, z)
    np.testing.assert_array_equal(identity, z)
    np.testing.assert_array_equal(gh, g_then_h)


def test_model_methods_as_pure_functions_under_user_grad():
    """The whole model (``models.build_model``) with ``method=`` as pure functions."""
    from configs import test as test_config
    c4 = groups.get_group('c4')
    model = models.build_model(test_config.get_config(), c4, image_channels=1)
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1), minval=-1, maxval=1)
    variables = jax.jit(model.init)(jax.random.key(1), x, c4.identity(2))

    def invariance_gap(params, x):
        # The user's own objective: how much z_i moves under a half turn.
        v = {'params': params}
        _, z_i = model.apply(v, model.apply(v, x, method=model.encode), method=model.split)
        _, z_i_rot = model.apply(v, model.apply(v, jnp.rot90(x, 2, axes=(1, 2)),
                                                method=model.encode), method=model.split)
        return jnp.mean((z_i - z_i_rot) ** 2)

    grads = jax.jit(jax.grad(invariance_gap))(variables['params'], x)
    # The decoder does not enter this objective: zero gradient; the encoder's is not.
    assert all(np.all(np.asarray(a) == 0) for a in jax.tree.leaves(grads['decoder']))
    assert any(np.any(np.asarray(a) != 0) for a in jax.tree.leaves(grads['encoder']))
    assert np.all(np.isfinite(np.asarray(grads['mask']['alpha'])))
