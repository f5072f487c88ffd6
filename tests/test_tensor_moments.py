"""The tensor-field decoder (gla/tensor_field.py, config.model.code_decoder='tensor_field').

A turned tensor code draws the turned grid: for the cube's 24 rotations the field of
``Phi_R z_v`` is the field of ``z_v`` with its cells moved by ``R`` (the cube's own grid
action); for arbitrary rotations the point features are unchanged when code and point turn
together. The config builds that decoder, and the config checks refuse it where it cannot
apply.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import adrenal3d_so3
from configs import test3d
from gla import config_checks
from gla import groups
from gla import models
from gla import tensor_field
from gla.groups import cube
from gla.groups import permutation
from gla.groups import so3
from gla.latent_actions import tensor_rotation


@pytest.mark.parametrize('max_rank', [1, 2, 3])
def test_a_turned_code_draws_the_field_with_its_cells_moved_by_the_cube(max_rank):
    size = tensor_rotation.block_size(max_rank)
    num_variant = 4 * size
    decoder = tensor_field.TensorFieldDecoder(decoder=lambda h: h, grid=(6, 6, 6, 5),
                                              num_variant=num_variant, max_rank=max_rank)
    z = jax.random.normal(jax.random.key(0), (24, num_variant + 7))
    params = decoder.init(jax.random.key(1), z)
    m = jnp.asarray(cube.MATRICES)
    turned = jnp.concatenate(
        [tensor_rotation.rotate_tensors(m, z[:, :num_variant], max_rank), z[:, num_variant:]],
        axis=-1)
    field = jax.jit(lambda c: decoder.apply(params, c, method=decoder.field))
    f, f_turned = field(z), field(turned)
    scale = float(jnp.max(jnp.abs(f)))
    assert scale > 0.1
    np.testing.assert_allclose(f_turned, permutation.rotate_cells(m, f), atol=1e-5 * scale)
    # not trivially so: the field does move (a turn is not the identity on it)
    assert float(jnp.max(jnp.abs(f_turned[1:] - f[1:]))) > 0.1 * scale


def test_the_point_features_are_unchanged_when_code_and_point_turn_together():
    r = so3.sample_rotations(jax.random.key(2), 5)
    z_v = jax.random.normal(jax.random.key(3), (5, 3 * 12))  # 3 blocks of ranks 1..2
    p = jax.random.normal(jax.random.key(4), (7, 3))
    a = tensor_field.tensor_invariants(z_v, p, 2)
    turned = tensor_rotation.rotate_tensors(r, z_v, 2)
    for b in range(5):
        moved = tensor_field.tensor_invariants(turned[b:b + 1], p @ r[b].T, 2)
        np.testing.assert_allclose(moved[0], a[b], rtol=1e-4, atol=1e-4)
    # the features read each block: rank 1 is v . p, rank 2 is p^T M p
    v, mat = z_v[0, :3], z_v[0, 3:12].reshape(3, 3)
    np.testing.assert_allclose(a[0, :, 0], p @ v, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a[0, :, 3], jnp.einsum('pi,ij,pj->p', p, mat, p), rtol=1e-4,
                               atol=1e-4)


def test_the_config_builds_the_field_decoder_and_checks_refuse_it_elsewhere():
    config = test3d.get_config()
    config.group.name = 'so3'
    config.group.latent_action = 'tensors'
    config.group.max_frequency = 2
    config.model.latent = 'code'
    config.model.code_dim = 48  # 24 variant entries = 2 blocks
    config.mask.kind = 'manual'
    config.model.code_decoder = 'tensor_field'
    assert not config_checks.config_problems(config)
    model = models.build_model(config, groups.group_from_config(config.group), 1, (16, 16, 16))
    assert isinstance(model.decoder, tensor_field.TensorFieldDecoder)
    x = jax.random.uniform(jax.random.key(0), (2, 16, 16, 16, 1), minval=-1, maxval=1)
    g = so3.sample_rotations(jax.random.key(1), 2)
    params = model.init(jax.random.key(2), x, g)['params']
    assert models.forward(model, params, x, g).prediction.shape == x.shape
    assert params['decoder']['invariant']['kernel'].shape[0] == 24  # z_i: the other half
    assert params['decoder']['point']['kernel'].shape[0] == 2 * 2 + 1  # 2 blocks x 2 ranks, |p|^2
    for name, value in (('model.latent', 'grid'), ('group.latent_action', 'grid'),
                        ('mask.kind', 'learned')):
        wrong = adrenal3d_so3.get_config()
        wrong.model.code_decoder = 'tensor_field'
        section, field = name.split('.')
        wrong[section][field] = value
        problems = config_checks.config_problems(wrong)
        assert any("code_decoder='tensor_field'" in p for p in problems), (name, problems)
