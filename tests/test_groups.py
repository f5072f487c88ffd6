"""C4 group laws, on images and on latent grids, exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gla import groups
from gla.groups import c4


@pytest.fixture
def group():
    return groups.get_group('c4')


@pytest.mark.parametrize('shape', [(5, 28, 28, 1), (5, 7, 7, 64)], ids=['images', 'latents'])
def test_c4_group_laws(group, shape):
    x = jax.random.normal(jax.random.key(0), shape)
    g = jnp.array([0, 1, 2, 3, 1], jnp.int32)
    h = jnp.array([3, 3, 1, 2, 0], jnp.int32)
    n = shape[0]
    np.testing.assert_array_equal(group.act(group.identity(n), x), x)
    np.testing.assert_array_equal(group.act(group.compose(g, h), x),
                                  group.act(g, group.act(h, x)))
    np.testing.assert_array_equal(group.act(group.inverse(g), group.act(g, x)), x)
    np.testing.assert_array_equal(group.act(jnp.full((n,), 4, jnp.int32), x), x)


def test_c4_matches_numpy_rot90_counter_clockwise(group):
    x = np.arange(2 * 3 * 3 * 2, dtype=np.float32).reshape(2, 3, 3, 2)
    for k in range(4):
        out = group.act(jnp.full((2,), k, jnp.int32), jnp.asarray(x))
        np.testing.assert_array_equal(out, np.rot90(x, k, axes=(1, 2)))
    # One quarter turn CCW moves the top-right corner to the top-left.
    corner = np.zeros((1, 3, 3, 1), np.float32)
    corner[0, 0, 2, 0] = 1
    assert np.asarray(group.act(jnp.ones((1,), jnp.int32), corner))[0, 0, 0, 0] == 1


def test_c4_per_sample_elements(group):
    x = jax.random.normal(jax.random.key(1), (4, 6, 6, 3))
    g = jnp.arange(4, dtype=jnp.int32)
    out = group.act(g, x)
    for b in range(4):
        np.testing.assert_array_equal(out[b], np.rot90(np.asarray(x[b]), b, axes=(0, 1)))


def test_c4_sample_covers_group_and_is_jittable(group):
    g = jax.jit(group.sample, static_argnums=1)(jax.random.key(0), 4000)
    counts = np.bincount(np.asarray(g), minlength=4)
    assert counts.sum() == 4000 and counts.min() > 900
    assert group.describe(group.eval_elements()) == ['0°', '90°', '180°', '270°']


def test_c4_rejects_non_square_grid(group):
    with pytest.raises(ValueError, match='square'):
        group.act(jnp.zeros((2,), jnp.int32), jnp.zeros((2, 6, 4, 1)))
    with pytest.raises(ValueError, match='square'):
        group.check_grid((7, 5))


def test_unknown_group_and_action_name_the_choices():
    with pytest.raises(ValueError, match="config.group.name must be one of.*c4"):
        groups.get_group('c5')
    with pytest.raises(ValueError, match='latent_action'):
        groups.make_latent_action('spin', c4.make_group())
