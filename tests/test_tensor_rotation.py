"""The exact SO(3) action on a latent code (gla/latent_actions/tensor_rotation.py, 'tensors').

Group laws to float rounding for arbitrary rotations (identity, composition, inverse, norm),
the tensor ranks read back from unit tensors, agreement with the cube's matrices, and the
config checks that guard the block layout.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import adrenal3d_so3
from gla import config_checks
from gla import latent_actions
from gla.groups import cube
from gla.groups import so3
from gla.latent_actions import tensor_rotation


def _apply(action, g, z):
    return action.apply({}, g, z)


@pytest.fixture(scope='module')
def so3_action():
    return latent_actions.make_latent_action('tensors', so3.make_group(), 3)


@pytest.fixture(scope='module')
def codes():
    return jax.random.normal(jax.random.key(0), (6, 2 * 39 + 2))  # 2 blocks of ranks 1..3, 2 left


def test_tensor_action_is_an_exact_orthogonal_representation_of_so3(so3_action, codes):
    r = so3.sample_rotations(jax.random.key(1), 6)
    s = so3.sample_rotations(jax.random.key(2), 6)
    np.testing.assert_allclose(_apply(so3_action, jnp.tile(jnp.eye(3), (6, 1, 1)), codes),
                               codes, atol=1e-6)  # identity
    np.testing.assert_allclose(_apply(so3_action, r, _apply(so3_action, s, codes)),
                               _apply(so3_action, r @ s, codes), atol=2e-5)  # composition
    np.testing.assert_allclose(
        _apply(so3_action, jnp.swapaxes(r, 1, 2), _apply(so3_action, r, codes)), codes,
        atol=2e-5)  # inverse
    np.testing.assert_allclose(jnp.linalg.norm(_apply(so3_action, r, codes), axis=-1),
                               jnp.linalg.norm(codes, axis=-1), rtol=1e-5)  # orthogonal
    np.testing.assert_array_equal(_apply(so3_action, r, codes)[:, -2:], codes[:, -2:])


def test_tensors_of_each_rank_turn_through_every_index():
    """A vector turns as ``R v``, a matrix as ``R M R^T``, a rank-3 tensor as
    ``einsum(R, R, R, T)``, written out with numpy."""
    rng = np.random.default_rng(3)
    r = np.asarray(so3.sample_rotations(jax.random.key(4), 1))[0]
    v, m, t = rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=(3, 3, 3))
    z = np.concatenate([v, m.ravel(), t.ravel()])[None]
    out = np.asarray(tensor_rotation.rotate_tensors(jnp.asarray(r)[None], jnp.asarray(z), 3))[0]
    np.testing.assert_allclose(out[:3], r @ v, atol=1e-5)
    np.testing.assert_allclose(out[3:12].reshape(3, 3), r @ m @ r.T, atol=1e-5)
    np.testing.assert_allclose(out[12:].reshape(3, 3, 3),
                               np.einsum('ai,bj,ck,ijk->abc', r, r, r, t), atol=1e-5)
    assert tensor_rotation.block_size(2) == 12 and tensor_rotation.block_size(3) == 39


def test_tensor_action_on_the_cube_is_the_so3_action_at_the_cube_matrices(so3_action, codes):
    """The cube's elements act through their signed permutation matrices: the same map as
    SO(3) at those matrices, a signed permutation of the entries, a group law bit for bit."""
    on_cube = latent_actions.make_latent_action('tensors', cube.make_group(), 3)
    g = jnp.arange(cube.ORDER, dtype=jnp.int32)
    z = jnp.tile(codes[:1], (cube.ORDER, 1))
    np.testing.assert_allclose(_apply(on_cube, g, z),
                               _apply(so3_action, jnp.asarray(cube.MATRICES, jnp.float32), z),
                               atol=1e-6)
    eye = jnp.eye(codes.shape[1])
    for k in (5, 13, 22):
        permutation = np.asarray(_apply(on_cube, jnp.full((eye.shape[0],), k), eye))
        np.testing.assert_array_equal(np.abs(permutation).sum(axis=0), 1.0)
    h = jnp.roll(g, 7)
    np.testing.assert_array_equal(_apply(on_cube, g, _apply(on_cube, h, z)),
                                  _apply(on_cube, jnp.asarray(cube.TABLE)[g, h], z))


def test_tensor_action_config_checks():
    config = adrenal3d_so3.get_config()
    assert config_checks.config_problems(config) == []
    config.model.code_dim = 760  # 380 variant entries: not whole blocks of 12
    assert any('blocks of 12' in p for p in config_checks.config_problems(config))
    config = adrenal3d_so3.get_config()
    config.group.name, config.data.spatial_ndim = 'so2', 2
    assert any("has none: use group 'so3' or 'cube'" in p
               for p in config_checks.config_problems(config))
    with pytest.raises(ValueError, match='code'):
        tensor_rotation.rotate_tensors(jnp.eye(3)[None], jnp.zeros((1, 2, 2, 12)), 2)
