"""A training step that takes its gradient in micro-batches (``config.micro_batch_size``)
is the step on the whole batch, to float rounding; the configs that cannot use it say so."""

import functools
import importlib
import os

import jax
import numpy as np
import pytest

from gla import config_checks
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_step(config, images):
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, images.shape[-1])
    init_key, pair_key = jax.random.split(jax.random.key(config.seed))
    state = state_lib.compile_initial_state(functools.partial(
        state_lib.create_train_state, config, model, group, images.shape[1:]), init_key)
    start = jax.tree.map(np.asarray, state.params)
    step = train_step.jit_step_functions(config, model, group).single
    new_state, metrics = step(state, images, pair_key)
    return start, jax.tree.map(np.asarray, (new_state.params, new_state.opt_state, metrics))


def _images(config, n, rng):
    side = (16,) * 3 if config.data.spatial_ndim == 3 else (28, 28)
    return rng.random((n,) + side + (1,), dtype=np.float32)


@pytest.mark.parametrize('config_name,group', [('test', None), ('test', 'so2'),
                                               ('test3d', None)])
def test_micro_batches_give_the_whole_batch_step(config_name, group):
    config = importlib.import_module(f'configs.{config_name}').get_config()
    if group == 'so2':
        config.group.name, config.group.latent_action = 'so2', 'fourier'
    config.batch_size = 8
    images = _images(config, 8, np.random.default_rng(0))
    config.micro_batch_size = 0
    start, whole = _one_step(config, images)
    # Not a vacuous comparison: the step moves the parameters well beyond the tolerance.
    moved = [np.max(np.abs(a - b))
             for a, b in zip(jax.tree.leaves(start), jax.tree.leaves(whole[0]))]
    assert max(moved) > 1e-4
    for size in (2, 4):
        config.micro_batch_size = size
        _, pieces = _one_step(config, images)
        for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(pieces)):
            np.testing.assert_allclose(b, a, rtol=2e-5, atol=1e-6)


def test_pieces_are_contiguous_on_one_device_and_cover_the_batch():
    batch = (np.arange(12.0), None, np.arange(12.0) * 10)
    seen = []

    def loss_fn(params, piece):
        seen.append(np.asarray(piece[0]))
        assert piece[1] is None
        loss = jax.numpy.mean(params * piece[0] + piece[2])
        return loss, {'loss': loss}

    terms, grads = train_step.batch_mean_gradient(loss_fn, 2.0, batch, pieces=3)
    assert jax.device_count() == 1
    assert [list(s) for s in seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert float(grads) == pytest.approx(np.mean(batch[0]))
    assert float(terms['loss']) == pytest.approx(np.mean(2.0 * batch[0] + batch[2]))


def test_micro_batches_count():
    for size, pieces in ((16, 4), (0, 1), (64, 1), (128, 1), (32, 2)):
        assert train_step.micro_batches(64, size) == pieces
    with pytest.raises(ValueError, match='micro_batch_size=24 does not divide the batch of 64'):
        train_step.micro_batches(64, 24)


@pytest.mark.parametrize('size,match', [
    (24, 'micro_batch_size=24 does not divide batch_size=64'),
    (-1, 'micro_batch_size=-1 must be an integer >= 0'),
])
def test_a_bad_micro_batch_size_is_refused(size, match):
    from configs import rotated_mnist
    config = rotated_mnist.get_config()
    config.micro_batch_size = size
    with pytest.raises(ValueError, match=match):
        config_checks.validate_config(config)


def test_batch_statistics_refuse_micro_batches_naming_the_fix():
    from configs import rotated_mnist
    config = rotated_mnist.get_config()
    config.loss.lambda_var = 1.0
    with pytest.raises(ValueError, match='--config.micro_batch_size=0'):
        config_checks.validate_config(config)


def test_every_shipped_config_passes_its_checks():
    names = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, 'configs'))
                   if f.endswith('.py') and f not in ('__init__.py', 'tiny.py'))
    assert 'rotated_mnist_invariant' in names and 'rotated_mnist_so2_invariant' in names
    for name in names:
        config = importlib.import_module(f'configs.{name}').get_config()
        config_checks.validate_config(config)
