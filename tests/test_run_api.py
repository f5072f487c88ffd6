"""The restored ``Run`` inside a user's own JAX code: every function under ``jax.jit``,
``jax.grad`` and ``jax.vmap`` and inside an optax update, with known answers for the
latent action of C4 and of SO(3)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gla
import trained_runs
from gla.data import sources
from gla.groups import cube


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return gla.load_run(trained_runs.tiny(tmp_path_factory))


@pytest.fixture(scope='module')
def so3_run(tmp_path_factory):
    return gla.load_run(trained_runs.tiny_3d(tmp_path_factory, 'so3'))


def _digits(run, n=4):
    return sources.load_dataset(run.config.data).test.images[:n]


def _image_functions(run):
    """Every Run function as ``x -> array`` of images ``(B, 28, 28, 1)``."""
    one = np.int32(1)
    return {
        'encode': run.encode,
        'split': lambda x: run.split(run.encode(x))[1],
        'act': lambda x: run.act(one, run.split(run.encode(x))[0]),
        'combine': lambda x: run.combine(*run.split(run.encode(x))),
        'decode': lambda x: run.decode(run.encode(x)),
        'transform': lambda x: run.transform(x, one),
        'forward': lambda x: run.forward(x, one).prediction,
        'swap': lambda x: run.swap(x, x[::-1], one),
        'orbit': run.orbit,
    }


@pytest.mark.parametrize('name', ['encode', 'split', 'act', 'combine', 'decode', 'transform',
                                  'forward', 'swap', 'orbit'])
def test_every_run_function_traces_under_jit_grad_and_vmap(run, name):
    fn = _image_functions(run)[name]
    x = jnp.asarray(_digits(run))
    eager = np.asarray(fn(x))
    np.testing.assert_allclose(jax.jit(fn)(x), eager, rtol=1e-5, atol=1e-5)
    grad = jax.grad(lambda x: jnp.sum(fn(x) ** 2))(x)
    assert grad.shape == x.shape and np.all(np.isfinite(grad)) and np.any(grad != 0)
    stacked = jnp.stack([x, x[::-1]])  # (2, B, 28, 28, 1): vmap over batches
    mapped = jax.vmap(fn)(stacked)
    np.testing.assert_allclose(mapped[0], eager, rtol=1e-5, atol=1e-5)


def test_the_c4_latent_action_of_a_restored_run_is_rot90_of_the_grid(run):
    z_v, _ = run.split(run.encode(_digits(run)))
    for k in range(4):
        np.testing.assert_array_equal(run.act(k, z_v), np.rot90(np.asarray(z_v), k, axes=(1, 2)))
    np.testing.assert_array_equal(run.act(np.array([0, 1, 2, 3]), z_v)[1],
                                  np.rot90(np.asarray(z_v)[1], 1, axes=(0, 1)))


def test_a_restored_run_trains_inside_a_users_optax_update(run):
    """A user's own parameters (a per-pixel offset on the input) fitted with optax so that
    the run's prediction of a quarter turn matches the truly turned digits."""
    x = jnp.asarray(_digits(run))
    target = jnp.rot90(x, 1, axes=(1, 2))

    def loss(offset):
        return jnp.mean((run.transform(jnp.tanh(x + offset), 1) - target) ** 2)

    optimizer = optax.adam(1e-2)
    offset = jnp.zeros_like(x[:1])
    state = optimizer.init(offset)

    @jax.jit
    def update(offset, state):
        value, grad = jax.value_and_grad(loss)(offset)
        updates, state = optimizer.update(grad, state)
        return optax.apply_updates(offset, updates), state, value

    values = []
    for _ in range(30):
        offset, state, value = update(offset, state)
        values.append(float(value))
    assert np.all(np.isfinite(values)) and values[-1] < values[0]


def test_an_so3_run_takes_one_matrix_for_the_whole_batch(so3_run):
    x = sources.load_dataset(so3_run.config.data).test.images[:3]
    quarter = cube.MATRICES[1].astype(np.float32)  # a quarter turn of the cube, (3, 3)
    one = np.asarray(so3_run.transform(x, quarter))
    batch = np.asarray(so3_run.transform(x, np.repeat(quarter[None], 3, axis=0)))
    np.testing.assert_array_equal(one, batch)
    orbit = np.asarray(so3_run.orbit(x))
    assert orbit.shape == (3, 3) + tuple(x.shape[1:])  # 3 evaluation elements, identity first
    np.testing.assert_allclose(orbit[0], so3_run.transform(x, np.eye(3, dtype=np.float32)),
                               atol=1e-6)


def test_the_so3_latent_action_at_a_cube_rotation_is_that_rotation_of_the_grid(so3_run):
    """Trilinear resampling at a quarter turn lands on grid points: it equals the exact cube
    rotation of the latent grid (known answer from gla.groups.cube)."""
    x = sources.load_dataset(so3_run.config.data).test.images[:2]
    z_v, _ = so3_run.split(so3_run.encode(x))
    for g in (1, 5, 13):
        matrix = cube.MATRICES[g].astype(np.float32)
        exact = cube.rotate_cube(np.full((2,), g, np.int32), z_v)
        np.testing.assert_allclose(so3_run.act(matrix, z_v), exact, atol=1e-5)
