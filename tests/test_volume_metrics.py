"""Object metrics of volumes (gla/volume_metrics.py, gla/settings/volumes/): known answers on
hand-built volumes, the setting's loops with predictors whose scores are known, and the head
phantoms' label maps, which must not change the phantoms."""

import numpy as np
import pytest

from gla import groups
from gla import settings
from gla import volume_metrics as vm
from gla.data import phantom
from gla.settings.volumes import evaluate as volume_eval


def _shape(lo, hi, size=8):
    """A (1, size, size, size, 1) volume in [-1, 1]: 1 on depths lo..hi-1, -1 elsewhere."""
    v = -np.ones((1, size, size, size, 1), np.float32)
    v[:, lo:hi] = 1.0
    return v


def test_dice_and_iou_of_identical_disjoint_and_half_overlapping_shapes():
    a = _shape(0, 4)
    assert float(vm.dice(a, a)[0]) == 1.0 and float(vm.iou(a, a)[0]) == 1.0
    disjoint = _shape(4, 8)
    assert float(vm.dice(disjoint, a)[0]) == 0.0 and float(vm.iou(disjoint, a)[0]) == 0.0
    # Two shapes of n voxels sharing n / 2: Dice 2 (n/2) / 2n = 1/2, IoU (n/2) / (3n/2) = 1/3.
    half = _shape(2, 6)
    assert float(vm.dice(half, a)[0]) == pytest.approx(0.5, abs=1e-7)
    assert float(vm.iou(half, a)[0]) == pytest.approx(1 / 3, abs=1e-7)
    # Empty against empty agrees (1); a shape against nothing does not (0).
    empty = -np.ones_like(a)
    assert float(vm.dice(empty, empty)[0]) == 1.0 and float(vm.iou(empty, empty)[0]) == 1.0
    assert float(vm.dice(empty, a)[0]) == 0.0 and float(vm.iou(a, empty)[0]) == 0.0


def test_shapes_are_thresholded_at_the_midpoint_zero_and_iou_is_dice_over_two_minus_dice():
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, (3, 6, 6, 6, 1)).astype(np.float32)
    prediction = np.clip(target + rng.normal(0, 0.5, target.shape), -1, 1).astype(np.float32)
    p, t = prediction > 0, target > 0
    overlap = (p & t).sum(axis=(1, 2, 3, 4))
    expected = 2 * overlap / (p.sum(axis=(1, 2, 3, 4)) + t.sum(axis=(1, 2, 3, 4)))
    dice = np.asarray(vm.dice(prediction, target))
    np.testing.assert_allclose(dice, expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(vm.iou(prediction, target)), dice / (2 - dice),
                               rtol=1e-6)
    # 0.01 is foreground, -0.01 is not: moving every voxel across 0 turns Dice from 1 to 0.
    assert float(vm.dice(np.full_like(target, 0.01), np.full_like(target, 0.02))[0]) == 1.0
    assert float(vm.dice(np.full_like(target, -0.01), np.full_like(target, 0.02))[0]) == 0.0


def test_masked_psnr_and_mse_against_a_hand_computation():
    target = np.zeros((2, 4, 4, 4, 2), np.float32)
    prediction = target + 1.0  # error 1 outside the mask ...
    mask = np.zeros((2, 4, 4, 4, 1), bool)  # one mask for both channels
    mask[0, 0, 0, :2] = True
    prediction[0, 0, 0, 0] = (0.1, 0.3)  # ... and 0.1, 0.3, 0.5, 0.7 inside (example 0)
    prediction[0, 0, 0, 1] = (0.5, 0.7)
    mse = (0.1 ** 2 + 0.3 ** 2 + 0.5 ** 2 + 0.7 ** 2) / 4  # 0.21
    np.testing.assert_allclose(np.asarray(vm.masked_mse(prediction, target, mask))[0], mse,
                               rtol=1e-6)
    psnr = np.asarray(vm.masked_psnr(prediction, target, mask))
    assert psnr[0] == pytest.approx(10 * np.log10(4 / 0.21), abs=1e-5)  # 12.78 dB
    assert np.isnan(psnr[1])  # example 1 has an empty mask
    error, count = vm.masked_squared_error(prediction, target, mask)
    np.testing.assert_allclose(np.asarray(error), [4 * mse, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(count), [4, 0])
    # Foreground error: over the target's shape only; all -1 against a +1 shape is 4 (0 dB).
    shape = _shape(0, 4)
    fg = vm.foreground_mse(-np.ones_like(shape), shape)
    assert float(fg[0]) == 4.0 and float(vm.psnr_of_mse(fg)[0]) == 0.0
    assert np.isnan(float(vm.foreground_mse(shape, -np.ones_like(shape))[0]))


def test_structure_contrast_is_the_difference_of_the_means():
    volume = np.full((1, 4, 4, 4, 1), -0.2, np.float32)
    structure = np.zeros((1, 4, 4, 4, 1), bool)
    structure[0, 0, 0, :2] = True
    volume[0, 0, 0, :2, 0] = (0.6, 0.8)
    reference = ~structure
    assert float(vm.structure_contrast(volume, structure, reference)[0]) == pytest.approx(0.9)
    assert float(vm.structure_contrast(np.full_like(volume, -1.0), structure, reference)[0]) == 0
    assert np.isnan(float(vm.structure_contrast(volume, np.zeros_like(structure),
                                                reference)[0]))


def test_a_3d_config_gets_the_volumes_setting_and_2d_configs_do_not():
    from configs import adrenal3d, brain3d, test, test3d
    for config in (adrenal3d, brain3d, test3d):
        assert settings.for_config(config.get_config()).name == 'volumes'
    assert settings.for_config(test.get_config()).name == 'plain'


CUBE = groups.get_group('cube')


def _exact(params, x, g):
    del params
    return CUBE.act(g, x)


def _copy(params, x, g):
    del params, g
    return x


def test_shape_metrics_of_a_perfect_predictor_and_of_copying_the_input():
    # Three binary 8^3 shapes in [-1, 1] (boxes off the centre, so rotations move them).
    images = -np.ones((3, 8, 8, 8, 1), np.float32)
    images[0, :3, :5, 1:4] = images[1, 2:7, :2, :] = images[2, 5:, 4:, 6:] = 1.0
    exact = volume_eval.shape_metrics(_exact, None, CUBE, images, batch_size=4)
    assert exact['num_pairs'] == 3 * 24 and exact['kind'] == 'binary_shape'
    assert exact['dice'] == {'model': 1.0, 'all_background': 0.0}
    assert exact['iou'] == {'model': 1.0, 'all_background': 0.0}
    assert exact['foreground_mse'] == {'model': 0.0, 'all_background': 4.0}
    # A perfect prediction has no finite PSNR; background everywhere is 0 dB on a +1 shape.
    assert exact['foreground_psnr_db'] == {'model': None, 'all_background': 0.0}
    assert exact['foreground_fraction'] == pytest.approx(np.mean(images > 0), abs=1e-6)
    copied = volume_eval.shape_metrics(_copy, None, CUBE, images, batch_size=4)
    elements = CUBE.eval_elements()
    expected = np.mean([np.asarray(vm.dice(images, CUBE.act(np.repeat(elements[i:i + 1], 3),
                                                            images))) for i in range(24)])
    assert copied['dice']['model'] == pytest.approx(float(expected), abs=1e-6)
    assert 0.0 < copied['dice']['model'] < 1.0


def test_structure_metrics_of_a_perfect_predictor_and_of_the_background_guess():
    from configs import test3d
    data = test3d.get_config().data
    volumes, _ = phantom.phantom_split('test', 3, 16, data.phantom.seed)
    images = (volumes * 2.0 - 1.0)[..., None]
    regions = volume_eval._phantom_regions(data, images)
    out = volume_eval.structure_metrics(_exact, None, CUBE, images, regions, batch_size=4)
    assert out['kind'] == 'structures' and out['num_pairs'] == 3 * 24
    # Known answers: a cube rotation permutes the voxels of a volume and of its label map
    # alike, so every element scores what the upright volume scores (numpy alone here).
    head = regions['head'][..., None]
    background_psnr = np.mean([10 * np.log10(4 / np.mean((images[i][head[i]] + 1) ** 2))
                               for i in range(3)])
    assert out['head_psnr_db']['all_background'] == pytest.approx(background_psnr, abs=1e-4)
    assert out['head_psnr_db']['model'] is None and out['head_mse']['model'] == 0.0
    for s in ('ventricles', 'lesions'):
        has = [i for i in range(3) if regions[s][i].any()]
        true = np.mean([images[i][regions[s][i]].mean() - images[i][regions['tissue'][i]].mean()
                        for i in has])
        contrast = out[f'{s}_contrast']
        assert contrast['true'] == pytest.approx(true, abs=1e-5)
        assert contrast['model'] == pytest.approx(true, abs=1e-5)
        assert contrast['all_background'] == 0.0
        assert out[f'{s}_contrast_abs_error']['model'] == pytest.approx(0.0, abs=1e-6)
        assert out[f'{s}_contrast_abs_error']['all_background'] == pytest.approx(
            np.mean([abs(images[i][regions[s][i]].mean()
                         - images[i][regions['tissue'][i]].mean()) for i in has]), abs=1e-5)
        assert out[f'num_pairs_with_{s}'] == 24 * len(has)
    assert out['ventricles_contrast']['true'] < -0.3  # dark ventricles in brighter tissue
    with pytest.raises(ValueError, match='differ from the test volumes'):
        volume_eval._phantom_regions(data, images[::-1].copy())


def test_phantom_label_maps_leave_the_phantoms_bit_identical_and_label_their_anatomy():
    volumes, lesions = phantom.phantom_split('test', 12, size=24, seed=3)
    same, maps = phantom.phantom_label_maps('test', 12, size=24, seed=3)
    np.testing.assert_array_equal(same, volumes)  # the same bits, labels or not
    assert maps.shape == volumes.shape and maps.dtype == np.uint8
    label = {name: i for i, name in enumerate(phantom.STRUCTURES)}
    assert set(np.unique(maps)) <= set(label.values())
    assert maps[:, 0, 0, 0].tolist() == [0] * 12  # the corner is background
    # a lesion label where, and only where, the phantom has lesions
    np.testing.assert_array_equal((maps == label['lesions']).reshape(12, -1).any(1),
                                  lesions > 0)
    mean = {name: volumes[maps == i].mean() for name, i in label.items()}
    assert mean['ventricles'] < mean['brain'] < mean['skull']
    assert mean['lesions'] > mean['white_matter'] and mean['background'] < 0.05


def test_compare_tables_the_object_metrics_of_the_seeds_beside_the_background_guess():
    from gla import compare
    results = [{'volume_metrics': {'kind': 'binary_shape', 'num_pairs': 4,
                                   'dice': {'model': d, 'all_background': 0.0},
                                   'foreground_psnr_db': {'model': p, 'all_background': 6.0}}}
               for d, p in ((0.80, 20.0), (0.90, 22.0))]
    lines = compare.volume_metrics_lines({'learned': results})
    dice = next(line for line in lines if 'Dice' in line)
    psnr = next(line for line in lines if 'PSNR over the foreground' in line)
    # mean ± sample std over the two seeds, then the guess's, then no "in T_g x" entry
    assert dice.split(' | ')[2:] == ['0.850 ± 0.071', '0.000 ± 0.000', '— |']
    assert psnr.split(' | ')[2:4] == ['21.000 ± 1.414', '6.000 ± 0.000']
    assert lines.index(dice) < lines.index(psnr)  # the report's order: Dice first
