"""The initial train state compiled cheaply (``gla.state.compile_initial_state``) is the one
XLA's default compile gives, bit for bit: parameters, ALD logits and Adam's state."""

import functools
import importlib

import jax
import numpy as np
import pytest

from gla import groups
from gla import models
from gla import state as state_lib

SHAPES = {'test': (28, 28, 1), 'test3d': (16, 16, 16, 1)}


@pytest.mark.parametrize('config_name,overrides', [
    ('test', {}),
    # LeCun-normal kernels (erfinv, not only uniforms) and the invariant code's Dense layers
    ('test', {'init': 'flax', 'invariant_code_dim': 16, 'invariant_code_hidden': 32}),
    ('test3d', {}),
])
def test_cheap_compile_gives_the_default_compile_bit_for_bit(config_name, overrides):
    config = importlib.import_module(f'configs.{config_name}').get_config()
    config.model.update(overrides)
    shape = SHAPES[config_name]
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, shape[-1], shape[:-1])
    make = functools.partial(state_lib.create_train_state, config, model, group, shape)
    for seed in (0, 7):
        key = jax.random.key(seed)
        default = jax.tree.map(np.asarray, jax.jit(make)(key))
        cheap = jax.tree.map(np.asarray, state_lib.compile_initial_state(make, key))
        leaves = jax.tree.leaves(default.params)
        assert sum(leaf.size for leaf in leaves) > 100
        assert any(np.any(leaf != 0) for leaf in leaves)  # random, so equality is not vacuous
        assert jax.tree.structure(default) == jax.tree.structure(cheap)
        for a, b in zip(jax.tree.leaves((default.params, default.opt_state)),
                        jax.tree.leaves((cheap.params, cheap.opt_state))):
            assert a.dtype == b.dtype and np.array_equal(a, b)
