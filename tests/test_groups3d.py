"""3D rotations: the 24-element cube group exactly, against closed forms written out here
(hand-computed voxel moves, signed permutation matrices, np.rot90 composed by hand, the
convention (T_R x)(p) = x(R^T p)), SO(3) by trilinear resampling within a stated tolerance,
and the two tied by their matrices."""

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


def _normal(seed, shape):
    """Standard normal test data from numpy (jax.random.normal compiles per shape: ~1 s)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


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
    # TABLE[a, b] is the element whose closed-form matrix is M_a @ M_b ("first b, then a").
    hand = [_docstring_matrix(g) for g in range(24)]
    index = {tuple(np.ravel(m)): g for g, m in enumerate(hand)}
    for a, b in itertools.product(range(24), repeat=2):
        assert table[a, b] == index[tuple(np.ravel(hand[a] @ hand[b]))]
    # The rotation group of the cube: 1 identity, 9 of order 2, 8 of order 3, 6 of order 4.
    orders = []
    for g in range(24):
        x, k = g, 1
        while x != e:
            x, k = table[g, x], k + 1
        orders.append(k)
    assert np.bincount(orders).tolist() == [0, 1, 9, 8, 6]


# Closed-form quarter turns of centred voxel coordinates (d, h, w), written out by hand:
# right-handed, so a quarter turn about d takes h to w, about h takes w to d, about w takes
# d to h (each column is the image of a basis vector).
QUARTER_ABOUT = {
    'd': np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]),
    'h': np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
    'w': np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]),
}


def _docstring_matrix(g):
    """M_g of element g = 4 * face + k as gla/groups/cube.py's docstring describes it: the
    face rotation (1-3: 1-3 quarter turns taking d to h, i.e. about w; 4: d to w, i.e. -90°
    about h; 5: w to d, +90° about h), then k quarter turns taking h to w (about d)."""
    d, h, w = (QUARTER_ABOUT[a] for a in 'dhw')
    faces = [np.eye(3, dtype=int), w, w @ w, w @ w @ w, h.T, h]
    face, k = divmod(g, 4)
    return np.linalg.matrix_power(d, k) @ faces[face]


def _rotate_by_matrix(m, volume):
    """(T_M x)(p) = x(M^T p) on centred coordinates p of a cubic (n, n, n, ...) grid, by
    index arithmetic: the convention of the docstrings of cube.py and so3.py."""
    n = volume.shape[0]
    q = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing='ij'), -1) - (n - 1) / 2
    src = np.round(q @ m + (n - 1) / 2).astype(int)  # row vectors: q @ M = (M^T q)^T
    return volume[src[..., 0], src[..., 1], src[..., 2]]


def _hot_voxel(index, n=5):
    x = np.zeros((1, n, n, n, 1), np.float32)
    x[(0,) + tuple(index)] = 1
    return x


# The hot voxel at index (4, 3, 1) of a 5^3 grid, centred (2, 1, -1), and where each rotation
# takes it, worked out by hand from the coordinate maps (d, h, w) -> ...
HOT = (4, 3, 1)
HOT_MOVES = [
    # (cube element, closed-form matrix, the moved voxel's index)
    (1, QUARTER_ABOUT['d'], (4, 3, 3)),  # (d, -w, h) = (2, 1, 1)
    (2, QUARTER_ABOUT['d'] @ QUARTER_ABOUT['d'], (4, 1, 3)),  # (d, -h, -w) = (2, -1, 1)
    (4, QUARTER_ABOUT['w'], (1, 4, 1)),  # (-h, d, w) = (-1, 2, -1)
    (20, QUARTER_ABOUT['h'], (1, 3, 0)),  # (w, h, -d) = (-1, 1, -2)
    (16, QUARTER_ABOUT['h'].T, (3, 3, 4)),  # (-w, h, d) = (1, 1, 2): about h the other way
]


@pytest.mark.parametrize('element, matrix, moved', HOT_MOVES,
                         ids=['90_about_d', '180_about_d', '90_about_w', '90_about_h',
                              'minus_90_about_h'])
def test_quarter_turns_move_a_hot_voxel_where_the_closed_form_says(cube_group, element,
                                                                   matrix, moved):
    x = _hot_voxel(HOT)
    expected = _hot_voxel(moved)
    out = np.asarray(cube_group.act(jnp.array([element], jnp.int32), jnp.asarray(x)))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(cube.MATRICES[element], matrix)
    np.testing.assert_array_equal(_rotate_by_matrix(matrix, x[0]), expected[0])
    # SO(3) with the same hand-written matrix: the sample points fall on voxels.
    resampled = groups.get_group('so3').act(jnp.asarray(matrix[None], jnp.float32),
                                            jnp.asarray(x))
    np.testing.assert_allclose(resampled, expected, atol=1e-5)


def test_the_24_elements_are_the_docstring_rotations_and_all_signed_permutations(cube_group):
    # Every rotation of the cube is a signed permutation matrix of determinant +1; there are
    # exactly 24 of them, and the docstring's g = 4 * face + k enumerates each once.
    signed = {tuple(np.ravel(np.diag(signs) @ np.eye(3, dtype=int)[list(perm)]))
              for perm in itertools.permutations(range(3))
              for signs in itertools.product((1, -1), repeat=3)}
    rotations = {m for m in signed if round(np.linalg.det(np.reshape(m, (3, 3)))) == 1}
    assert len(rotations) == 24
    hand = [_docstring_matrix(g) for g in range(24)]
    assert {tuple(np.ravel(m)) for m in hand} == rotations
    # The action on an asymmetric volume is (T_M x)(p) = x(M^T p) for each element's matrix,
    # and its 24 images are all different.
    x = np.asarray(_normal(0, (5, 5, 5, 1)))
    out = np.asarray(cube_group.act(jnp.arange(24, dtype=jnp.int32),
                                    jnp.asarray(np.repeat(x[None], 24, axis=0))))
    for g in range(24):
        np.testing.assert_array_equal(out[g], _rotate_by_matrix(hand[g], x))
        np.testing.assert_array_equal(cube.MATRICES[g], hand[g])
    assert len({volume.tobytes() for volume in out}) == 24


def test_composition_is_first_h_then_g_on_hand_picked_pairs(cube_group):
    x = np.asarray(_normal(1, (5, 5, 5, 1)))
    spin = lambda v: np.rot90(v, 1, axes=(1, 2))  # noqa: E731  h to w: element 1
    tip = lambda v: np.rot90(v, 1, axes=(0, 1))  # noqa: E731  d to h: element 4
    cases = [
        (4, 1, tip(spin(x))),  # first the spin, then the tip
        (1, 4, spin(tip(x))),  # the other order: a different rotation
        (1, 1, spin(spin(x))),
        (20, 16, x),  # w to d after d to w: the identity
        (4, 3, tip(spin(spin(spin(x))))),
    ]
    g = jnp.array([c[0] for c in cases], jnp.int32)
    h = jnp.array([c[1] for c in cases], jnp.int32)
    gh = cube_group.compose(g, h)
    out = np.asarray(cube_group.act(gh, jnp.asarray(np.stack([x] * len(cases)))))
    for b, (_, _, expected) in enumerate(cases):
        np.testing.assert_array_equal(out[b], expected)
    assert not np.array_equal(out[0], out[1])
    # Two quarter turns about perpendicular axes make a third of a turn about a diagonal:
    # order 3. The inverse of a quarter turn is three of them; the identity is element 0.
    three = cube_group.compose(gh[:1], cube_group.compose(gh[:1], gh[:1]))
    np.testing.assert_array_equal(three, [0])
    np.testing.assert_array_equal(cube_group.inverse(jnp.array([1, 4, 20], jnp.int32)),
                                  [3, 12, 16])
    np.testing.assert_array_equal(cube_group.identity(2), [0, 0])
    # The laws on a random batch: act(g * h) = act(g) o act(h), act(g^-1) o act(g) = id.
    g = jnp.arange(24, dtype=jnp.int32)
    h = jnp.asarray(np.random.default_rng(0).permutation(24), jnp.int32)
    xs = jnp.asarray(np.repeat(x[None], 24, axis=0))
    np.testing.assert_array_equal(cube_group.act(cube_group.compose(g, h), xs),
                                  cube_group.act(g, cube_group.act(h, xs)))
    np.testing.assert_array_equal(cube_group.act(cube_group.inverse(g), cube_group.act(g, xs)),
                                  xs)


def test_image_and_latent_actions_agree_through_a_stride_2_pooling(cube_group):
    # Downsampling by an equivariant map (2x2x2 mean) commutes with every cube rotation:
    # the latent action of the same element is the image action on the coarser grid.
    x = _normal(3, (24, 8, 8, 8, 2))

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
    x = _normal(1, (24, 6, 6, 6, 3))
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


@pytest.mark.parametrize('side', [4, 5], ids=['even', 'odd'])
def test_cube_rotation_gradient_is_the_transposed_permutation(cube_group, side):
    """rotate_cube is one gather with a hand-written VJP (the gather by M_g^T): its
    gradient must equal autodiff through per-example jnp.rot90 (no custom rule), for all 24
    elements, on odd and even grids."""
    def by_rot90(g, x):
        out = []
        for b, element in enumerate(np.asarray(g)):
            face, k = divmod(int(element), 4)
            y = x[b]
            for turns, axes in cube.FACE_ROTATIONS[face]:
                y = jnp.rot90(y, turns, axes)
            out.append(jnp.rot90(y, k, cube.SPIN_AXES))
        return jnp.stack(out)

    g = jnp.arange(24, dtype=jnp.int32)
    x = _normal(7, (24, side, side, side, 2))
    weights = _normal(8, (24, side, side, side, 2))
    act = jax.jit(cube_group.act)  # elements traced, as in a training step
    np.testing.assert_array_equal(act(g, x), by_rot90(g, x))
    grad = jax.grad(lambda v: jnp.sum(act(g, v) * weights))(x)
    reference = jax.grad(lambda v: jnp.sum(by_rot90(g, v) * weights))(x)
    np.testing.assert_array_equal(grad, reference)


def _trilinear_matrix(sizes, coords):
    """The sampling matrix ``(P, D*H*W)`` of trilinear interpolation with clamped (edge)
    coordinates, written out per point in numpy: the reference for trilinear_sample."""
    upper = np.asarray(sizes) - 1
    matrix = np.zeros((len(coords), int(np.prod(sizes))))
    for row, point in enumerate(np.clip(coords, 0, upper)):
        lo = np.floor(point).astype(int)
        for corner in itertools.product((0, 1), repeat=3):
            voxel = np.minimum(lo + corner, upper)
            weight = np.prod([f if bit else 1 - f for f, bit in zip(point - lo, corner)])
            matrix[row, np.ravel_multi_index(voxel, sizes)] += weight
    return matrix


def test_trilinear_sample_values_and_gradients_match_the_sampling_matrix():
    """trilinear_sample gathers each corner by one flat index over the batch: its values must
    be M x and its gradient in x M^T g for the per-point matrix M written out above, with
    points inside, on the edge and outside the grid (clamped), on a non-cubic grid with two
    examples and two channels; its gradient in the coordinates that of the interpolation
    formula (central differences away from integer coordinates)."""
    sizes, batch, channels = (4, 5, 6), 2, 2
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch,) + sizes + (channels,)).astype(np.float32)
    coords = rng.uniform(-1.5, 6.5, (batch, 7, 3)).astype(np.float32)
    coords[:, 0] = (0, 0, 0)
    coords[:, 1] = np.asarray(sizes) - 1  # the far corner: lo = hi there
    g = rng.standard_normal((batch, 7, channels)).astype(np.float32)
    out, vjp = jax.vjp(resample3d.trilinear_sample, jnp.asarray(x), jnp.asarray(coords))
    grad_x = vjp(jnp.asarray(g))[0]
    for b in range(batch):
        matrix = _trilinear_matrix(sizes, coords[b])
        flat = x[b].reshape(-1, channels)
        np.testing.assert_allclose(out[b], matrix @ flat, atol=1e-5)
        np.testing.assert_allclose(np.asarray(grad_x[b]).reshape(-1, channels),
                                   matrix.T @ g[b], atol=1e-5)
    inside = rng.uniform(0.2, 0.8, (batch, 5, 3)) + rng.integers(0, 3, (batch, 5, 3))
    inside = jnp.asarray(inside, jnp.float32)
    loss = jax.jit(lambda c: jnp.sum(resample3d.trilinear_sample(jnp.asarray(x), c) * g[:, :5]))
    analytic = jax.grad(loss)(inside)
    eps = 1e-2
    for index in itertools.product(range(batch), range(5), range(3)):
        step = jnp.zeros_like(inside).at[index].set(eps)
        numeric = (loss(inside + step) - loss(inside - step)) / (2 * eps)
        np.testing.assert_allclose(float(analytic[index]), float(numeric), rtol=1e-3,
                                   atol=1e-3, err_msg=str(index))
