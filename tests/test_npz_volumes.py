"""A user's own volumes from an ``.npz`` (config.data.source='npz', spatial_ndim=3): both
layouts with and without a channel axis, the resize to config.data.resolution, and a clear
error for each bad input."""

import numpy as np
import pytest

from configs import test3d
from gla import errors
from gla.data import layout
from gla.data import sources


def _config(path, resolution=0):
    data = test3d.get_config().data
    data.source, data.path, data.resolution = 'npz', str(path), resolution
    data.max_train_examples = data.max_val_examples = data.max_test_examples = 0
    return data


def _medmnist(rng, shape, channels_first=False):
    """MedMNIST-layout arrays of volumes ``(n, *shape)`` for splits of 6 / 2 / 3, and the
    same volumes channels last."""
    arrays, last = {}, {}
    for split, n in (('train', 6), ('val', 2), ('test', 3)):
        volumes = rng.integers(0, 256, (n,) + shape, dtype=np.uint8)
        last[split] = volumes if len(shape) == 4 else volumes[..., None]
        arrays[f'{split}_images'] = (np.moveaxis(volumes, -1, 1) if channels_first
                                     else volumes)
        arrays[f'{split}_labels'] = rng.integers(0, 2, (n, 1))
    return arrays, last


@pytest.mark.parametrize('shape, channels_first', [
    ((8, 12, 16), False),  # (N, D, H, W): one channel
    ((8, 12, 16, 1), False),  # (N, D, H, W, 1)
    ((8, 12, 16, 3), False),  # (N, D, H, W, 3)
    ((8, 12, 16, 1), True),  # (N, 1, D, H, W)
    ((8, 12, 16, 2), True),  # (N, 2, D, H, W)
])
def test_volumes_load_channels_last_whatever_the_layout_in_the_file(tmp_path, shape,
                                                                    channels_first):
    arrays, last = _medmnist(np.random.default_rng(0), shape, channels_first)
    np.savez(tmp_path / 'vol.npz', **arrays)
    data = sources.load_dataset(_config(tmp_path / 'vol.npz'))
    channels = shape[3] if len(shape) == 4 else 1
    assert data.image_shape == (8, 12, 16, channels)
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 3)
    np.testing.assert_allclose(data.test.images, last['test'] / 127.5 - 1.0, atol=1e-6)


def test_volumes_are_resized_to_the_configured_resolution(tmp_path):
    rng = np.random.default_rng(1)
    arrays, last = _medmnist(rng, (16, 8, 16, 1), channels_first=True)
    np.savez(tmp_path / 'vol.npz', **arrays)
    data = sources.load_dataset(_config(tmp_path / 'vol.npz', resolution=8))
    assert data.image_shape == (8, 8, 8, 1) and data.description.endswith('@8')
    # 8 divides every axis: each output voxel is the mean of its 2 x 1 x 2 block.
    scaled = last['train'].astype(np.float32) / 127.5 - 1.0
    blocks = scaled[..., 0].reshape(6, 8, 2, 8, 1, 8, 2).mean(axis=(2, 4, 6))
    np.testing.assert_allclose(data.train.images[..., 0], blocks, atol=1e-5)
    # A size that does not divide (16 -> 12): linear resampling, constants stay constant.
    flat = {k: (np.full_like(v, 200) if k.endswith('images') else v) for k, v in arrays.items()}
    np.savez(tmp_path / 'flat.npz', **flat)
    data = sources.load_dataset(_config(tmp_path / 'flat.npz', resolution=12))
    assert data.image_shape == (12, 12, 12, 1)
    np.testing.assert_allclose(data.test.images, 200 / 127.5 - 1.0, atol=1e-5)


def test_images_and_labels_layout_of_volumes_is_split_like_2d_data(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.random((40, 1, 8, 8, 8)).astype(np.float32)  # floats in [0, 1], channels first
    np.savez(tmp_path / 'one.npz', images=images, labels=np.repeat(np.arange(2), 20))
    config = _config(tmp_path / 'one.npz')
    config.val_fraction = config.test_fraction = 0.125
    data = sources.load_dataset(config)
    assert (len(data.train), len(data.val), len(data.test)) == (30, 5, 5)
    assert data.image_shape == (8, 8, 8, 1)


def _bad_arrays(case):
    """``(arrays of a bad .npz, what its error must say)``."""
    ok, labels = np.zeros((6, 8, 8, 8), np.uint8), np.zeros(6, np.int64)
    non_finite = np.zeros((6, 8, 8, 8, 1), np.float32)
    non_finite[4, 1, 2, 3] = np.nan if case == 'nan' else np.inf
    medmnist = {f'{s}_{k}': v for s in sources.SPLITS
                for k, v in (('images', ok), ('labels', labels))}
    medmnist['val_images'], medmnist['val_labels'] = ok[:0], labels[:0]
    images, message = {
        'wrong_rank': (np.zeros((6, 8, 8), np.uint8), r'expected \(N, 3 spatial axes\).*'
                       r'\(N, D, H, W\), \(N, D, H, W, C\) or \(N, C, D, H, W\)'),
        'too_many_axes': (np.zeros((6, 1, 8, 8, 8, 1), np.uint8), r'spatial_ndim \(now 3'),
        'nan': (non_finite, r'1 image values are NaN or infinite, in images \[4\]'),
        'inf': (non_finite, r'1 image values are NaN or infinite, in images \[4\]'),
        # (N, 3, 8, 8, 3): channels first or last?
        'ambiguous': (np.zeros((6, 3, 8, 8, 3), np.uint8),
                      r'both axis 1 \(3\) and the last axis \(3\) could be the channel axis'),
        # both ends long: 4D data, or more than 4 channels
        'no_channel_axis': (np.zeros((6, 8, 8, 8, 8), np.uint8),
                            r'neither axis 1 \(8\) nor the last axis \(8\) is a channel axis'),
        'empty_split': (None, r'\[val\]: images have shape \(0, 8, 8, 8\): no data'),
    }[case]
    return (medmnist if images is None else dict(images=images, labels=labels)), message


@pytest.mark.parametrize('case', ['wrong_rank', 'too_many_axes', 'nan', 'inf', 'ambiguous',
                                  'no_channel_axis', 'empty_split'])
def test_bad_volumes_get_a_clear_error_naming_the_file_the_problem_and_the_fix(tmp_path, case):
    arrays, message = _bad_arrays(case)
    path = tmp_path / f'{case}.npz'
    np.savez(path, **arrays)
    with pytest.raises(errors.UserError, match=message) as info:
        sources.load_dataset(_config(path))
    assert isinstance(info.value, sources.DataError) and path.name in str(info.value)
    assert any(fix in str(info.value) for fix in ('Save them', 'Check config.data', 'replace '
                                                  'or drop', 'fill it'))


def test_layout_keeps_2d_images_channels_last_and_moves_channels_first():
    rgb = np.zeros((2, 32, 32, 3))
    assert layout.channels_last(rgb, 2, 'x').shape == (2, 32, 32, 3)
    assert layout.channels_last(np.zeros((2, 3, 32, 32)), 2, 'x').shape == (2, 32, 32, 3)
    assert layout.channels_last(np.zeros((2, 28, 28)), 2, 'x').shape == (2, 28, 28, 1)
