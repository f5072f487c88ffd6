"""SO(2) by resampling, the learned channel action on it, blocked pairs, the swap test's
region sums, the plain-autoencoder baseline and the comparison table."""

import json
import os
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gla.settings.blocked import blocks
from gla import latent_actions
from gla import compare
from gla import groups
from gla import pairs
from gla.settings.blocked import swap_test
from gla.groups import c4


def _normal(seed, shape):
    """Standard normal test data from numpy (jax.random.normal compiles per shape: ~1 s)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


@pytest.fixture
def so2():
    return groups.get_group('so2')


def _smooth_images(n=3, size=28):
    """Smooth bumps well inside the grid: bilinear resampling is accurate on them."""
    r, c = np.meshgrid(np.arange(size) - (size - 1) / 2, np.arange(size) - (size - 1) / 2,
                       indexing='ij')
    imgs = [np.exp(-((r - 3 + i) ** 2 + (c + 2 - i) ** 2) / 18.0) for i in range(n)]
    return jnp.asarray(np.stack(imgs)[..., None], jnp.float32)


def _rel(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def test_so2_identity_is_exact_and_laws_hold_within_stated_tolerance(so2):
    x = _smooth_images()
    np.testing.assert_allclose(so2.act(so2.identity(3), x), x, atol=1e-6)
    g, h = jnp.array([0.3, 2.0, 5.5]), jnp.array([1.1, -0.7, 4.0])
    # Stated tolerance for the resampled action (a): relative L2 error below 5 %.
    assert _rel(so2.act(so2.compose(g, h), x), so2.act(g, so2.act(h, x))) < 0.05
    assert _rel(so2.act(so2.inverse(g), so2.act(g, x)), x) < 0.05
    # A full turn is the identity (to float rounding of the sample points).
    np.testing.assert_allclose(so2.act(jnp.full((3,), 2 * np.pi), x), x, atol=1e-4)


def test_so2_agrees_with_c4_at_quarter_turns_on_an_odd_latent_grid(so2):
    # (Images: the blocked-pairs test below turns a hand-drawn digit by SO(2) quarter turns.
    # The latent shape is the other tests' (3, 7, 7, 8), which JAX has compiled for already.)
    x = _normal(0, (3, 7, 7, 8))
    k = jnp.array([1, 2, 3], jnp.int32)
    np.testing.assert_allclose(so2.act(c4.make_group().angle(k), x),
                               c4.rotate_quarter_turns(k, x), atol=1e-5)


def test_so2_eval_elements_every_15_degrees_and_sampling_ranges(so2):
    names = so2.describe(so2.eval_elements())
    assert names == [f'{15 * i}°' for i in range(24)]
    g = np.asarray(so2.sample(jax.random.key(0), 5000))
    assert g.min() >= 0 and g.max() < 2 * np.pi and abs(g.mean() - np.pi) < 0.1
    narrow = groups.get_group('so2', angle_range_degrees=(-45.0, 45.0))
    g = np.rad2deg(np.asarray(narrow.sample(jax.random.key(1), 2000)))
    assert g.min() >= -45 and g.max() < 45
    assert narrow.describe(narrow.eval_elements()) == ['-45°', '-30°', '-15°', '0°', '15°',
                                                       '30°']
    c6 = groups.get_group('so2', order=6)
    g = np.rad2deg(np.asarray(c6.sample(jax.random.key(2), 600)))
    np.testing.assert_allclose(np.sort(np.unique(np.round(g, 3))), 60.0 * np.arange(6),
                               atol=1e-3)
    assert c6.describe(c6.eval_elements()) == [f'{60 * i}°' for i in range(6)]


def test_so2_bad_options_name_the_field():
    with pytest.raises(ValueError, match='angle_range_degrees'):
        groups.get_group('so2', angle_range_degrees=(10.0, 10.0))
    with pytest.raises(ValueError, match='order'):
        groups.get_group('so2', order=-1)
    with pytest.raises(ValueError, match='2D grids'):
        groups.get_group('so2').check_grid((8, 8, 8))


def test_group_from_config_reads_the_group_options():
    cfg = ml_collections.ConfigDict(dict(name='so2', latent_action='grid', so2=dict(
        angle_range_degrees=(0.0, 90.0), order=0)))
    group = groups.group_from_config(cfg)
    assert group.describe(group.eval_elements()) == ['0°', '15°', '30°', '45°', '60°', '75°']
    # C4 reads no options; a config restored from JSON (lists, dicts) works too.
    assert groups.group_from_config({'name': 'c4', 'latent_action': 'grid'}).name == 'c4'
    assert groups.group_from_config({'name': 'so2', 'so2': {
        'order': 3, 'angle_range_degrees': [0.0, 360.0]}}).name == \
        'c3_resampled'


def test_learned_channel_part_is_an_exact_so2_homomorphism(so2):
    # Action (b) = channel rotation after the resampled grid rotation. Its channel part
    # composes to float precision for any real angles and learned (non-integer) frequencies.
    action = latent_actions.make_latent_action('learned_channels', so2)
    z = _normal(3, (3, 7, 7, 8))
    g, h = jnp.array([0.3, 2.0, 5.5]), jnp.array([1.1, -0.7, 4.0])
    variables = action.init(jax.random.key(0), g, z)
    act = lambda g, z: action.apply(variables, g, z)
    np.testing.assert_allclose(act(so2.compose(g, h), z), act(g, act(h, z)), atol=1e-5)
    np.testing.assert_allclose(act(so2.inverse(g), act(g, z)), z, atol=1e-5)
    np.testing.assert_array_equal(act(so2.identity(3), z), z)


def test_grid_and_learned_channels_known_answer_at_a_quarter_turn(so2):
    # One hot cell at (row 1, column 5) of a 7x7 grid holding the channel pairs
    # (1, 0 | 0, 2 | 3, 0 | 0, 0) with frequencies (2, 0.5, 1, 3). A quarter turn moves the
    # cell to (6 - 5, 1) = (1, 1) and turns the pairs by 180°, 45° and 90°: they become
    # (-1, 0 | -sqrt 2, sqrt 2 | 0, 3 | 0, 0). (Shapes as in the test above: no new compiles.)
    z = np.zeros((3, 7, 7, 8), np.float32)
    z[0, 1, 5] = [1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 0.0]
    expected = np.zeros_like(z)
    expected[0, 1, 1] = [-1.0, 0.0, -np.sqrt(2), np.sqrt(2), 0.0, 3.0, 0.0, 0.0]
    full = latent_actions.make_latent_action('grid_and_learned_channels', so2)
    variables = {'params': {'LearnedChannelRotation_0': {
        'frequencies': jnp.array([2.0, 0.5, 1.0, 3.0])}}}
    out = full.apply(variables, jnp.full((3,), np.pi / 2), jnp.asarray(z))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_block_masks_are_squares_of_the_right_size_inside_the_grid():
    masks = np.asarray(blocks.block_masks(jax.random.key(0), 200, (28, 28), 8))
    assert masks.shape == (200, 28, 28, 1)
    assert set(np.unique(masks)) == {0.0, 1.0}
    for m in masks[..., 0]:
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        assert len(rows) == len(cols) == 8 and m.sum() == 64
        assert rows[-1] - rows[0] == 7 and cols[-1] - cols[0] == 7
    # Positions vary: both the top-left and the bottom-right corner are reached.
    tops = np.argmax(masks[..., 0].any(2), axis=1)
    assert tops.min() == 0 and tops.max() == 20
    with pytest.raises(ValueError, match='blocks.size'):
        blocks.block_masks(jax.random.key(0), 2, (28, 28), 29)


def _hand_drawn_digits():
    """A 28x28 'digit' drawn by hand in [-1, 1] and its quarter turns counter-clockwise as
    displayed (pixel (r, c) -> (27 - c, r)), each written out rectangle by rectangle: an L
    whose stem is rows 4-23 of columns 10-11 and whose foot is rows 22-23 of columns 10-19."""
    turns = -np.ones((4, 28, 28), np.float32)
    turns[0, 4:24, 10:12] = turns[0, 22:24, 10:20] = 1  # the L: stem left, foot along the bottom
    turns[1, 16:18, 4:24] = turns[1, 8:18, 22:24] = 1  # 90°: stem along the bottom, foot up
    turns[2, 4:24, 16:18] = turns[2, 4:6, 8:18] = 1  # 180°: stem right, foot along the top
    turns[3, 10:12, 4:24] = turns[3, 10:20, 4:6] = 1  # 270°: stem along the top, foot down
    return turns


@pytest.mark.parametrize('group_name, elements', [('c4', [0, 1, 2, 3]),
                                                  ('so2', [0.0, np.pi / 2, np.pi, 1.5 * np.pi])])
def test_blocked_pairs_rotate_the_digit_but_not_the_block(group_name, elements):
    group = groups.get_group(group_name)
    turns = _hand_drawn_digits()
    images = jnp.asarray(np.repeat(turns[:1, ..., None], 4, axis=0))
    key = jax.random.key(7)
    x, target = blocks.blocked_pairs(group, size=8, intensity=0.75)(key, images,
                                                                    jnp.asarray(elements))
    x, target = np.asarray(x)[..., 0], np.asarray(target)[..., 0]
    masks = np.asarray(blocks.block_masks(key, 4, (28, 28), 8))[..., 0]
    corners = set()
    for b in range(4):
        # The digit is +-1, so the block is exactly where x is 0.75: an 8x8 square, at the
        # position block_masks draws from the same key.
        rows, cols = np.nonzero(x[b] == 0.75)
        top, left = rows.min(), cols.min()
        square = np.zeros((28, 28), bool)
        square[top:top + 8, left:left + 8] = True
        assert len(rows) == 64 and square[rows, cols].all()
        np.testing.assert_array_equal(masks[b] > 0, square)
        corners.add((top, left))
        # x: the upright digit with the block painted over it; the target: the digit turned
        # by b quarter turns (hand-drawn), the block painted at the same place, unturned.
        np.testing.assert_array_equal(x[b], np.where(square, 0.75, turns[0]))
        np.testing.assert_array_equal(target[b][square], 0.75)
        np.testing.assert_allclose(target[b], np.where(square, 0.75, turns[b]), atol=1e-5)
    assert len(corners) == 4  # one block position per image
    # On a blank background the pair is equal: only the block is there, and it stays.
    blank = -jnp.ones_like(images)
    x, target = blocks.blocked_pairs(group, size=8, intensity=0.75)(key, blank,
                                                                    jnp.asarray(elements))
    np.testing.assert_allclose(x, target, atol=1e-6)


def test_swap_region_sums_known_answer():
    mask_a = np.zeros((1, 4, 4, 1), np.float32)
    mask_a[0, :2, :2] = 1  # A's block: top-left 2x2
    mask_b = np.zeros_like(mask_a)
    mask_b[0, 1:3, 1:3] = 1  # B's block overlaps A's in one pixel
    turned_a = np.full_like(mask_a, -1.0)
    turned_b = np.full_like(mask_a, 0.5)
    # The ideal swap: A's block on B's digit.
    swapped = np.where(mask_a > 0, 1.0, turned_b).astype(np.float32)
    out = {k: float(v[0]) for k, v in swap_test._region_sums(
        jnp.asarray(swapped), mask_a, mask_b, turned_a, turned_b, 1.0).items()}
    assert out['a_block_count'] == 4 and out['a_block_err'] == 0
    assert out['b_block_count'] == 3 and out['b_block_err'] == pytest.approx(3 * 0.25)
    assert out['digit_b_count'] == 9 and out['digit_b_err'] == 0
    assert out['digit_a_err'] == pytest.approx(9 * 2.25)


class _SwapStandIn:
    """A stand-in model for the swap test whose ``swap`` decodes A's blocked input as it is
    at the identity (``x_a``) and negated at every other element (``-x_a``), whatever
    ``x_b`` is."""

    def swap(self, *args):  # only named: swap_arrays passes it as the method to apply
        raise AssertionError('called through apply')

    def apply(self, variables, x_a, x_b, g, method):
        assert method == self.swap
        return jnp.where((g == 0)[:, None, None, None], x_a, -x_a)


def test_swap_test_mses_known_answer_on_flat_digits():
    # Two flat 4x4 'digits', -1 and +1, so every pair is (A, B) = (a, -a), any rotation leaves
    # them as they are, and with block intensity 0 the regions' errors do not depend on
    # where the 2x2 blocks fall or overlap:
    #   at 0°, swapped = x_a copies A: A's block 0, B's block (a - 0)^2 = 1, against B's digit
    #     (a + a)^2 = 4, against A's digit 0; PSNR 10 log10(16 / 12): 12 of 16 pixels off by 2;
    #   at 90°, swapped = -x_a is the ideal swap (A's block on B's digit): A's block 0, B's
    #     block (-a - 0)^2 = 1, B's digit 0, A's digit 4; the reference itself: infinite PSNR.
    images = np.stack([np.full((4, 4, 1), -1.0), np.full((4, 4, 1), 1.0)]).astype(np.float32)
    run = types.SimpleNamespace(
        model=_SwapStandIn(), params={}, group=groups.get_group('c4'),
        config=ml_collections.ConfigDict({'blocks': {'size': 2, 'intensity': 0.0}}))
    results = swap_test.swap_test(run, images, seed=3, batch_size=1)  # 2 batches pooled
    assert results['0°'] == pytest.approx({
        'a_block_mse': 0.0, 'b_block_mse': 1.0, 'digit_b_mse': 4.0, 'digit_a_mse': 0.0,
        'reference_psnr_db': 10 * np.log10(16 / 12)}, abs=1e-5)
    assert results['90°'] == pytest.approx({
        'a_block_mse': 0.0, 'b_block_mse': 1.0, 'digit_b_mse': 0.0, 'digit_a_mse': 4.0,
        'reference_psnr_db': np.inf}, abs=1e-5)


def test_plain_autoencoder_trains_on_identity_pairs_only(tiny_config):
    group = groups.get_group('so2')
    tiny_config.mask.kind = 'none'
    g = pairs.training_group(tiny_config, group).sample(jax.random.key(0), 16)
    np.testing.assert_array_equal(g, np.zeros(16))
    tiny_config.mask.kind = 'learned'
    assert pairs.training_group(tiny_config, group) is group


def _fake_eval(psnr, probe_i, swap_block):
    probe = {p: {'upright': probe_i, 'transformed': probe_i} for p in ('z', 'z_v', 'z_i')}
    return {'transformed_psnr_db_mean_over_test_images_and_group_elements': psnr,
            'transformed_ssim_mean': 0.9, 'equivariance_error_relative': 1e-3,
            'invariance_error_relative': None, 'variant_share': 1.0, 'linear_probe': probe,
            'per_group_element': {f'{a}°': {'psnr_db': psnr + a / 100} for a in
                                  range(0, 360, 15)},
            'swap_test': {'0°': {k: swap_block for k in ('a_block_mse', 'b_block_mse',
                                                          'digit_b_mse', 'digit_a_mse',
                                                          'reference_psnr_db')}},
            'training': {'warnings': [], 'best_step': 93}}


def test_compare_table_gives_mean_and_sample_std_over_seeds(tmp_path):
    for seed, psnr in (('0', 20.0), ('1', 22.0), ('2', 24.0)):
        workdir = compare.workdir_of(str(tmp_path), 'blocked', 'learned', seed)
        os.makedirs(workdir)
        with open(os.path.join(workdir, 'eval.json'), 'w') as f:
            json.dump(_fake_eval(psnr, 0.5, 0.25), f)
    results = {'blocked': {'learned': [], 'none': []}}
    for seed in '012':
        # run_one reuses a finished run: it does not launch anything here.
        results['blocked']['learned'].append(compare.run_one(
            'configs/blocked_mnist.py', compare.workdir_of(str(tmp_path), 'blocked',
                                                           'learned', seed),
            'learned', seed, [], str(tmp_path)))
    out = str(tmp_path / 'table.md')
    compare.write_table(out, [('blocked', 'configs/blocked_mnist.py')], results,
                        ['0', '1', '2'], ['num_epochs=8'])
    text = open(out).read()
    assert '| learned (ALD) | 3 | 22.00 ± 2.00 | 0.900 ± 0.000 |' in text
    assert '50.0 ± 0.0 / 50.0 ± 0.0' in text
    assert '| — |' in text  # the invariance error of an empty z_i
    assert '| 0/3 | 93 ± 0 |' in text  # no divergence warning; best steps
    assert 'Swap test, g = 0°' in text and '0.250 ± 0.000' in text
    # 24 elements: the per-element PSNR table, sorted by angle.
    assert text.index('| 15° | 22.15 ± 2.00 |') < text.index('| 345° |')
    assert 'plain AE' not in text  # no finished runs of that mask


def test_norm_preserving_grid_action_keeps_the_norm_and_equals_grid_for_c4(so2):
    z = _normal(4, (3, 7, 7, 8))
    g = jnp.array([0.3, 0.8, 2.0])
    plain = latent_actions.make_latent_action('grid', so2)
    kept = latent_actions.make_latent_action('grid_norm_preserving', so2)
    out, shrunk = kept.apply({}, g, z), plain.apply({}, g, z)
    norms = lambda a: np.sqrt(np.sum(np.square(np.asarray(a)), axis=(1, 2, 3)))
    np.testing.assert_allclose(norms(out), norms(z), rtol=1e-5)
    assert np.all(norms(shrunk) < 0.99 * norms(z))  # bilinear resampling shrinks the norm
    np.testing.assert_allclose(out / norms(out)[:, None, None, None],
                               shrunk / norms(shrunk)[:, None, None, None], atol=1e-6)
    np.testing.assert_array_equal(kept.apply({}, so2.identity(3), z), z)
    np.testing.assert_array_equal(kept.apply({}, g, jnp.zeros_like(z)), jnp.zeros_like(z))
    quarter = c4.make_group()
    k = jnp.array([1, 2, 3], jnp.int32)
    np.testing.assert_allclose(
        latent_actions.make_latent_action('grid_norm_preserving', quarter).apply({}, k, z),
        c4.rotate_quarter_turns(k, z), rtol=1e-6)
