"""3D data: the bundled AdrenalMNIST3D (splits, labels, resize at load) and the procedural
head phantom (deterministic, labelled by its lesion count)."""

import os

import numpy as np
import pytest

from configs import adrenal3d
from configs import brain3d
from gla.data import phantom
from gla.data import sources


def test_phantom_is_deterministic_and_independent_of_the_count():
    a, la = phantom.phantom_split('train', 3, size=16, seed=5)
    b, lb = phantom.phantom_split('train', 5, size=16, seed=5)
    np.testing.assert_array_equal(a, b[:3])
    np.testing.assert_array_equal(la, lb[:3])
    c, _ = phantom.phantom_split('test', 3, size=16, seed=5)
    d, _ = phantom.phantom_split('train', 3, size=16, seed=6)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1


def test_phantom_anatomy_and_lesion_labels():
    rng = np.random.default_rng(0)
    volume, lesions = phantom.head_phantom(rng, size=32)
    # background outside the head, a bright skull shell around a darker brain
    assert volume[0, 0, 0] == 0 and volume[16, 16, 0] == 0
    centre_line = volume[16, 16, :]
    assert centre_line.max() >= 0.8 and 0.05 < np.median(centre_line[centre_line > 0]) < 0.7
    # the label is the number of lesions: with lesions painted out, the same draws give
    # the same volume except where a lesion was
    volumes, labels = phantom.phantom_split('train', 200, size=16, seed=0)
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    bright = (volumes > 0.84).reshape(200, -1).sum(1)  # skull and lesions
    assert np.mean(bright[labels == 3]) > np.mean(bright[labels == 0])


def test_phantom_source_from_config():
    config = brain3d.get_config().data
    config.phantom.num_train, config.phantom.num_val, config.phantom.num_test = 6, 2, 3
    config.resolution = 16
    data = sources.load_dataset(config)
    assert data.image_shape == (16, 16, 16, 1)
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 3)
    assert data.train.images.min() >= -1 and data.train.images.max() <= 1
    config.spatial_ndim = 2
    with pytest.raises(sources.DataError, match='spatial_ndim=3'):
        sources.load_dataset(config)


ADRENAL_FILE = os.path.join(sources.ASSETS_DIR, 'adrenalmnist3d_64.npz')


@pytest.fixture(scope='module')
def adrenal64():
    """The bundled AdrenalMNIST3D at its stored 64^3, loaded (decompressed) once for the
    module: the first 4 training, 2 validation and 2 test volumes (max_*_examples)."""
    config = adrenal3d.get_config().data
    config.max_train_examples, config.max_val_examples, config.max_test_examples = 4, 2, 2
    config.resolution = 0
    return config, sources.load_dataset(config)


def test_adrenal_file_holds_the_medmnist_splits_of_binary_labels():
    # Only the label arrays are read (np.load decompresses an entry when it is indexed).
    with np.load(ADRENAL_FILE) as f:
        labels = {s: f[f'{s}_labels'] for s in sources.SPLITS}
    assert [len(labels[s]) for s in sources.SPLITS] == [1188, 98, 298]
    for s in sources.SPLITS:
        assert set(np.unique(labels[s])) == {0, 1}


def test_adrenal_bundled_keeps_medmnist_splits_and_their_order(adrenal64):
    _, data = adrenal64
    assert data.image_shape == (64, 64, 64, 1)
    assert (len(data.train), len(data.val), len(data.test)) == (4, 2, 2)  # the limits
    with np.load(ADRENAL_FILE) as f:
        labels = {s: f[f'{s}_labels'][:, 0] for s in sources.SPLITS}
    np.testing.assert_array_equal(data.train.labels, labels['train'][:4])
    np.testing.assert_array_equal(data.val.labels, labels['val'][:2])
    np.testing.assert_array_equal(data.test.labels, labels['test'][:2])
    for split in (data.train, data.val, data.test):
        assert split.images.dtype == np.float32 and split.labels.dtype == np.int32
        # Binary masks stored as uint8 0 / 255: exactly the two levels -1 and 1 after scaling.
        assert set(np.unique(split.images)) == {-1.0, 1.0}


def test_adrenal_resize_to_32_is_the_mean_of_each_2x2x2_block(adrenal64):
    config, full = adrenal64
    config = config.copy_and_resolve_references()
    config.resolution = 32
    # The resize the loader applies to the loaded splits (no second decompression).
    small = sources.finish_splits((full.train, full.val, full.test), 'adrenal', config)
    assert small.image_shape == (32, 32, 32, 1)
    assert small.description == 'adrenal@32'
    # Each output voxel averages 8 voxels of -1 or 1: k of 8 at 1 gives -1 + k / 4.
    levels = {-1.0 + k / 4 for k in range(9)}
    assert set(np.unique(small.train.images).tolist()) <= levels
    assert len(np.unique(small.train.images)) > 2  # the boundary of the organ is partial
    blocks = full.train.images[:, :, :, :, 0].reshape(4, 32, 2, 32, 2, 32, 2)
    expected = blocks.sum(axis=(2, 4, 6)) / 8
    np.testing.assert_allclose(small.train.images[..., 0], expected, atol=1e-6)
    np.testing.assert_array_equal(small.test.labels, full.test.labels)


def test_resize_general_factor_keeps_constant_volumes():
    images = np.full((2, 12, 12, 12, 1), 0.25, np.float32)
    out = sources.resize_spatial(images, 8)
    assert out.shape == (2, 8, 8, 8, 1)
    np.testing.assert_allclose(out, 0.25, atol=1e-6)
