"""The options beyond the paper (issue 10): the global invariant code, the VICReg variance
and covariance terms, random input elements, the shifted L_inv target, the cosine schedule,
and the probe's features of a run with a code."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import rotated_mnist
from gla import settings
from gla import evaluate
from gla import losses
from gla import metrics
from gla import models
from gla import pairs
from gla import state as state_lib
from gla import groups


def _code_model(mask_kind='learned', fills='invariant', dim=16, hidden=0):
    config = rotated_mnist.get_config()
    config.mask.kind = mask_kind
    config.model.invariant_code_dim = dim
    config.model.invariant_code_hidden = hidden
    config.model.invariant_code_fills = fills
    group = groups.get_group('c4')
    model = models.build_model(config, group, image_channels=1)
    x = jax.random.normal(jax.random.key(3), (4, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(4))
    return model, variables, x


def test_code_is_a_normalised_global_vector_and_feeds_only_invariant_channels():
    model, variables, x = _code_model(mask_kind='manual')  # channels 0..31 variant
    z = model.apply(variables, x, method=model.encode)
    z_v, u = model.apply(variables, z, method=model.split)
    assert u.shape == (4, 16) and z_v.shape == (4, 7, 7, 64)
    np.testing.assert_allclose(np.mean(u, axis=1), 0.0, atol=1e-5)  # layer norm, init scale
    np.testing.assert_allclose(np.std(u, axis=1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(z_v)[..., 32:], 0.0)
    acted = jax.random.normal(jax.random.key(1), z_v.shape)
    combined = np.asarray(model.apply(variables, acted, u, method=model.combine))
    # variant channels: exactly Phi_g z_v; invariant channels: the code's map, not zero
    np.testing.assert_array_equal(combined[..., :32], np.asarray(acted)[..., :32])
    delta = combined[..., 32:] - np.asarray(acted)[..., 32:]
    assert np.abs(delta).mean() > 1e-3
    # the code's map does not depend on g: the same u gives the same invariant channels
    other = np.asarray(model.apply(variables, jnp.zeros_like(acted), u, method=model.combine))
    np.testing.assert_allclose(other[..., 32:], delta, rtol=1e-5, atol=1e-6)


def test_code_filling_all_channels_adds_its_map_everywhere():
    model, variables, x = _code_model(mask_kind='manual', fills='all', hidden=8)
    assert variables['params']['invariant_code']['Hidden']['kernel'].shape == (7 * 7 * 64, 8)
    z_v, u = model.apply(variables, model.apply(variables, x, method=model.encode),
                         method=model.split)
    delta = np.asarray(model.apply(variables, jnp.zeros_like(z_v), u, method=model.combine))
    assert np.abs(delta[..., :32]).mean() > 1e-3 and np.abs(delta[..., 32:]).mean() > 1e-3


def test_paper_mode_has_no_code_parameters_and_combine_is_the_sum():
    config = rotated_mnist.get_config()
    group = groups.get_group('c4')
    model = models.build_model(config, group, image_channels=1)
    x = jnp.ones((2, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    assert set(variables['params']) == {'encoder', 'decoder', 'mask'}
    a, b = jnp.ones((2, 7, 7, 64)), 2 * jnp.ones((2, 7, 7, 64))
    np.testing.assert_array_equal(model.apply(variables, a, b, method=model.combine), 3.0)


def test_negative_code_size_is_refused():
    config = rotated_mnist.get_config()
    config.model.invariant_code_dim = -1
    from gla import config_checks
    with pytest.raises(ValueError, match='invariant_code_dim=-1 must be an integer >= 0'):
        config_checks.validate_config(config)


def test_variance_covariance_terms():
    rng = np.random.default_rng(0)
    white = rng.standard_normal((4096, 8)).astype(np.float32)
    l_var, l_cov = losses.variance_covariance(jnp.asarray(white))
    assert float(l_var) < 0.02 and float(l_cov) < 0.02
    # a constant batch: every feature is 1 - sqrt(eps) below the unit standard deviation
    l_var, l_cov = losses.variance_covariance(jnp.ones((64, 8)))
    np.testing.assert_allclose(float(l_var), 1 - np.sqrt(1e-4), rtol=1e-5)
    assert float(l_cov) == 0.0
    # two copies of one feature: covariance 1 off the diagonal, twice, over d = 2
    f = rng.standard_normal((4096, 1)).astype(np.float32)
    _, l_cov = losses.variance_covariance(jnp.asarray(np.concatenate([f, f], axis=1)))
    np.testing.assert_allclose(float(l_cov), 2 * float(np.var(f, ddof=1)) ** 2 / 2, rtol=1e-3)


def test_vicreg_and_ssim_terms_enter_the_loss_only_when_weighted():
    model, variables, x = _code_model()
    g = jnp.array([0, 1, 2, 3], jnp.int32)
    target = groups.get_group('c4').act(g, x)
    plain, terms = losses.pair_losses(model, variables['params'], x, target, g, 1.0, 1.0)
    assert 'var' not in terms and 'ssim' not in terms
    total, terms = losses.pair_losses(model, variables['params'], x, target, g, 1.0, 1.0,
                                      lambda_var=2.0, lambda_cov=0.5)
    np.testing.assert_allclose(float(total), float(plain) + 2.0 * float(terms['var'])
                               + 0.5 * float(terms['cov']), rtol=1e-5)
    # L_ssim: one minus the evaluation's SSIM of the prediction and T_g x
    total, with_ssim = losses.pair_losses(model, variables['params'], x, target, g, 1.0, 1.0,
                                          lambda_ssim=0.5)
    prediction = models.forward(model, variables['params'], x, g).prediction
    structure = 1.0 - np.mean(np.asarray(metrics.ssim(prediction, target)))
    np.testing.assert_allclose(float(with_ssim['ssim']), structure, rtol=1e-5)
    np.testing.assert_allclose(float(total), float(plain) + 0.5 * structure, rtol=1e-5)
    # the shifted L_inv target changes only L_inv
    shifted = pairs.random_shift(jax.random.key(5), target, 2)
    _, moved = losses.pair_losses(model, variables['params'], x, target, g, 1.0, 1.0,
                                  inv_target=shifted)
    assert float(moved['inv']) != float(terms['inv'])
    for name in ('recon', 'const'):
        assert float(moved[name]) == float(terms[name])


def test_a_step_down_the_ssim_term_raises_a_volumes_ssim():
    """The term's gradient is the evaluation's SSIM's: finite on a 3D volume, and a small
    step against it raises the SSIM of a noisy volume with its clean target."""
    rng = np.random.default_rng(0)
    target = jnp.asarray(np.tanh(rng.standard_normal((2, 16, 16, 16, 1))), jnp.float32)
    noisy = target + 0.5 * jnp.asarray(rng.standard_normal(target.shape), jnp.float32)

    def term(prediction):
        return jnp.mean(1.0 - metrics.ssim(prediction, target))

    grad = jax.grad(term)(noisy)
    assert np.all(np.isfinite(np.asarray(grad)))
    largest = jnp.max(jnp.abs(grad), axis=(1, 2, 3, 4), keepdims=True)
    stepped = noisy - 0.05 * grad / largest  # no voxel moves by more than 0.05
    before = np.asarray(metrics.ssim(noisy, target))
    after = np.asarray(metrics.ssim(stepped, target))
    assert np.all(after > before + 0.005), (before, after)


def test_random_shift_rolls_each_image_within_the_bound():
    images = jnp.zeros((16, 12, 12, 1)).at[:, 5, 6, 0].set(1.0)
    shifted = np.asarray(pairs.random_shift(jax.random.key(0), images, 2))
    positions = np.argwhere(shifted[..., 0] > 0)  # (image, row, col)
    assert len(positions) == 16  # one pixel each, nothing lost
    assert np.all(np.abs(positions[:, 1] - 5) <= 2) and np.all(np.abs(positions[:, 2] - 6) <= 2)
    assert len({(r, c) for _, r, c in positions}) > 4  # offsets differ between images


def test_random_input_element_moves_the_input_and_keeps_the_pair_exact():
    config = rotated_mnist.get_config()
    config.pairs.random_input_element = True
    group = groups.get_group('c4')
    pair_fn = settings.training_pair_fn(config, group)
    images = jax.random.uniform(jax.random.key(0), (32, 28, 28, 1))
    g = group.sample(jax.random.key(1), 32)
    inputs, targets = pair_fn(jax.random.key(2), images, g)
    np.testing.assert_array_equal(targets, group.act(g, inputs))
    orbits = np.stack([np.asarray(group.act(jnp.full((32,), k, jnp.int32), images))
                       for k in range(4)])  # (4, 32, ...)
    matches = np.all(orbits == np.asarray(inputs)[None], axis=(2, 3, 4))
    assert np.all(matches.any(axis=0))  # every input is a rotation of its image
    assert matches[0].sum() < 32  # and not always the upright one
    # validation and test pairs stay (x0, T_g x0)
    plain_inputs, _ = settings.pair_fn(config, group)(jax.random.key(2), images, g)
    np.testing.assert_array_equal(plain_inputs, images)


def test_cosine_schedule_decays_the_step_to_zero():
    config = rotated_mnist.get_config()
    config.optimizer.schedule = 'cosine'
    tx = state_lib.make_optimizer(config, total_steps=10)
    params = {'w': jnp.zeros(3)}
    opt_state = tx.init(params)
    steps = []
    for _ in range(11):
        updates, opt_state = tx.update({'w': jnp.ones(3)}, opt_state, params)
        steps.append(float(jnp.abs(updates['w'][0])))
    np.testing.assert_allclose(steps[0], 1e-3, rtol=1e-3)  # Adam's first step is lr
    assert steps[5] < 0.6e-3 and steps[10] == 0.0
    config.optimizer.schedule = 'linear'
    with pytest.raises(ValueError, match="unknown config.optimizer.schedule 'linear'"):
        state_lib.make_optimizer(config, 10)
    assert isinstance(state_lib.make_optimizer(rotated_mnist.get_config()),
                      optax.GradientTransformation)


def test_probe_features_of_a_run_with_a_code():
    mask = np.array([True, False, True])
    z = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    u = np.array([[7.0, 8.0], [9.0, 10.0]], np.float32)
    from gla import autoencoder
    from gla import invariant_code
    paper = autoencoder.GroupLatentAutoencoder.probe_features(z, z * ~mask, mask)
    np.testing.assert_array_equal(paper['z_i'], z[..., [1]])
    coded = invariant_code.InvariantCodeAutoencoder.probe_features(z, u, mask)
    np.testing.assert_array_equal(coded['z_i'], u)
    assert coded['z_v'].shape == (2, 8) and coded['z'].shape == (2, 10)
    np.testing.assert_array_equal(coded['z'][:, 8:], u)


def test_recipe_loss_stays_bounded_over_five_seeds():
    """The recipe's objective on the real network and 512 real digits, 60 steps at its
    step size 4e-3, for seeds 0..4: every term stays finite, the loss never exceeds twice
    its first value, and it ends below where it started (the global code without a layer
    norm diverged, 0.01 -> 3e8, in the issue's prototype)."""
    import functools
    from configs import rotated_mnist_invariant
    from gla import train_step
    from gla.data import sources

    config = rotated_mnist_invariant.get_config()
    config.data.max_train_examples = 512
    dataset = sources.load_dataset(config.data)
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1)
    step = jax.jit(functools.partial(
        train_step.train_step, model=model, group=group,
        pair_fn=settings.training_pair_fn(config, group),
        lambda_inv=config.loss.lambda_inv, lambda_const=config.loss.lambda_const,
        lambda_var=config.loss.lambda_var, lambda_cov=config.loss.lambda_cov))
    batches = dataset.train.images[:512].reshape(16, 32, 28, 28, 1)
    init = state_lib.jit_initial_state(functools.partial(
        state_lib.create_train_state, config, model, group, (28, 28, 1), total_steps=60))
    for seed in range(5):
        init_key, pair_key = jax.random.split(jax.random.key(seed))
        state = init(init_key)
        losses_seen = []
        for i in range(60):
            state, metrics = step(state, batches[i % 16], pair_key)
            metrics = jax.device_get(metrics)
            assert all(np.isfinite(float(v)) for v in metrics.values()), (seed, i, metrics)
            losses_seen.append(float(metrics['loss']))
        assert max(losses_seen) <= 2 * losses_seen[0], (seed, losses_seen)
        assert np.mean(losses_seen[-10:]) < losses_seen[0], (seed, losses_seen)


def test_recipe_parts_select_the_changes_and_reject_unknown_names():
    from configs import rotated_mnist_invariant as recipe
    full = recipe.get_config()
    assert full.optimizer.learning_rate == pytest.approx(4e-3)
    assert full.model.invariant_code_dim == 128 and full.pairs.random_input_element
    only = recipe.get_config('vicreg')
    assert only.loss.lambda_var == 1.0 and only.model.invariant_code_dim == 0
    assert only.optimizer.learning_rate == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="unknown recipe part.*'lr_schedule'"):
        recipe.get_config('code+lr_schedule')
    from configs import rotated_mnist_invariant_long as long
    assert long.get_config().num_epochs == 80 and long.get_config().to_dict() == dict(
        recipe.get_config().to_dict(), num_epochs=80)


def test_orbit_pooled_code_is_exactly_invariant_to_the_latent_action():
    """``u = LN(W2 max_k LReLU(W1 Phi_k z_v))``: turning the latent by any quarter turn
    permutes the orbit, so the code does not change (to float rounding)."""
    config = rotated_mnist.get_config()
    config.model.invariant_code_dim = 16
    config.model.invariant_code_hidden = 32
    config.model.invariant_code_orbit_pool = True
    group = groups.get_group('c4')
    model = models.build_model(config, group, image_channels=1)
    assert model.code_orbit == (0, 1, 2, 3)
    x = jax.random.normal(jax.random.key(3), (4, 28, 28, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(4))
    z = model.apply(variables, x, method=model.encode)
    _, u = model.apply(variables, z, method=model.split)
    for k in range(1, 4):
        turned = group.act(jnp.full((4,), k, jnp.int32), z)
        _, u_turned = model.apply(variables, turned, method=model.split)
        np.testing.assert_allclose(u_turned, u, atol=1e-5)
    # without pooling the same head is not invariant
    config.model.invariant_code_orbit_pool = False
    plain = models.build_model(config, group, image_channels=1)
    v = state_lib.init_variables(plain, jax.random.key(0), x, group.identity(4))
    _, u0 = plain.apply(v, z, method=plain.split)
    _, u1 = plain.apply(v, group.act(jnp.ones((4,), jnp.int32), z), method=plain.split)
    assert float(jnp.max(jnp.abs(u1 - u0))) > 1e-2


def _small_cube_code_model(config):
    """A code of 8 entries (hidden 16) on 16^3 volumes under the cube group: ``(group,
    model, variables, x (2, 16, 16, 16, 1), z (2, 4, 4, 4, 32))``."""
    config.model.invariant_code_dim = 8
    config.model.invariant_code_hidden = 16
    group = groups.get_group('cube')
    model = models.build_model(config, group, image_channels=1)
    x = jax.random.normal(jax.random.key(3), (2, 16, 16, 16, 1))
    variables = state_lib.init_variables(model, jax.random.key(0), x, group.identity(2))
    encode = jax.jit(functools.partial(model.apply, method=model.encode))
    return group, model, variables, x, encode(variables, x)


def test_block_averaged_orbit_code_stays_exactly_invariant_under_the_cube_group():
    """``invariant_code_block=2`` averages the 3D latent over 2x2x2 blocks before the orbit's
    hidden layer: 8x fewer inputs to that Dense, and since the blocks are symmetric about
    the grid's centre the 24 rotations still permute the orbit, so the code is invariant."""
    from configs import adrenal3d_invariant
    config = adrenal3d_invariant.get_config()
    config.model.invariant_code_block = 2
    group, model, variables, x, z = _small_cube_code_model(config)
    hidden = variables['params']['invariant_code']['Hidden']['kernel']
    assert hidden.shape[0] == 2 * 2 * 2 * z.shape[-1]  # the 4^3 grid averaged to 2^3
    _, u = model.apply(variables, z, method=model.split)
    for g in (1, 5, 13, 23):
        turned = group.act(jnp.full((2,), g, jnp.int32), z)
        np.testing.assert_allclose(model.apply(variables, turned, method=model.split)[1], u,
                                   atol=1e-5)
    config.model.invariant_code_block = 3  # does not divide the 4^3 latent grid
    odd = models.build_model(config, group, image_channels=1)
    with pytest.raises(ValueError, match='invariant_code_block=3 must divide'):
        state_lib.init_variables(odd, jax.random.key(0), x, group.identity(2))


def test_cell_pooled_code_is_exactly_invariant_and_reads_each_cell_alone():
    """``u = LN(W2 [mean, max]_cells LReLU(W1 z_v[cell]))``: one hidden layer shared by every
    cell of the variant part, its mean and maximum over the cells. The 24 rotations of the
    cube permute the cells, so the code does not change; its hidden layer sees one cell's
    channels at a time."""
    from configs import brain3d_invariant
    from gla import invariant_code
    config = brain3d_invariant.get_config()  # its code pools over the cells
    assert config.model.invariant_code_cell_pool and not config.model.invariant_code_orbit_pool
    group, model, variables, _, z = _small_cube_code_model(config)
    assert variables['params']['invariant_code']['Hidden']['kernel'].shape == (32, 16)
    z_v, u = model.apply(variables, z, method=model.split)
    for g in range(1, 24):
        turned = group.act(jnp.full((2,), g, jnp.int32), z)
        np.testing.assert_allclose(model.apply(variables, turned, method=model.split)[1], u,
                                   atol=1e-5)
    # the code reads z_v only: changing the invariant channels of z leaves it as it is
    mask = np.asarray(model.apply(variables, method=lambda m: m.mask())).astype(bool)
    assert 0 < mask.sum() < mask.size
    other = np.asarray(z).copy()
    other[..., ~mask] += 5.0
    np.testing.assert_allclose(model.apply(variables, jnp.asarray(other), method=model.split)[1],
                               u, atol=1e-6)
    # the pooled features: mean and maximum over cells of one layer applied cell by cell
    head = invariant_code.InvariantCode(8, 16, pool_over_cells=True)
    head_vars = {'params': variables['params']['invariant_code']}
    cells = np.asarray(z_v).reshape(2, -1, 32)
    kernel = np.asarray(head_vars['params']['Hidden']['kernel'])
    bias = np.asarray(head_vars['params']['Hidden']['bias'])
    hidden = cells @ kernel + bias
    hidden = np.where(hidden > 0, hidden, 0.2 * hidden)
    pooled = np.concatenate([hidden.mean(axis=1), hidden.max(axis=1)], axis=1)
    dense = head_vars['params']['Dense_0']
    pre = pooled @ np.asarray(dense['kernel']) + np.asarray(dense['bias'])
    expected = (pre - pre.mean(1, keepdims=True)) / np.sqrt(pre.var(1, keepdims=True) + 1e-6)
    ln = head_vars['params']['LayerNorm_0']
    expected = expected * np.asarray(ln['scale']) + np.asarray(ln['bias'])
    np.testing.assert_allclose(head.apply(head_vars, z_v), expected, rtol=1e-4, atol=1e-4)


def test_orbit_pooling_refuses_groups_without_scalar_elements():
    config = rotated_mnist.get_config()
    config.model.invariant_code_dim = 16
    config.model.invariant_code_hidden = 32
    config.model.invariant_code_orbit_pool = True
    with pytest.raises(ValueError, match='scalar elements'):
        models.build_model(config, groups.group_from_config(_so3_group_config()), 1)


def _so3_group_config():
    from configs import adrenal3d_so3
    return adrenal3d_so3.get_config().group


@pytest.mark.parametrize('field,value,message', [
    ('loss.lambda_var', -1.0, 'lambda_var=-1.0 must be a finite number >= 0'),
    ('optimizer.schedule', 'step', "optimizer.schedule='step' is unknown"),
    ('model.invariant_code_dim', -3, 'invariant_code_dim=-3 must be an integer >= 0'),
    ('model.invariant_code_orbit_pool', True, 'needs config.model.invariant_code_hidden > 0'),
    ('model.invariant_code_cell_pool', True, 'cell_pool needs config.model.invariant_code_hidden'),
    ('model.invariant_code_block', 0, 'invariant_code_block=0 must be a finite number > 0'),
])
def test_bad_recipe_fields_are_named(field, value, message):
    from gla import config_checks
    config = rotated_mnist.get_config()
    section, name = field.split('.')
    config[section][name] = value
    assert any(message in p for p in config_checks.config_problems(config))


def test_orbit_and_cell_pooling_together_are_refused():
    from gla import config_checks
    config = rotated_mnist.get_config()
    config.model.invariant_code_dim = 8
    config.model.invariant_code_hidden = 16
    config.model.invariant_code_orbit_pool = True
    config.model.invariant_code_cell_pool = True
    assert any('two ways to pool the code' in p for p in config_checks.config_problems(config))
    config.model.invariant_code_orbit_pool = False
    assert config_checks.config_problems(config) == []


def test_compare_with_one_mask_writes_one_row_per_setting(tmp_path):
    """The ablation table: ``--masks learned`` and settings ``PATH:PARTS`` (as launch.py
    reads them) give one table whose rows are the settings."""
    from gla import compare
    settings = compare.parse_settings(['faithful=configs/rotated_mnist.py',
                                       'code=configs/rotated_mnist_invariant.py:code'])
    assert settings[1] == ('code', 'configs/rotated_mnist_invariant.py:code')
    from absl import app
    with pytest.raises(app.UsageError, match='no config file'):
        compare.parse_settings(['x=configs/nothing.py:code'])

    def fake(psnr, z_i):
        probe = {p: {'upright': z_i, 'transformed': z_i} for p in ('z', 'z_v', 'z_i')}
        return {evaluate.PSNR_KEY: psnr, 'transformed_ssim_mean': 0.9,
                'equivariance_error_relative': 1e-3, 'invariance_error_relative': 1e-3,
                'variant_share': 0.5, 'linear_probe': probe,
                'per_group_element': {'0°': {'psnr_db': psnr}},
                'training': {'warnings': [], 'best_step': 10}}

    results = {'faithful': {'learned': [fake(29.0, 0.65), fake(29.2, 0.67)]},
               'code': {'learned': [fake(30.0, 0.88)]}}
    out = str(tmp_path / 'table.md')
    compare.write_table(out, settings, results, ['0', '1'], [])
    text = open(out).read()
    assert '| faithful (`configs/rotated_mnist.py`) | 2 | 29.10 ± 0.14 |' in text
    assert '| code (`configs/rotated_mnist_invariant.py:code`) | 1 | 30.00 |' in text
    assert '66.0 ± 1.4 / 66.0 ± 1.4' in text and text.count('| setting | seeds |') == 1
