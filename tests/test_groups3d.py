"""3D rotations: the 24-element cube group exactly (against its multiplication table), SO(3)
by trilinear resampling within a stated tolerance, and the two tied by their matrices."""

import itertools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gla import latent_actions
from gla import groups
from gla.groups import cube
from gla.groups import resample3d
from gla.groups import so3

# SO(3) tolerance: relative RMS difference inside the inscribed ball, on a smooth volume
# (a few Gaussian blobs of width 2.5 voxels on a 24^3 grid). Trilinear resampling smooths,
# so two resamplings differ from one by the interpolation error: over 20 random draws at
# most 2.2 % (composition) and 3.9 % (inverse).
SO3_TOLERANCE = 0.06


@pytest.fixture
def cube_group():
    return groups.get_group('cube')


def test_cube_table_is_a_group_table():
    table, inverse = cube.TABLE, cube.INVERSE
    e = 0
    assert np.array_equal(cube.MATRICES[e], np.eye(3))
    for g in range(24):
        # each row and column is a permutation (closure and cancellation)
        assert sorted(table[g]) == list(range(24)) and sorted(table[:, g]) == list(range(24))
        assert table[e, g] == g and table[g, e] == g
        assert table[g, inverse[g]] == e and table[inverse[g], g] == e
    for a, b, c in itertools.product(range(24), repeat=3):
        assert table[table[a, b], c] == table[a, table[b, c]]
    for m in cube.MATRICES:
        assert round(np.linalg.det(m)) == 1 and np.array_equal(m @ m.T, np.eye(3))
    # The rotation group of the cube: 1 identity, 9 of order 2, 8 of order 3, 6 of order 4.
    orders = []
    for g in range(24):
        x, k = g, 1
        while x != e:
            x, k = table[g, x], k + 1
        orders.append(k)
    assert np.bincount(orders).tolist() == [0, 1, 9, 8, 6]


@pytest.mark.parametrize('shape', [(24, 6, 6, 6, 1), (24, 4, 4, 4, 5)], ids=['volumes',
                                                                             'latents'])
def test_cube_action_follows_the_table(cube_group, shape):
    x = jax.random.normal(jax.random.key(0), shape)
    g = jnp.arange(24, dtype=jnp.int32)
    h = jnp.asarray(np.random.default_rng(0).permutation(24), jnp.int32)
    np.testing.assert_array_equal(cube_group.act(cube_group.identity(24), x), x)
    gh = cube_group.compose(g, h)
    np.testing.assert_array_equal(gh, cube.TABLE[np.asarray(g), np.asarray(h)])
    np.testing.assert_array_equal(cube_group.act(gh, x),
                                  cube_group.act(g, cube_group.act(h, x)))
    np.testing.assert_array_equal(cube_group.act(cube_group.inverse(g), cube_group.act(g, x)),
                                  x)
    # per-sample: each element moves its own sample as the numpy reference does
    out = np.asarray(cube_group.act(g, x))
    for b in range(24):
        np.testing.assert_array_equal(out[b], cube._apply_numpy(b, np.asarray(x[b])))
    # the 24 images of one asymmetric volume are all different
    one = jnp.repeat(x[:1], 24, axis=0)
    moved = np.asarray(cube_group.act(g, one)).reshape(24, -1)
    assert len({row.tobytes() for row in moved}) == 24


def test_cube_matrices_move_voxel_coordinates(cube_group):
    n = 5
    x = np.zeros((24, n, n, n, 1), np.float32)
    p = np.array([1, -2, 0])  # centred coordinates of a marked voxel
    x[:, p[0] + 2, p[1] + 2, p[2] + 2] = 1
    out = np.asarray(cube_group.act(jnp.arange(24, dtype=jnp.int32), jnp.asarray(x)))
    for g in range(24):
        q = cube.MATRICES[g] @ p + 2
        assert out[g, q[0], q[1], q[2], 0] == 1 and out[g].sum() == 1


def test_image_and_latent_actions_agree_through_a_stride_2_pooling(cube_group):
    # Downsampling by an equivariant map (2x2x2 mean) commutes with every cube rotation:
    # the latent action of the same element is the image action on the coarser grid.
    x = jax.random.normal(jax.random.key(3), (24, 8, 8, 8, 2))

    def pool(v):
        return v.reshape(24, 4, 2, 4, 2, 4, 2, 2).mean(axis=(2, 4, 6))

    g = jnp.arange(24, dtype=jnp.int32)
    np.testing.assert_allclose(pool(cube_group.act(g, x)), cube_group.act(g, pool(x)),
                               atol=1e-6)
    latent_action = latent_actions.make_latent_action('grid', cube_group)
    z = pool(x)
    np.testing.assert_array_equal(latent_action.apply({}, g, z), cube_group.act(g, z))


def test_cube_rejects_non_cubic_grids(cube_group):
    with pytest.raises(ValueError, match='cubic'):
        cube_group.act(jnp.zeros((1,), jnp.int32), jnp.zeros((1, 4, 4, 6, 1)))
    with pytest.raises(ValueError, match='cubic'):
        cube_group.check_grid((28, 28))


def test_cube_describe():
    names = groups.get_group('cube').describe(np.arange(24))
    assert names[0] == 'id' and len(set(names)) == 24
    assert sorted({n.split('°')[0] for n in names}) == ['120', '180', '90', 'id']


def _smooth_volume(n=24, seed=0):
    rng = np.random.default_rng(seed)
    p = resample3d.centred_grid((n, n, n))
    vol = np.zeros((n, n, n), np.float32)
    for _ in range(5):
        c = rng.uniform(-5, 5, 3)
        vol += rng.uniform(0.5, 1) * np.exp(-np.sum((np.asarray(p) - c) ** 2, -1) / (2 * 2.5 ** 2))
    ball = np.linalg.norm(np.asarray(p), axis=-1) < n / 2 - 2
    return jnp.asarray(vol[None, ..., None]), ball


def _relative(a, b, ball):
    a, b = np.asarray(a)[0, ..., 0][ball], np.asarray(b)[0, ..., 0][ball]
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2)))


def test_so3_matches_the_cube_group_on_its_24_elements(cube_group):
    so3_group = groups.get_group('so3')
    x = jax.random.normal(jax.random.key(1), (24, 6, 6, 6, 3))
    exact = cube_group.act(jnp.arange(24, dtype=jnp.int32), x)
    resampled = so3_group.act(jnp.asarray(cube.MATRICES, jnp.float32), x)
    np.testing.assert_allclose(resampled, exact, atol=1e-4)


def test_so3_axis_angle_sense():
    # 90° about d turns h towards w; as a matrix it equals one of the cube's elements.
    r = np.asarray(so3.axis_angle_to_matrix(jnp.asarray([[1.0, 0, 0]]),
                                            jnp.asarray([np.pi / 2])))[0]
    np.testing.assert_allclose(r @ np.array([0, 1, 0]), [0, 0, 1], atol=1e-6)
    assert any(np.allclose(r, m, atol=1e-6) for m in cube.MATRICES)


def test_so3_group_laws_within_tolerance():
    group = groups.get_group('so3')
    x, ball = _smooth_volume()
    r = group.sample(jax.random.key(0), 1)
    s = group.sample(jax.random.key(1), 1)
    np.testing.assert_allclose(group.act(group.identity(1), x), x, atol=1e-6)
    # composition and inverse on the elements are exact up to float rounding
    np.testing.assert_allclose(group.compose(r, group.inverse(r)), jnp.eye(3)[None],
                               atol=1e-5)
    two_steps = group.act(r, group.act(s, x))
    assert _relative(group.act(group.compose(r, s), x), two_steps, ball) < SO3_TOLERANCE
    assert _relative(group.act(group.inverse(r), group.act(r, x)), x, ball) < SO3_TOLERANCE
    # a real rotation moves the volume much more than the tolerance
    assert _relative(group.act(r, x), x, ball) > 5 * SO3_TOLERANCE


def test_so3_sampling_ranges():
    key = jax.random.key(0)
    full = groups.get_group('so3').sample(key, 20000)
    np.testing.assert_allclose(np.einsum('bij,bkj->bik', full, full),
                               np.broadcast_to(np.eye(3), (20000, 3, 3)), atol=1e-5)
    # Haar measure on SO(3): E[R] = 0, and the angle has density (1 - cos t) / pi, mean
    # pi/2 + 2/pi.
    assert np.abs(np.asarray(full).mean(0)).max() < 0.02
    angles = np.radians(np.asarray(so3.rotation_angle_degrees(full)))
    assert angles.mean() == pytest.approx(np.pi / 2 + 2 / np.pi, abs=0.02)
    capped = groups.get_group('so3', max_angle_degrees=30.0).sample(key, 2000)
    assert float(so3.rotation_angle_degrees(capped).max()) <= 30.0 + 1e-3
    about_w = groups.get_group('so3', max_angle_degrees=45.0, axes='w').sample(key, 500)
    np.testing.assert_allclose(np.asarray(about_w)[:, :, 2], np.tile([0, 0, 1.0], (500, 1)),
                               atol=1e-6)
    assert float(so3.rotation_angle_degrees(about_w).max()) <= 45.0 + 1e-3


def test_so3_options_from_config_and_bad_options():
    config = ml_collections.ConfigDict({'name': 'so3', 'latent_action': 'grid',
                                        'so3': {'max_angle_degrees': 20.0, 'axes': 'any',
                                                'num_eval_elements': 3}})
    group = groups.group_from_config(config)
    elements = group.eval_elements()
    assert elements.shape == (3, 3, 3) and group.describe(elements)[0] == 'id'
    assert float(so3.rotation_angle_degrees(elements).max()) <= 20.0 + 1e-3
    with pytest.raises(ValueError, match='max_angle_degrees'):
        groups.get_group('so3', max_angle_degrees=270.0)
    with pytest.raises(ValueError, match='axes'):
        groups.get_group('so3', axes='x')
    with pytest.raises(ValueError, match='3D'):
        groups.get_group('so3').check_grid((28, 28))
