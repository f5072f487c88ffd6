"""The global latent code and its exact SO(2) action (gla/latent_code.py, 'fourier').

Group laws of the Fourier action to float rounding; the parts' normalisation; the model's
shapes and config checks; and that the objective of the SO(2) config stays bounded while it
trains on real images of two kinds (the bundled digits, and AdrenalMNIST3D's largest slices
given through the npz source), for three seeds each, and that of the SO(3) config on the
AdrenalMNIST3D volumes.
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import rotated_mnist_so2
from gla import config_checks
from gla import groups
from gla import latent_actions
from gla import latent_code
from gla import models
from gla import state as state_lib
from gla import train_step
from gla.data import sources
from gla.groups import c4
from gla.groups import so2

ASSETS = os.path.join(os.path.dirname(sources.__file__), 'assets')


def _fourier(max_frequency=4):
    return latent_actions.make_latent_action('fourier', so2.make_group(), max_frequency)


def _apply(action, theta, z):
    return action.apply({}, jnp.asarray(theta, jnp.float32), z)


@pytest.fixture(scope='module')
def codes():
    return jax.random.normal(jax.random.key(0), (5, 34))  # 17 pairs: frequencies 1..4 tiled


def test_fourier_action_is_an_exact_orthogonal_representation_of_so2(codes):
    action = _fourier()
    a = jnp.array([0.3, -1.2, 2.9, 5.0, 0.0])
    b = jnp.array([1.1, 0.4, -3.3, 2.2, 0.7])
    np.testing.assert_array_equal(_apply(action, jnp.zeros(5), codes), codes)  # identity
    np.testing.assert_allclose(_apply(action, a, _apply(action, b, codes)),
                               _apply(action, a + b, codes), atol=2e-5)  # composition
    np.testing.assert_allclose(_apply(action, -a, _apply(action, a, codes)), codes,
                               atol=2e-5)  # inverse
    np.testing.assert_allclose(_apply(action, jnp.full(5, 2 * np.pi), codes), codes,
                               atol=2e-5)  # a full turn is the identity: integer frequencies
    np.testing.assert_allclose(jnp.linalg.norm(_apply(action, a, codes), axis=-1),
                               jnp.linalg.norm(codes, axis=-1), rtol=1e-6)  # orthogonal


def test_fourier_action_at_quarter_turns_is_the_c4_representation(codes):
    """Built for C4 (angle k pi/2) and for SO(2) at the same angles it is one map, a signed
    permutation of the channels, and four quarter turns are the identity."""
    on_c4 = latent_actions.make_latent_action('fourier', c4.make_group(), 4)
    eye = jnp.eye(34)
    for k in range(4):
        quarter = on_c4.apply({}, jnp.full((34,), k, jnp.int32), eye)
        np.testing.assert_allclose(quarter, _apply(_fourier(), jnp.full(34, k * np.pi / 2), eye),
                                   atol=1e-6)
        np.testing.assert_allclose(np.abs(quarter).sum(axis=0), 1.0, atol=1e-6)
        assert set(np.round(np.asarray(quarter), 6).ravel()) <= {-1.0, 0.0, 1.0}
    z = codes
    for _ in range(4):
        z = on_c4.apply({}, jnp.ones(5, jnp.int32), z)
    np.testing.assert_allclose(z, codes, atol=1e-5)


def test_fourier_frequencies_tile_one_to_max_frequency():
    """A pair with frequency f turns by f * theta: read the angles back from unit pairs."""
    z = jnp.tile(jnp.array([1.0, 0.0]), 7)[None]
    turned = _apply(_fourier(3), jnp.array([0.1]), z).reshape(7, 2)
    angles = np.arctan2(turned[:, 1], turned[:, 0])
    np.testing.assert_allclose(angles, 0.1 * np.array([1, 2, 3, 1, 2, 3, 1]), atol=1e-6)


def test_unit_rms_normalises_the_selected_entries_only():
    u = jax.random.normal(jax.random.key(1), (3, 2, 2, 6)) * 7.0
    weights = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    out = latent_code.unit_rms(u * weights, weights)
    np.testing.assert_allclose(jnp.mean(jnp.square(out[..., weights > 0]), axis=(1, 2, 3)),
                               1.0, rtol=1e-5)
    assert np.all(np.asarray(out[..., weights == 0]) == 0)
    np.testing.assert_array_equal(latent_code.unit_rms(jnp.zeros((2, 4)), jnp.zeros(4)), 0)


def _code_config():
    config = rotated_mnist_so2.get_config()
    assert config.model.latent == 'code' and config.group.latent_action == 'fourier'
    config.model.code_dim = 64
    return config


def test_code_model_shapes_and_parts():
    config = _code_config()
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1, (28, 28))
    x = jax.random.uniform(jax.random.key(2), (3, 28, 28, 1), minval=-1, maxval=1)
    g = jnp.array([0.0, 1.0, 2.0])
    params = state_lib.init_variables(model, jax.random.key(3), x, g)['params']
    parts = jax.jit(functools.partial(models.forward, model))(params, x, g)
    assert parts.z.shape == parts.z_v.shape == parts.z_i.shape == (3, 64)
    assert parts.prediction.shape == x.shape
    m = np.asarray(model.apply({'params': params}, method=model.variant_mask)) > 0.5
    assert m.sum() == 32  # manual half
    for part, chosen in ((parts.z_v, m), (parts.z_i, ~m)):
        np.testing.assert_allclose(np.mean(np.square(part[:, chosen]), axis=1), 1.0, rtol=1e-3)
        assert np.all(np.asarray(part[:, ~chosen]) == 0)
    np.testing.assert_array_equal(parts.acted[0], parts.z_v[0])  # g = 0: the identity
    with pytest.raises(ValueError, match='spatial shape'):
        models.build_model(config, group, 1)


def test_code_latent_refuses_grid_actions():
    config = _code_config()
    config.group.latent_action = 'grid'
    problems = config_checks.config_problems(config)
    assert any("latent='code'" in p and 'fourier' in p for p in problems), problems


def test_unit_rms_grid_parts_are_at_rms_one_and_the_cube_action_commutes_with_them():
    from configs import test3d
    config = test3d.get_config()
    config.model.latent = 'grid_unit_rms'
    assert not config_checks.config_problems(config)
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1, (16, 16, 16))
    assert isinstance(model, latent_code.UnitRmsAutoencoder)
    x = 3.0 * jax.random.uniform(jax.random.key(0), (4, 16, 16, 16, 1), minval=-1, maxval=1)
    g = jnp.array([0, 5, 13, 23])
    params = state_lib.init_variables(model, jax.random.key(1), x, g)['params']
    parts = jax.jit(functools.partial(models.forward, model))(params, x, g)
    m = np.asarray(model.apply({'params': params}, method=model.variant_mask)) > 0.5
    assert 0 < m.sum() < m.size  # both parts hold channels
    for part, chosen in ((parts.z_v, m), (parts.z_i, ~m)):
        np.testing.assert_allclose(np.mean(np.square(part[..., chosen]), axis=(1, 2, 3, 4)),
                                   1.0, rtol=1e-3)
        assert np.all(np.asarray(part[..., ~chosen]) == 0)
    # Phi_g moves cells, so the rescaled part of the turned latent is the turned part
    turned = model.apply({'params': params}, g, parts.z, method=model.act)
    np.testing.assert_allclose(parts.acted, latent_code.unit_rms(turned * m, m), atol=1e-5)
    config.model.invariant_code_dim = 8
    assert any('grid_unit_rms' in p for p in config_checks.config_problems(config))


def _adrenal_slices(path: str, count: int = 512) -> str:
    """The most-filled axial slice of each of the first ``count`` AdrenalMNIST3D training
    volumes, resized to 28x28 later by ``config.data.resolution``: another kind of real
    image (binary organ cross-sections) saved as a user's ``.npz``."""
    with np.load(os.path.join(ASSETS, 'adrenalmnist3d_64.npz')) as f:
        volumes, labels = f['train_images'][:count], f['train_labels'][:count, 0]
    best = np.argmax((volumes > 127).sum(axis=(2, 3)), axis=1)
    np.savez(path, images=volumes[np.arange(count), best], labels=labels)
    return path


def _losses(config, dataset, seeds, num_steps: int) -> dict:
    """``{seed: (num_steps,) losses}`` of that many steps from each seed's initialisation,
    batches and pairs (one compiled step for all seeds), the config's schedule (its cosine)
    spread over those steps."""
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1, dataset.image_shape[:-1])
    step = train_step.jit_step_functions(config, model, group).single
    init = state_lib.jit_initial_state(functools.partial(
        state_lib.create_train_state, config, model, group, dataset.image_shape,
        total_steps=num_steps))
    out = {}
    for seed in seeds:
        state = init(jax.random.key(seed))
        rng, losses = np.random.default_rng(seed), []
        for _ in range(num_steps):
            index = rng.integers(0, len(dataset.train), config.batch_size)
            state, metrics = step(state, jnp.asarray(dataset.train.images[index]),
                                  jax.random.key(seed + 100))
            losses.append(float(metrics['loss']))
        out[seed] = np.asarray(losses)
    return out


def _assert_bounded(losses_by_seed: dict) -> None:
    """Every loss below 1.5x the first; the last 10 below 0.8x it on average."""
    for seed, losses in losses_by_seed.items():
        assert np.all(np.isfinite(losses))
        assert losses.max() <= 1.5 * losses[0], (seed, losses[0], losses.max())
        assert losses[-10:].mean() <= 0.8 * losses[0], (seed, losses[0], losses[-10:])


@pytest.mark.parametrize('data', ['digits', 'adrenal_slices'])
def test_so2_objective_stays_bounded_on_real_images_for_three_seeds(data, tmp_path):
    """120 steps of the SO(2) config, 3 seeds: every loss stays below 1.5x the first and the
    last 10 average below 0.8x it (the runaway of the resampled grid action is gone)."""
    config = _code_config()
    config.batch_size = 32
    if data == 'adrenal_slices':
        config.data.source, config.data.resolution = 'npz', 28
        config.data.path = _adrenal_slices(str(tmp_path / 'slices.npz'))
    config.data.max_train_examples = 512
    dataset = sources.load_dataset(config.data)
    _assert_bounded(_losses(config, dataset, range(3), num_steps=120))


def test_so3_objective_stays_bounded_on_real_volumes_for_three_seeds():
    """The SO(3) config (a code, the exact tensor action) on AdrenalMNIST3D at 16^3 with a
    96-entry code, 60 steps, 3 seeds: every loss below 1.5x the first, the last 10 below
    0.8x it on average."""
    from configs import adrenal3d_so3
    config = adrenal3d_so3.get_config()
    config.data.resolution, config.model.code_dim = 16, 96
    config.data.max_train_examples = 256
    dataset = sources.load_dataset(config.data)
    _assert_bounded(_losses(config, dataset, range(3), num_steps=60))
