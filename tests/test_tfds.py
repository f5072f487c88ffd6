"""tensorflow-datasets for real: tfds builders prepare the first 400 bundled digits into a
temporary ``data_dir`` and ``config.data.source='tfds'`` reads them back through
``sources.load_dataset``, as a user's ``mnist`` is read. No network, no mocks.

ArrayRecord data is read without TensorFlow; TFRecord data needs it (read where it is
installed, else refused with a message that names what to install). The builders encode
their digits as PNG with Pillow, as tfds needs TensorFlow to encode numpy images.
"""

import importlib.util
import json
import os
import shutil
import struct
import sys
import time

import numpy as np
import PIL.Image
import pytest

tfds = pytest.importorskip('tensorflow_datasets')

from configs import test as test_config  # noqa: E402
from gla.data import sources  # noqa: E402

NUM_TRAIN, NUM_TEST = 320, 80  # the first 400 bundled digits
HAS_TENSORFLOW = importlib.util.find_spec('tensorflow') is not None
needs_array_record = pytest.mark.skipif(
    importlib.util.find_spec('array_record') is None,
    reason='array_record is not installed (tensorflow-datasets installs it on Linux only)')


def bundled_digits() -> tuple:
    with np.load(os.path.join(sources.ASSETS_DIR, sources.BUNDLED['mnist'])) as f:
        n = NUM_TRAIN + NUM_TEST
        return f['images'][:n], f['labels'][:n]


class BundledDigits(tfds.core.GeneratorBasedBuilder):
    """Digits 0..319 as ``train``, 320..399 as ``test``; no validation split."""

    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                'image': tfds.features.Image(shape=(28, 28, 1)),
                'label': tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=('image', 'label'))

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples(0, NUM_TRAIN),
                'test': self._generate_examples(NUM_TRAIN, NUM_TRAIN + NUM_TEST)}

    def _generate_examples(self, start, stop):
        images, labels = bundled_digits()
        for i in range(start, stop):
            yield i, {'image': PIL.Image.fromarray(images[i]), 'label': int(labels[i])}


class BundledDigitsWithValidation(BundledDigits):
    """Its own validation split: train 0..239, validation 240..319, test 320..399."""

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples(0, 240),
                'validation': self._generate_examples(240, NUM_TRAIN),
                'test': self._generate_examples(NUM_TRAIN, NUM_TRAIN + NUM_TEST)}


class BundledDigitsArrays(BundledDigits):
    """Yields numpy images, as tfds's own ``mnist`` does: tfds encodes them with TensorFlow."""

    def _generate_examples(self, start, stop):
        images, labels = bundled_digits()
        for i in range(start, stop):
            yield i, {'image': images[i][..., None], 'label': int(labels[i])}


@pytest.fixture(scope='module')
def prepared(tmp_path_factory) -> str:
    """A data_dir with ``bundled_digits`` and ``bundled_digits_with_validation`` prepared as
    ArrayRecord by the real builders."""
    data_dir = str(tmp_path_factory.mktemp('tensorflow_datasets'))
    for builder in (BundledDigits, BundledDigitsWithValidation):
        builder(data_dir=data_dir).download_and_prepare(file_format='array_record')
    return data_dir


def tfds_config(data_dir: str, name: str = 'bundled_digits', whole: bool = True,
                **overrides):
    """``configs/test.py``'s data config reading ``name`` from ``data_dir`` (``whole``:
    without its max_*_examples, so that the splits are compared whole)."""
    data = test_config.get_config().data
    data.source, data.tfds_name, data.tfds_data_dir = 'tfds', name, data_dir
    if whole:
        data.max_train_examples = data.max_val_examples = data.max_test_examples = 0
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def indices_of(split: sources.Split) -> np.ndarray:
    """Which written digit each image of ``split`` is; checks that its pixels are that
    digit's scaled to [-1, 1] exactly and that its label is that digit's."""
    images, labels = bundled_digits()
    index = {image.tobytes(): i for i, image in enumerate(images)}
    assert len(index) == len(images)  # the digits are distinct images
    pixels = np.round((split.images[..., 0] + 1.0) * 127.5).astype(np.uint8)
    found = np.array([index[p.tobytes()] for p in pixels])
    expected = images[found][..., None].astype(np.float32) / 127.5 - 1.0
    np.testing.assert_array_equal(split.images, expected)
    np.testing.assert_array_equal(split.labels, labels[found])
    return found


def assert_validation_carved_from_train(ds: sources.Dataset, val_fraction: float) -> None:
    train, val, test = indices_of(ds.train), indices_of(ds.val), indices_of(ds.test)
    assert (len(train), len(val), len(test)) == (NUM_TRAIN * (1 - val_fraction),
                                                 NUM_TRAIN * val_fraction, NUM_TEST)
    assert sorted(np.concatenate([train, val])) == list(range(NUM_TRAIN))
    assert sorted(test) == list(range(NUM_TRAIN, NUM_TRAIN + NUM_TEST))


@needs_array_record
def test_digits_prepared_as_array_record_load_through_the_tfds_source_without_tensorflow(
        prepared):
    tensorflow_before = 'tensorflow' in sys.modules
    config = tfds_config(prepared)
    ds = sources.load_dataset(config)
    assert ds.description == 'tfds:bundled_digits'
    assert ds.image_shape == (28, 28, 1) and ds.train.images.dtype == np.float32
    assert_validation_carved_from_train(ds, config.val_fraction)  # 280 / 40 / 80
    assert ('tensorflow' in sys.modules) == tensorflow_before  # read without TensorFlow

    # A versioned name and configs/test.py's own limits (256 / 64 / 64): the same splits,
    # cut to their first N.
    limited = sources.load_dataset(tfds_config(prepared, 'bundled_digits:1.0.0',
                                               whole=False))
    defaults = test_config.get_config().data
    limits = (defaults.max_train_examples, defaults.max_val_examples,
              defaults.max_test_examples)
    assert limits == (256, 64, 64)
    for part, whole, n in zip((limited.train, limited.val, limited.test),
                              (ds.train, ds.val, ds.test), limits):
        np.testing.assert_array_equal(part.images, whole.images[:n])
        np.testing.assert_array_equal(part.labels, whole.labels[:n])


@needs_array_record
def test_a_dataset_with_its_own_validation_split_keeps_it(prepared):
    ds = sources.load_dataset(tfds_config(prepared, 'bundled_digits_with_validation'))
    assert sorted(indices_of(ds.train)) == list(range(240))
    assert sorted(indices_of(ds.val)) == list(range(240, NUM_TRAIN))
    assert sorted(indices_of(ds.test)) == list(range(NUM_TRAIN, NUM_TRAIN + NUM_TEST))


@needs_array_record
def test_with_tfds_download_the_source_prepares_array_record_and_reads_it(tmp_path):
    config = tfds_config(str(tmp_path), tfds_download=True)
    ds = sources.load_dataset(config)
    assert_validation_carved_from_train(ds, config.val_fraction)
    files = os.listdir(tmp_path / 'bundled_digits' / '1.0.0')
    assert 'bundled_digits-train.array_record-00000-of-00001' in files


def test_preparing_a_builder_of_numpy_images_needs_tensorflow_and_says_what_to_install(
        tmp_path):
    config = tfds_config(str(tmp_path), 'bundled_digits_arrays', tfds_download=True)
    if HAS_TENSORFLOW:
        assert_validation_carved_from_train(sources.load_dataset(config), config.val_fraction)
        return
    with pytest.raises(sources.DataError, match=r"needs TensorFlow.*pip install -e '\.\[tfds\]'"):
        sources.load_dataset(config)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), bit by bit: the records here are a few hundred bytes."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C rotated right by 15 bits, plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def copy_as_tfrecord(data_dir: str, out_dir: str, keep_array_record: bool = False) -> None:
    """Rewrites the prepared ``bundled_digits`` as TFRecord (tfds's default format): the same
    serialized examples, framed as TFRecord, and the dataset info saying so.
    ``keep_array_record``: the ArrayRecord files stay beside them, listed as an alternative
    format, as ``tfds convert_format --out_file_format=array_record`` leaves TFRecord data."""
    assert crc32c(b'123456789') == 0xE3069283  # CRC-32C's check value
    source_dir = os.path.join(data_dir, 'bundled_digits', '1.0.0')
    target_dir = os.path.join(out_dir, 'bundled_digits', '1.0.0')
    os.makedirs(target_dir)
    with open(os.path.join(source_dir, 'dataset_info.json')) as f:
        info = json.load(f)
    for split in info['splits']:
        records = tfds.data_source('bundled_digits', split=split['name'], data_dir=data_dir,
                                   deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
        name = f'bundled_digits-{split["name"]}.tfrecord-00000-of-00001'
        with open(os.path.join(target_dir, name), 'wb') as f:
            for i in range(len(records)):
                record = records[i]
                length = struct.pack('<Q', len(record))
                f.write(length + struct.pack('<I', masked_crc32c(length)) + record
                        + struct.pack('<I', masked_crc32c(record)))
        if keep_array_record:
            shutil.copy(os.path.join(source_dir, name.replace('.tfrecord-', '.array_record-')),
                        target_dir)
    info['fileFormat'] = 'tfrecord'
    if keep_array_record:
        info['alternativeFileFormats'] = ['array_record']
    with open(os.path.join(target_dir, 'dataset_info.json'), 'w') as f:
        json.dump(info, f)
    shutil.copy(os.path.join(source_dir, 'features.json'), target_dir)


@needs_array_record
def test_tfrecord_data_is_read_with_tensorflow_or_refused_naming_pip_install_tensorflow(
        prepared, tmp_path):
    copy_as_tfrecord(prepared, str(tmp_path))
    config = tfds_config(str(tmp_path))
    if HAS_TENSORFLOW:
        assert_validation_carved_from_train(sources.load_dataset(config), config.val_fraction)
        return
    with pytest.raises(sources.DataError, match='tfrecord files, which only TensorFlow reads'
                       ) as info:
        sources.load_dataset(config)
    assert 'pip install tensorflow' in str(info.value)
    assert f'tfds convert_format --dataset_dir={tmp_path}/bundled_digits' in str(info.value)


@needs_array_record
def test_tfrecord_data_given_array_record_files_by_convert_format_reads_without_tensorflow(
        prepared, tmp_path):
    tensorflow_before = 'tensorflow' in sys.modules
    copy_as_tfrecord(prepared, str(tmp_path), keep_array_record=True)
    config = tfds_config(str(tmp_path))
    assert_validation_carved_from_train(sources.load_dataset(config), config.val_fraction)
    assert ('tensorflow' in sys.modules) == tensorflow_before


def test_an_unprepared_name_is_refused_within_a_second_naming_tfds_download(tmp_path):
    # An interrupted preparation leaves a folder without dataset_info.json: not prepared.
    os.makedirs(tmp_path / 'bundled_digits' / '1.0.0')
    for name in ('mnist', 'emnist/balanced', 'fashion_mnist:3.0.1', 'bundled_digits'):
        config = tfds_config(str(tmp_path), name)
        start = time.perf_counter()
        with pytest.raises(sources.DataError, match='tfds_download') as info:
            sources.load_dataset(config)
        assert time.perf_counter() - start < 1.0
        assert "source='bundled'" in str(info.value) and str(tmp_path) in str(info.value)
