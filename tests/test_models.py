"""The published network, the sub-pixel transposed convolution, the ALD mask and the
stop-gradient targets."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import rotated_mnist
from gla import conv
from gla import losses
from gla import models
from gla import networks
from gla import groups
from gla import state as state_lib


def _model(conv_transpose='subpixel', mask_kind='learned'):
    config = rotated_mnist.get_config()
    config.model.conv_transpose = conv_transpose
    config.mask.kind = mask_kind
    group = groups.get_group('c4')
    return config, group, models.build_model(config, group, image_channels=1)


def test_published_network_has_66753_parameters_and_7x7x64_latent():
    _, group, model = _model()
    x = jnp.zeros((2, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    assert models.count_params(variables['params']) == 66_753
    z = model.apply(variables, x, method=model.encode)
    assert z.shape == (2, 7, 7, 64)
    out = model.apply(variables, x, group.identity(2))
    assert out.shape == x.shape and float(jnp.max(jnp.abs(out))) <= 1.0


# k == 2s (the windows form): (2, 4, 2, 1), (3, 4, 2, 1), (1, 8, 4, 2); else phase kernels.
@pytest.mark.parametrize('ndim,kernel,stride,pad', [(2, 4, 2, 1), (3, 4, 2, 1), (1, 8, 4, 2),
                                                     (1, 3, 1, 1), (2, 6, 2, 2)])
def test_subpixel_conv_transpose_equals_xla(ndim, kernel, stride, pad):
    x = jax.random.normal(jax.random.key(0), (2,) + (5,) * ndim + (3,))
    ref = nn.ConvTranspose(4, (kernel,) * ndim, (stride,) * ndim,
                           padding=[(kernel - 1 - pad,) * 2] * ndim)
    variables = ref.init(jax.random.key(1), x)
    fast = conv.SubpixelConvTranspose(4, (kernel,) * ndim, (stride,) * ndim, pad)
    np.testing.assert_allclose(jax.jit(fast.apply)(variables, x),
                               jax.jit(ref.apply)(variables, x), atol=1e-5)

    def loss(module):
        return lambda v, x: jnp.sum(jnp.sin(module.apply(v, x)))
    g_ref = jax.jit(jax.grad(loss(ref), argnums=(0, 1)))(variables, x)
    g_fast = jax.jit(jax.grad(loss(fast), argnums=(0, 1)))(variables, x)
    for a, b in zip(jax.tree.leaves(g_ref), jax.tree.leaves(g_fast)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_subpixel_rejects_uneven_geometry():
    with pytest.raises(ValueError, match='kernel - 2\\*padding == stride'):
        conv.subpixel_conv_transpose(jnp.zeros((1, 4, 4, 1)), jnp.zeros((3, 3, 1, 1)), 2, 0)


def test_mask_forward_is_binary_and_gradient_is_sigmoid_prime():
    alpha = jnp.array([-2.0, -0.1, 0.0, 0.05, 1.5])
    m = models.straight_through_mask(alpha, 0.5)
    np.testing.assert_array_equal(m, [0.0, 0.0, 0.0, 1.0, 1.0])
    upstream = jnp.array([0.3, -1.0, 2.0, 0.7, -0.2])
    grad = jax.grad(lambda a: jnp.sum(models.straight_through_mask(a, 0.5) * upstream))(alpha)
    s = jax.nn.sigmoid(alpha)
    np.testing.assert_allclose(grad, s * (1 - s) * upstream, rtol=1e-6)


def test_learned_mask_init_and_split():
    _, group, model = _model()
    x = jax.random.normal(jax.random.key(3), (2, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    alpha = variables['params']['mask']['alpha']
    assert alpha.shape == (64,) and 0.05 < float(jnp.std(alpha)) < 0.2
    z = model.apply(variables, x, method=model.encode)
    z_v, z_i = model.apply(variables, z, method=model.split)
    np.testing.assert_array_equal(z_v + z_i, z)
    m = np.asarray(model.apply(variables, method=model.variant_mask))
    assert set(np.unique(m)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(z_i)[..., m == 1], 0.0)


@pytest.mark.parametrize('kind,variant', [('all_variant', 64), ('manual', 32)])
def test_fixed_masks(kind, variant):
    _, group, model = _model(mask_kind=kind)
    variables = state_lib.init_variables(model, jax.random.key(0), jnp.zeros((1, 28, 28, 1)),
                                         group.identity(1))
    assert 'mask' not in variables['params']
    m = np.asarray(model.apply(variables, method=model.variant_mask))
    assert m.sum() == variant and np.all(m[:variant] == 1)


def test_no_gradient_reaches_the_encoder_through_the_targets():
    _, group, model = _model()
    x = jax.random.normal(jax.random.key(0), (4, 28, 28, 1))
    g = jnp.array([1, 2, 3, 0], jnp.int32)
    target = group.act(g, x)
    params = state_lib.init_variables(model, jax.random.key(1), x, g)['params']

    def term(name, wrt_target):
        def f(p, t):
            return jnp.mean(losses.pair_loss_terms(model, p, x, t, g)[name])
        return jax.jit(jax.grad(f, argnums=1 if wrt_target else 0))

    for name in ('inv', 'const'):
        # (a) nothing flows back into the second pass's input ...
        d_target = term(name, True)(params, target)
        np.testing.assert_array_equal(d_target, 0.0)
    # (b) ... and the parameter gradient equals the one with the targets as constants.
    variables = {'params': params}
    t_v, t_i = model.apply(variables, model.apply(variables, target, method=model.encode),
                           method=model.split)
    t_v, t_i = np.asarray(t_v), np.asarray(t_i)

    def inv_const_with_constant_targets(p):
        v = {'params': p}
        z_v, z_i = model.apply(v, model.apply(v, x, method=model.encode), method=model.split)
        acted = model.apply(v, g, z_v, method=model.act)
        return jnp.mean((z_i - t_i) ** 2) + jnp.mean((acted - t_v) ** 2)

    def inv_const(p):
        terms = losses.pair_loss_terms(model, p, x, target, g)
        return jnp.mean(terms['inv']) + jnp.mean(terms['const'])

    for a, b in zip(jax.tree.leaves(jax.jit(jax.grad(inv_const))(params)), jax.tree.leaves(
            jax.jit(jax.grad(inv_const_with_constant_targets))(params))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


def test_total_loss_weights():
    terms = {'recon': 1.0, 'inv': 2.0, 'const': 3.0}
    assert losses.total_loss(terms, 0.5, 0.25) == 1.0 + 1.0 + 0.75


def test_decoder_size_mismatch_is_a_clear_error():
    from gla import state
    config, group, model = _model()
    with pytest.raises(ValueError, match='divisible by stride'):
        state.create_train_state(config, model, group, (30, 30, 1), jax.random.key(0))


def test_mask_forward_is_exactly_binary_for_many_logits():
    alpha = jax.random.normal(jax.random.key(0), (100_000,)) * 3
    m = np.asarray(models.straight_through_mask(alpha, 0.5))
    assert set(np.unique(m)) <= {0.0, 1.0}


@pytest.mark.parametrize('conv_transpose, strided_conv', [('subpixel', 'xla'),
                                                          ('xla', 'space_to_depth')])
def test_the_pytorch_init_draws_uniform_within_one_over_sqrt_fan_in(conv_transpose,
                                                                     strided_conv):
    """PyTorch's Conv2d / ConvTranspose2d defaults: U(+-1/sqrt(fan_in)) for kernel and bias,
    fan_in = C_in k^2 for a convolution and C_out k^2 for a transposed one (the published
    network: 1 -> 32 -> 64 -> 32 -> 1, k = 4)."""
    from configs import rotated_mnist
    from gla import groups
    config = rotated_mnist.get_config()
    config.model.init = 'pytorch'
    config.model.conv_transpose, config.model.strided_conv = conv_transpose, strided_conv
    group = groups.get_group('c4')
    model = models.build_model(config, group, 1)
    params = state_lib.init_variables(model, jax.random.key(0), jnp.zeros((1, 28, 28, 1)),
                                      group.identity(1))
    params = params['params']
    fan_in = {('encoder', 'Conv_0'): 1 * 16, ('encoder', 'Conv_1'): 32 * 16,
              ('decoder', 'ConvTranspose_0'): 32 * 16, ('decoder', 'ConvTranspose_1'): 1 * 16}
    for (part, layer), fan in fan_in.items():
        bound = fan ** -0.5
        for name in ('kernel', 'bias'):
            values = np.asarray(params[part][layer][name])
            assert np.abs(values).max() <= bound
            if values.size >= 32:  # uniform over the whole interval, not a narrow normal
                assert np.abs(values).max() > 0.8 * bound
        kernel = np.asarray(params[part][layer]['kernel'])
        if kernel.size > 1000:  # the uniform's standard deviation, bound / sqrt(3)
            assert kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)


def test_the_flax_init_is_lecun_normal_with_zero_bias():
    from configs import rotated_mnist
    from gla import groups
    config = rotated_mnist.get_config()
    config.model.init = 'flax'
    group = groups.get_group('c4')
    model = models.build_model(config, group, 1)
    params = state_lib.init_variables(model, jax.random.key(0), jnp.zeros((1, 28, 28, 1)),
                                      group.identity(1))
    conv = params['params']['encoder']['Conv_1']
    np.testing.assert_array_equal(conv['bias'], 0.0)
    assert np.asarray(conv['kernel']).std() == pytest.approx((32 * 16) ** -0.5, rel=0.05)


def _receptive_field(module, shape):
    """Input pixels that move the output at the centre cell (the gradient's support)."""
    x = jnp.zeros((1,) + shape)
    variables = module.init(jax.random.key(0), x)
    centre = tuple(n // 2 for n in module.apply(variables, x).shape[1:-1])

    def read(image):
        return module.apply(variables, image)[(0,) + centre].sum()

    grad = np.asarray(jax.grad(read)(jax.random.normal(jax.random.key(1), x.shape)))
    rows = np.nonzero(np.abs(grad[0]).sum(axis=(1, 2)))[0]
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize('ndim', [2, 3])
def test_context_blocks_keep_shapes_and_add_9_weights_per_channel_pair(ndim):
    shape = (8,) * ndim + (2,)
    plain = networks.Encoder((4, 8))
    context = networks.Encoder((4, 8), context_dilations=(2, 4))
    x = jnp.ones((2,) + shape)
    p_plain = plain.init(jax.random.key(0), x)['params']
    p_context = context.init(jax.random.key(0), x)['params']
    assert context.apply({'params': p_context}, x).shape == (2,) + (2,) * ndim + (8,)
    # two blocks at width 4 (the input of the last strided conv): 3^ndim * 4 * 4 + 4 each
    assert (models.count_params(p_context) - models.count_params(p_plain)
            == 2 * (3 ** ndim * 16 + 4))
    decoder = networks.Decoder((4,), 2, context_dilations=(1,))
    z = jnp.ones((2,) + (2,) * ndim + (8,))
    assert decoder.apply(decoder.init(jax.random.key(0), z), z).shape == (2,) + shape


def test_context_blocks_widen_the_encoder_receptive_field_by_4d_pixels():
    """Kernel 4, stride 2, two layers: 10 pixels; a dilation-d block at stride 2 adds 4d."""
    assert _receptive_field(networks.Encoder((4, 8)), (64, 64, 1)) == 10
    assert _receptive_field(networks.Encoder((4, 8), context_dilations=(2, 4)),
                            (64, 64, 1)) == 10 + 4 * (2 + 4)


def test_no_context_blocks_is_the_published_network():
    config, group, model = _model()
    config.model.encoder_context_dilations = ()
    config.model.decoder_context_dilations = ()
    again = models.build_model(config, group, image_channels=1)
    x = jax.random.normal(jax.random.key(2), (2, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    np.testing.assert_array_equal(model.apply(variables, x, group.identity(2)),
                                  again.apply(variables, x, group.identity(2)))
