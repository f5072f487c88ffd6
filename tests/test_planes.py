"""The planes setting: renderer, cache, yaw group, its latent actions (group laws), view
pairs, the data source, the comparison table and one tiny end-to-end run."""

import json
import os

import jax
import jax.numpy as jnp
import matplotlib.image
import numpy as np
import pytest

from conftest import run_python
from gla import groups
from gla.settings.planes import evaluate as planes_evaluate
from gla.settings.planes import data as planes_data
from gla.settings.planes import render
from gla.data import sources
from gla import latent_actions
from gla.latent_actions import channel_rotation
from gla.latent_actions import volumetric


def _normal(seed, shape):
    """Standard normal test data from numpy (jax.random.normal compiles per shape: ~1 s)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


@pytest.fixture(scope='module')
def rendered():
    return render.render_planes(3, num_views=8, size=32, seed=5)


def test_render_shapes_ranges_and_labels(rendered):
    assert rendered['images'].shape == (3, 8, 32, 32, 3)
    assert rendered['images'].dtype == np.uint8
    assert rendered['sky'].shape == (3, 32, 32, 3)
    assert rendered['labels'].dtype == np.int32
    assert set(rendered['labels']) <= set(range(len(render.COLOURS)))
    covered = rendered['plane_mask'].mean(axis=(2, 3))  # (N, V) share of plane pixels
    assert covered.min() > 0.005 and covered.max() < 0.6  # a plane in every view, sky around
    # The views differ (the plane turns) ...
    assert not np.array_equal(rendered['images'][:, 0], rendered['images'][:, 2])


def _still_object():
    """A seeded object made simple enough to know its rendering: no clouds (the sky is the
    bare vertical gradient), the camera level with the plane (no elevation), no sideways
    offset; the plane pitched nose-up by 0.3 rad and scaled to 0.6, 0.1 above the centre."""
    obj = render.sample_object(np.random.default_rng([5, 0]))
    obj.update(clouds=[], pitch=0.3, elevation=0.0, offset=np.array([0.0, 0.1]), size=0.6,
               sky_top=np.array([0.2, 0.4, 0.8]), sky_bottom=np.array([0.6, 0.8, 1.0]))
    return obj


def test_cloudless_sky_is_the_closed_form_gradient_in_every_view():
    images, sky = render.render_objects([_still_object()], num_views=8, size=32)
    # Row r (pixel centre t = (r + 0.5) / 32 from the top) is (1 - t) * top + t * bottom.
    t = (np.arange(32) + 0.5) / 32
    gradient = (1 - t)[:, None] * [0.2, 0.4, 0.8] + t[:, None] * [0.6, 0.8, 1.0]
    expected = np.broadcast_to(np.round(gradient * 255)[:, None], (32, 32, 3))
    np.testing.assert_array_equal(sky[0], expected)
    # The plane (pitched 0.3 rad, scaled 0.6: it spans rows 11-17) stays off the top and
    # bottom 8 rows: there every view is the sky, unchanged as the plane turns.
    for view in images[0]:
        np.testing.assert_array_equal(view[:8], expected[:8])
        np.testing.assert_array_equal(view[-8:], expected[-8:])
        assert np.any(view[8:-8] != expected[8:-8])  # and the plane is in the picture


def test_half_a_turn_mirrors_the_silhouette_seen_from_the_side():
    # With the camera level and no sideways offset, yaw + 180° maps screen (x, y, depth) to
    # (-x, y, -depth): the plane seen from the other side, so its outline is the left-right
    # mirror image of view k (orthographic projection; pixel centres are symmetric).
    images, sky = render.render_objects([_still_object()], num_views=8, size=32)
    outline = np.any(images[0] != sky[0][None], axis=-1)  # (8, 32, 32)
    for k in range(4):
        np.testing.assert_array_equal(outline[k + 4], outline[k][:, ::-1])
        assert not np.array_equal(outline[k], outline[k][:, ::-1])  # not trivially symmetric
        assert outline[k].sum() > 10


def test_render_is_deterministic_and_per_object(rendered):
    again = render.render_planes(3, num_views=8, size=32, seed=5, chunk=2)
    for key in rendered:
        np.testing.assert_array_equal(again[key], rendered[key])
    prefix = render.render_planes(2, num_views=8, size=32, seed=5)
    np.testing.assert_array_equal(prefix['images'], rendered['images'][:2])
    other = render.render_planes(2, num_views=8, size=32, seed=6)
    assert not np.array_equal(other['images'], rendered['images'][:2])


def test_views_are_exact_yaw_steps(rendered):
    # 90° is view 2 of 8 and view 1 of 4: the same rendering, bit for bit.
    four = render.render_planes(3, num_views=4, size=32, seed=5)
    np.testing.assert_array_equal(four['images'], rendered['images'][:, ::2])


def test_cache_roundtrip_and_broken_file(tmp_path):
    first = render.load_or_render(str(tmp_path), 2, num_views=4, size=16, seed=1)
    path = render.cache_path(str(tmp_path), 2, 4, 16, 1)
    assert os.path.isfile(path)
    second = render.load_or_render(str(tmp_path), 2, num_views=4, size=16, seed=1)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    with open(path, 'wb') as f:
        f.write(b'not an npz')
    third = render.load_or_render(str(tmp_path), 2, num_views=4, size=16, seed=1)
    np.testing.assert_array_equal(third['images'], first['images'])


def _planes_data_config(tmp_path):
    from configs import test_planes
    config = test_planes.get_config()
    config.data.planes.cache_dir = str(tmp_path)
    return config


def test_planes_source_splits_by_object(tmp_path):
    config = _planes_data_config(tmp_path)
    p = config.data.planes
    dataset = sources.load_dataset(config.data)
    assert dataset.num_views == p.num_views
    assert dataset.image_shape == (p.image_size, p.image_size, 3)
    assert [len(s) for s in (dataset.train, dataset.val, dataset.test)] == [
        p.num_train, p.num_val, p.num_test]
    assert dataset.train.images.dtype == np.float32
    assert dataset.train.images.min() >= -1 and dataset.train.images.max() <= 1
    raw = render.load_or_render(str(tmp_path), p.num_train + p.num_val + p.num_test,
                                p.num_views, p.image_size, p.seed)
    np.testing.assert_array_equal(dataset.test.labels, raw['labels'][-p.num_test:])
    # The skies the swap test draws again equal the cached ones.
    np.testing.assert_allclose(planes_evaluate.test_skies(config, 3),
                               raw['sky'][p.num_train + p.num_val:][:3] / 127.5 - 1.0,
                               atol=1e-6)


def test_yaw_group_laws_and_no_pixel_action():
    group = groups.get_group('yaw24')
    g = jnp.array([0, 5, 23, 12], jnp.int32)
    h = jnp.array([3, 20, 1, 12], jnp.int32)
    np.testing.assert_array_equal(group.compose(g, group.inverse(g)), group.identity(4))
    np.testing.assert_array_equal(group.compose(g, h), jnp.mod(g + h, 24))
    np.testing.assert_allclose(group.angle(jnp.array([6])), [np.pi / 2], rtol=1e-6)
    assert group.describe(jnp.array([0, 1, 6])) == ['0°', '15°', '90°']
    with pytest.raises(ValueError, match='out of the image plane'):
        group.act(g, jnp.zeros((4, 8, 8, 3)))
    with pytest.raises(ValueError, match='2D'):
        group.check_grid((8, 8, 8))


def _action(name, group_name, z, seed=0):
    group = groups.get_group(group_name)
    module = latent_actions.make_latent_action(name, group)
    # Jitted: one compile each, not op by op (which takes seconds for these modules).
    variables = jax.jit(module.init)(jax.random.key(seed), group.identity(z.shape[0]), z)
    apply = jax.jit(lambda g, x: module.apply(variables, g, x))
    return lambda g, x: apply(jnp.asarray(g, jnp.int32), x)


@pytest.mark.parametrize('name', ['volumetric', 'inplane', 'learned_channels_integer'])
def test_quarter_turn_group_laws_exact(name):
    z = _normal(1, (4, 8, 8, 16))
    phi = _action(name, 'yaw4', z)
    g, h = np.array([0, 1, 2, 3]), np.array([3, 3, 1, 2])
    tol = dict(atol=1e-5) if name == 'learned_channels_integer' else dict(atol=0)
    np.testing.assert_allclose(phi(np.zeros(4), z), z, **tol)
    np.testing.assert_allclose(phi((g + h) % 4, z), phi(g, phi(h, z)), **tol)
    np.testing.assert_allclose(phi((-g) % 4, phi(g, z)), z, **tol)
    np.testing.assert_allclose(phi(np.ones(4), phi(np.full(4, 3), z)), z, **tol)


def test_learned_integer_channels_c24_laws_and_period():
    z = _normal(2, (3, 4, 4, 10))
    phi = _action('learned_channels_integer', 'yaw24', z)
    g, h = np.array([5, 13, 23]), np.array([19, 11, 2])
    np.testing.assert_allclose(phi(np.zeros(3), z), z, atol=1e-6)
    np.testing.assert_allclose(phi((g + h) % 24, z), phi(g, phi(h, z)), atol=2e-5)
    # 24 single steps come back to the start: the frequencies are integers.
    out = z
    for _ in range(24):
        out = phi(np.ones(3), out)
    np.testing.assert_allclose(out, z, atol=2e-4)


def test_integer_frequencies_round_forward_and_pass_gradients():
    module = channel_rotation.IntegerChannelRotation(groups.get_group('yaw24').angle)
    z = jnp.ones((1, 1, 1, 4))
    g = jnp.array([1], jnp.int32)
    a = module.apply({'params': {'frequencies': jnp.array([1.3, 2.0])}}, g, z)
    b = module.apply({'params': {'frequencies': jnp.array([1.0, 1.6])}}, g, z)
    np.testing.assert_array_equal(a, b)  # both round to (1, 2)
    grad = jax.grad(lambda f: jnp.sum(module.apply({'params': {'frequencies': f}}, g, z)[..., 0]))(
        jnp.array([1.3, 2.0]))
    assert grad[0] != 0  # straight-through: the real parameter still learns


def test_volumetric_turns_about_the_vertical_axis():
    # One hot voxel at row 2, column 1, depth 0 (8 x 8 grid, 16 channels = depth 8 x 2).
    z = np.zeros((1, 8, 8, 16), np.float32)
    z[0, 2, 1, 0 * 2 + 1] = 1.0
    out = np.asarray(volumetric.rotate_volume_about_vertical(jnp.array([np.pi / 2]),
                                                              jnp.asarray(z), True))
    volume = out.reshape(8, 8, 8, 2)
    (row, col, depth, feature), = np.argwhere(volume != 0)
    # The row and the feature stay; (column, depth) turn a quarter like rot90 of that plane.
    plane = np.zeros((8, 8))
    plane[1, 0] = 1
    assert (row, feature) == (2, 1)
    assert (col, depth) == tuple(np.argwhere(np.rot90(plane, 1))[0])
    # The bilinear path (15° steps) agrees with the exact one at 90°.
    bilinear = volumetric.rotate_volume_about_vertical(jnp.array([np.pi / 2]),
                                                        jnp.asarray(z), False)
    np.testing.assert_allclose(bilinear, out, atol=1e-5)


@pytest.mark.parametrize('name', ['volumetric', 'inplane'])
def test_resampled_c24_identity_exact_and_six_steps_near_quarter_turn(name):
    z = _normal(3, (2, 8, 8, 16))
    phi24 = _action(name, 'yaw24', z)
    phi4 = _action(name, 'yaw4', z)
    np.testing.assert_allclose(phi24(np.zeros(2), z), z, atol=1e-6)
    np.testing.assert_allclose(phi24(np.full(2, 6), z), phi4(np.ones(2), z), atol=1e-5)
    # Six 15° steps only approximate a quarter turn (bilinear blur): stated, not hidden.
    out = z
    for _ in range(6):
        out = phi24(np.ones(2), out)
    err = float(jnp.linalg.norm(out - phi4(np.ones(2), z)) / jnp.linalg.norm(z))
    assert 0.05 < err < 1.0


def test_tilted_yaw_matrices_form_the_group_and_untilted_is_the_vertical_turn():
    a, b = jnp.array([0.3, -1.1, 2.0]), jnp.array([0.9, 0.4, -2.5])
    for tilt in (0.0, 0.43):
        m = lambda t: np.asarray(volumetric.tilted_yaw_matrices(t, tilt))  # noqa: E731
        np.testing.assert_allclose(m(jnp.zeros(3)), np.broadcast_to(np.eye(3), (3, 3, 3)),
                                   atol=1e-6)
        np.testing.assert_allclose(m(a) @ m(b), m(a + b), atol=1e-5)
        np.testing.assert_allclose(m(-a) @ m(a), np.broadcast_to(np.eye(3), (3, 3, 3)),
                                   atol=1e-5)
        np.testing.assert_allclose(m(a) @ np.swapaxes(m(a), 1, 2),
                                   np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-5)
    # Untilted, the row (axis 0) never moves: the turn stays in the (column, depth) plane.
    untilted = np.asarray(volumetric.tilted_yaw_matrices(a, 0.0))
    np.testing.assert_allclose(untilted[:, 0], np.broadcast_to([1, 0, 0], (3, 3)), atol=1e-6)
    # Tilted, the axis the turn keeps is (-cos t, 0, -sin t) in (row, column, depth): up the
    # image and towards the viewer.
    tilted = np.asarray(volumetric.tilted_yaw_matrices(a, 0.43))
    axis = np.array([-np.cos(0.43), 0.0, -np.sin(0.43)])
    np.testing.assert_allclose(tilted @ axis, np.broadcast_to(axis, (3, 3)), atol=1e-6)


def test_tilted_volume_turn_moves_points_as_the_renderer_does():
    """The renderer's screen positions (x right, y up, z towards the viewer) of one plane's
    mesh at yaw 0 and at yaw g, read as (row, column, depth) = (-y, x, -z) about the
    plane's centre: the tilted matrix at the object's camera elevation maps one onto the
    other."""
    obj = render.sample_object(np.random.default_rng(3))
    triangles, _ = render.plane_mesh(obj)
    yaw = 2 * np.pi * np.array([0, 5]) / 24
    screen = render._project(obj, triangles, yaw).reshape(2, -1, 3)
    screen[..., :2] -= obj['offset']
    volume = screen @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, -1]]).T
    m = np.asarray(volumetric.tilted_yaw_matrices(jnp.array([yaw[1]]), obj['elevation']))[0]
    np.testing.assert_allclose(volume[0] @ m.T, volume[1], atol=1e-5)
    # Without the tilt the same points land elsewhere: rows move under the tilted turn.
    flat = np.asarray(volumetric.tilted_yaw_matrices(jnp.array([yaw[1]]), 0.0))[0]
    assert np.abs(volume[0] @ flat.T - volume[1]).max() > 0.05


def test_tilted_volumetric_action_at_tilt_zero_is_the_vertical_turn_inside_the_grid():
    z = jnp.asarray(np.random.default_rng(4).standard_normal((2, 8, 8, 64)), jnp.float32)
    theta = jnp.array([0.26, -1.57])
    vertical = volumetric.rotate_volume_about_vertical(theta, z).reshape(2, 8, 8, 8, 8)
    trilinear = volumetric.rotate_volume_about_tilted_axis(theta, z, 1e-9).reshape(
        2, 8, 8, 8, 8)
    # The corners of the turned square differ (zero fill there, edge extension here).
    np.testing.assert_allclose(trilinear[:, :, 3:5, 3:5], vertical[:, :, 3:5, 3:5], atol=1e-4)
    phi = volumetric.VolumetricRotation(groups.get_group('yaw24').angle, tilt=0.4)
    np.testing.assert_array_equal(phi.apply({}, jnp.zeros(2, jnp.int32), z), z)


def test_volumetric_rejects_channels_not_divisible_by_width():
    with pytest.raises(ValueError, match='multiple of 8'):
        volumetric.rotate_volume_about_vertical(jnp.zeros(1), jnp.zeros((1, 8, 8, 12)))


def test_grid_action_with_yaw_is_a_clear_error():
    group = groups.get_group('yaw24')
    module = latent_actions.make_latent_action('grid', group)
    with pytest.raises(ValueError, match='volumetric'):
        module.init(jax.random.key(0), group.identity(1), jnp.zeros((1, 8, 8, 16)))


def test_view_pairs_pick_views_k0_and_k0_plus_g():
    num_views = 8
    # Every pixel of view k of object b holds 10 * b + k.
    images = (10 * np.arange(5)[:, None] + np.arange(num_views)[None]).astype(np.float32)
    images = np.broadcast_to(images[:, :, None, None, None], (5, num_views, 4, 4, 3))
    g = jnp.array([0, 1, 2, 3, 1], jnp.int32)
    for order, stride in ((8, 1), (4, 2)):
        x, target = planes_data.view_pairs(num_views, order)(jax.random.key(0), jnp.asarray(images),
                                                       g)
        k0 = np.asarray(x)[:, 0, 0, 0] - 10 * np.arange(5)
        k1 = np.asarray(target)[:, 0, 0, 0] - 10 * np.arange(5)
        np.testing.assert_array_equal(k1, (k0 + stride * np.asarray(g)) % num_views)
    with pytest.raises(ValueError, match='multiple of'):
        planes_data.view_pairs(num_views, 3)


def test_tabulate_rows_and_means(tmp_path):
    dirs = []
    for seed, psnr in ((0, 20.0), (1, 22.0)):
        d = tmp_path / f'seed{seed}'
        d.mkdir()
        (d / 'config.json').write_text(json.dumps(
            {'seed': seed, 'group': {'latent_action': 'volumetric'}}))
        (d / 'eval.json').write_text(json.dumps({
            'transformed_psnr_db_mean_over_test_images_and_group_elements': psnr,
            'transformed_ssim_mean': 0.5, 'equivariance_error_relative': 0.1,
            'invariance_error_relative': 0.2, 'variant_share': 0.5,
            'background_swap': {'background_mse_vs_sky_of_A': 0.01,
                                'plane_region_mse_vs_B': 0.2},
            'linear_probe': {'z_i': {'transformed': 0.9}}}))
        dirs.append(str(d))
    table = planes_evaluate.tabulate(dirs).splitlines()
    assert table[2].startswith('| volumetric | 0 | 20 |')
    assert '21 ± 1.4' in table[-1]


# The tiny run, long enough to learn: 128 training objects (16 steps of 8 an epoch), 8
# epochs, Adam at 3e-3: 128 steps, about 4 s of training on 2 CPU cores. Measured: PSNR
# over g != 0 of 19.0 dB against 17.7 dB for copying the input (the default 2 epochs of
# 24 objects: 12.1 dB against 16.7, no better than an output of zeros); background swap
# MSE 0.014 against A's sky and 0.089 against B's (untrained: 0.228 and 0.230).
TINY_RUN_THAT_LEARNS = ['--config.num_epochs=8', '--config.data.planes.num_train=128',
                        '--config.data.max_train_examples=128',
                        '--config.optimizer.learning_rate=0.003',
                        '--config.steps_per_dispatch=2']  # fused steps on (B, V, H, W, C) views


def _png(path):
    """The figure read back: (height, width, RGB) floats in [0, 1]."""
    return matplotlib.image.imread(path)[..., :3]


def test_tiny_planes_run_learns_the_yaw_and_draws_its_figures(tmp_path):
    workdir = str(tmp_path / 'run')
    run_python(['launch.py', '--config', 'configs/test_planes.py', '--workdir', workdir]
               + TINY_RUN_THAT_LEARNS)
    with open(os.path.join(workdir, 'eval.json')) as f:
        results = json.load(f)
    assert results['group_elements'] == ['0°', '90°', '180°', '270°']
    assert set(results['per_group_element']) == set(results['group_elements'])
    # It learned the turn: over g != 0 the prediction beats copying the input (which needs
    # no learning and is scored over the same pairs) by a margin; an untrained model is
    # about 4.5 dB below that baseline.
    turned = np.mean([results['per_group_element'][name]['psnr_db']
                      for name in ('90°', '180°', '270°')])
    assert turned > results['baselines']['copy_input_psnr_db'] + 0.5
    # The background swap: decoding z_i(A) + z_v(B) paints A's sky, not B's.
    swap = results['background_swap']
    assert swap['num_pairs'] == 8
    assert swap['background_mse_vs_sky_of_A'] < 0.4 * swap['background_mse_vs_sky_of_B']
    # The figures, read back: the panel grids have their layout's aspect (orbit: 2 rows x 4
    # elements; swap: 6 x 6 cells; transforms: 6 rows x 4 columns) and show coloured
    # renders, not a blank or text-only page; the loss curves are drawn lines.
    figures = {name: _png(os.path.join(workdir, 'figures', f'{name}.png'))
               for name in ('orbit', 'swap', 'transforms', 'losses')}
    aspect = {name: a.shape[1] / a.shape[0] for name, a in figures.items()}
    assert 1.5 < aspect['orbit'] < 2.5
    assert 0.8 < aspect['swap'] < 1.3
    assert 0.5 < aspect['transforms'] < 1.0
    for name in ('orbit', 'swap', 'transforms'):
        saturation = figures[name].max(-1) - figures[name].min(-1)
        assert np.mean(saturation > 0.1) > 0.25, name  # sky blue and the planes' colours
    curves = figures['losses'].max(-1) - figures['losses'].min(-1) > 0.1  # coloured lines
    assert np.mean(curves) > 0.005  # measured 0.03; axes and text alone are black
    assert any(f.startswith('planes_n144_v8_s32') and f.endswith('.npz')
               for f in os.listdir(workdir))  # cached in the workdir


def test_reference_psnr_known_answer():
    # Two views, +1 and -1 everywhere, sky 0: copying the input misses by 2 (0 dB), the
    # sky alone by 1 (10 log10 4 = 6.02 dB).
    images = np.stack([np.ones((1, 2, 2, 1)), -np.ones((1, 2, 2, 1))], axis=1)
    ref = planes_evaluate.reference_psnr(images, np.zeros((1, 2, 2, 1)), order=2)
    np.testing.assert_allclose(ref['copy_input'], 0.0, atol=1e-9)
    np.testing.assert_allclose(ref['sky_only'], 10 * np.log10(4.0), atol=1e-9)
