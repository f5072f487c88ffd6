"""``configs/adrenal3d_64.py`` (AdrenalMNIST3D at the stored 64^3): it passes gla's config
checks, its network keeps the shape of a 64^3 volume through the 8^3 x 32 latent its
docstring states, with the parameter count stated there, and one training step at batch 1
runs on the CPU with finite loss terms.

The shapes come from ``jax.eval_shape`` (traced, not compiled). The one real step is the
config's own jitted step (``gla.train_step.jit_step_functions``) at full 64^3 and full width,
but from parameters drawn with numpy in the shapes of the config's initial state, not from
``gla.state.create_train_state``: compiling that random initialisation takes 15-20 s on a
loaded 2-core XLA:CPU (the random number generator's compile, whatever the volume size),
while the step itself compiles in about 5 s and runs in under a second.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.training import train_state

from configs import adrenal3d_64
from gla import config_checks
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step

VOLUME = (64, 64, 64, 1)
LATENT = (8, 8, 8, 32)  # the docstring's 8^3 x 32


def _config_model_group():
    config = adrenal3d_64.get_config()
    group = groups.group_from_config(config.group)
    return config, models.build_model(config, group, VOLUME[-1]), group


def _abstract_state(config, model, group):
    """The config's initial train state as shapes and dtypes, with its grid checks (the
    cube group on the 64^3 volume and on the latent grid) traced on the way."""
    return jax.eval_shape(functools.partial(state_lib.create_train_state, config, model,
                                            group, VOLUME), jax.random.key(0))


def _numpy_state(config, model, abstract):
    """A train state with the structure of ``abstract``: each kernel ``U(+-1/sqrt(fan_in))``
    as the config's PyTorch initialisation draws it, biases and mask logits small."""
    rng = np.random.default_rng(0)

    def draw(leaf):
        bound = 1.0 / math.sqrt(math.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else 0.1
        return jnp.asarray(rng.uniform(-bound, bound, leaf.shape).astype(leaf.dtype))

    params = jax.tree.map(draw, abstract.params)
    return train_state.TrainState.create(apply_fn=model.apply, params=params,
                                         tx=state_lib.make_optimizer(config))


def _arrays(state) -> tuple:
    """Shapes and dtypes of a train state's arrays (``tx`` and ``apply_fn`` are static
    fields: equal functions, not identical objects, so whole states are not compared)."""
    return jax.tree.map(lambda a: (a.shape, a.dtype), (state.params, state.opt_state))


def _ball(radius: float) -> np.ndarray:
    """A ``(1, 64, 64, 64, 1)`` volume in [-1, 1]: a solid off-centre ball on background."""
    grid = np.stack(np.meshgrid(*[np.arange(64)] * 3, indexing='ij'), -1)
    inside = np.linalg.norm(grid - np.array([28.0, 34.0, 31.0]), axis=-1) < radius
    return np.where(inside, 1.0, -1.0).astype(np.float32)[None, ..., None]


def test_the_64_cubed_config_passes_the_config_checks_at_the_stored_resolution():
    config = adrenal3d_64.get_config()
    assert config_checks.config_problems(config) == []
    config_checks.validate_config(config)
    assert config.data.resolution == 64 and config.batch_size == 32  # as the docstring says
    assert config.data.name == 'adrenal3d' and config.data.spatial_ndim == 3
    assert (config.model.strided_conv, config.model.conv_transpose) == (
        'space_to_depth', 'subpixel')


def test_a_64_cubed_volume_keeps_its_shape_through_an_8_cubed_latent():
    config, model, group = _config_model_group()
    x = jax.ShapeDtypeStruct((1,) + VOLUME, jnp.float32)
    g = group.identity(1)
    variables = jax.eval_shape(model.init, jax.random.key(0), x, g)
    z = jax.eval_shape(functools.partial(model.apply, method=model.encode), variables, x)
    assert z.shape == (1,) + LATENT
    assert jax.eval_shape(model.apply, variables, x, g).shape == (1,) + VOLUME
    count = models.count_params(variables['params'])
    assert count == 83_057
    assert f'{count:,}' in adrenal3d_64.__doc__  # the docstring states this count
    state = _abstract_state(config, model, group)
    assert jax.tree.map(lambda a: (a.shape, a.dtype), state.params) == jax.tree.map(
        lambda a: (a.shape, a.dtype), variables['params'])


def test_one_training_step_at_64_cubed_runs_on_cpu_with_finite_positive_losses():
    config, model, group = _config_model_group()
    abstract = _abstract_state(config, model, group)
    state = _numpy_state(config, model, abstract)
    # The state the step gets has the structure, shapes and dtypes of the run's.
    assert _arrays(state) == _arrays(abstract)
    before = jax.tree.map(np.asarray, state.params)  # the step donates the state
    step = train_step.jit_step_functions(config, model, group).single
    state, metrics = step(state, jnp.asarray(_ball(12.0)), jax.random.key(1))
    metrics = {k: float(v) for k, v in metrics.items()}
    assert set(metrics) >= {'loss', 'recon', 'inv', 'const', 'grad_norm', 'variant_share'}
    for name in ('loss', 'recon', 'inv', 'const', 'grad_norm'):
        assert math.isfinite(metrics[name]), (name, metrics)
    assert metrics['loss'] > 0 and metrics['recon'] > 0 and metrics['grad_norm'] > 0
    assert metrics['inv'] >= 0 and metrics['const'] >= 0
    total = metrics['recon'] + metrics['inv'] + metrics['const']  # lambdas 1
    assert metrics['loss'] == pytest.approx(total, rel=1e-5)
    assert int(state.step) == 1
    after = jax.tree.map(np.asarray, state.params)
    assert all(np.all(np.isfinite(a)) for a in jax.tree.leaves(after))
    moved = [not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(after), jax.tree.leaves(before))]
    assert all(moved)  # the loss reaches every parameter (mask logits straight through)

