"""Data sources: the bundled split, user .npz files, tfds off-line, and bad data."""

import os

import ml_collections
import numpy as np
import pytest

from configs import rotated_mnist
from gla.data import sources


def data_config(**overrides) -> ml_collections.ConfigDict:
    config = rotated_mnist.get_config().data
    for k, v in overrides.items():
        setattr(config, k, v)
    return config


@pytest.fixture(scope='module')
def bundled():
    return sources.load_dataset(data_config())


def test_bundled_split_is_6000_1000_1000_stratified_and_seeded(bundled):
    ds = bundled
    assert (len(ds.train), len(ds.val), len(ds.test)) == (6000, 1000, 1000)
    assert ds.image_shape == (28, 28, 1)
    assert ds.train.images.dtype == np.float32
    assert ds.train.images.min() == -1.0 and ds.train.images.max() == 1.0
    full = np.bincount(np.concatenate([ds.train.labels, ds.val.labels, ds.test.labels]))
    for split, n in ((ds.train, 6000), (ds.val, 1000), (ds.test, 1000)):
        counts = np.bincount(split.labels, minlength=10)
        np.testing.assert_allclose(counts, full * n / 8000, atol=1.0)
    again = sources.load_dataset(data_config())
    np.testing.assert_array_equal(again.test.images, ds.test.images)
    other = sources.load_dataset(data_config(split_seed=1))
    assert not np.array_equal(other.test.labels, ds.test.labels)


def test_bundled_splits_are_disjoint_and_together_are_the_file(bundled):
    # The bundled file holds 8,000 distinct digits (no duplicate images), so disjoint splits
    # show as exactly 8,000 distinct images: every digit of the file once, with its label.
    with np.load(os.path.join(sources.ASSETS_DIR, 'mnist_8k.npz')) as f:
        images, labels = f['images'], f['labels']
    assert images.shape == (8000, 28, 28) and images.dtype == np.uint8
    label_of = {image.tobytes(): int(label) for image, label in zip(images, labels)}
    assert len(label_of) == 8000
    seen = []
    for split in (bundled.train, bundled.val, bundled.test):
        # Back from [-1, 1] to the stored uint8 pixels: x = u / 127.5 - 1.
        pixels = np.round((split.images[..., 0] + 1.0) * 127.5).astype(np.uint8)
        for image, label in zip(pixels, split.labels):
            assert label_of[image.tobytes()] == label
            seen.append(image.tobytes())
    assert len(seen) == len(set(seen)) == 8000
    # The split itself: index arrays that share no index and cover the file.
    parts = sources.stratified_split(labels, (0.75, 0.125, 0.125), seed=0)
    assert [len(p) for p in parts] == [6000, 1000, 1000]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(8000))


def _write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_npz_images_labels_layout(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (80, 16, 16), dtype=np.uint8)
    labels = np.repeat(np.arange(4), 20)
    path = _write(tmp_path / 'mine.npz', images=images, labels=labels)
    ds = sources.load_dataset(data_config(source='npz', path=path))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (60, 10, 10)
    assert ds.image_shape == (16, 16, 1)


def test_npz_medmnist_layout_keeps_its_splits(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (('train', 12), ('val', 3), ('test', 5)):
        arrays[f'{split}_images'] = rng.random((n, 8, 8, 3)).astype(np.float32)
        arrays[f'{split}_labels'] = rng.integers(0, 2, (n, 1))
    path = _write(tmp_path / 'med.npz', **arrays)
    ds = sources.load_dataset(data_config(source='npz', path=path))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (12, 3, 5)
    assert ds.image_shape == (8, 8, 3)
    np.testing.assert_allclose(ds.test.images, arrays['test_images'] * 2 - 1, rtol=1e-6)


def _bad_files(tmp_path):
    ok = np.zeros((10, 8, 8), np.uint8)
    labels = np.zeros(10, np.int64)
    nan = np.zeros((10, 8, 8), np.float32)
    nan[3, 2, 2] = np.nan
    truncated = tmp_path / 'truncated.npz'
    np.savez(truncated, images=ok, labels=labels)
    truncated.write_bytes(truncated.read_bytes()[:100])
    empty = tmp_path / 'empty.npz'
    empty.write_bytes(b'')
    text = tmp_path / 'text.npz'
    text.write_text('not an archive')
    return {
        'missing': (str(tmp_path / 'nope.npz'), 'no such file'),
        'empty': (str(empty), 'empty'),
        'truncated': (str(truncated), 'not a readable .npz'),
        'not_npz': (str(text), 'not a readable .npz'),
        'wrong_keys': (_write(tmp_path / 'keys.npz', x=ok, y=labels), 'expected "images"'),
        'wrong_rank': (_write(tmp_path / 'rank.npz', images=np.zeros((10, 8)), labels=labels),
                       'expected \\(N, 2 spatial'),
        'non_finite': (_write(tmp_path / 'nan.npz', images=nan, labels=labels), 'NaN'),
        'label_mismatch': (_write(tmp_path / 'lab.npz', images=ok, labels=labels[:7]),
                           'labels have shape \\(7,\\) but there are 10 images'),
        'bad_range': (_write(tmp_path / 'range.npz', images=ok.astype(np.float32) + 5,
                             labels=labels), 'Rescale'),
        'bad_dtype': (_write(tmp_path / 'dtype.npz', images=ok.astype(np.int64), labels=labels),
                      'dtype int64'),
    }


@pytest.mark.parametrize('case', ['missing', 'empty', 'truncated', 'not_npz', 'wrong_keys',
                                  'wrong_rank', 'non_finite', 'label_mismatch', 'bad_range',
                                  'bad_dtype'])
def test_bad_npz_gets_a_clear_error_naming_the_file(tmp_path, case):
    path, message = _bad_files(tmp_path)[case]
    with pytest.raises(sources.DataError, match=message) as info:
        sources.load_dataset(data_config(source='npz', path=path))
    assert os.path.basename(path) in str(info.value)


def test_unknown_source_names_the_choices():
    with pytest.raises(sources.DataError, match="must be one of \\['bundled', 'npz', 'phantom', 'planes', 'tfds'"):
        sources.load_dataset(data_config(source='mnist'))


def test_tfds_offline_fails_fast_and_names_the_bundled_data(tmp_path, monkeypatch):
    tfds = pytest.importorskip('tensorflow_datasets')

    def no_builder(*args, **kwargs):
        raise AssertionError('tfds.builder was called: off-line it may retry for minutes')

    monkeypatch.setattr(tfds, 'builder', no_builder)
    with pytest.raises(sources.DataError, match="source='bundled'"):
        sources.load_dataset(data_config(source='tfds', tfds_data_dir=str(tmp_path)))
