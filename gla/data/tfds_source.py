"""tensorflow-datasets as a data source (``config.data.source='tfds'``).

Data with ArrayRecord files is read without TensorFlow, through tfds's random-access data
source: prepared by ``tfds build NAME --file_format=array_record``, by this source with
``config.data.tfds_download=True``, or TFRecord data given ArrayRecord files by ``tfds
convert_format``. TFRecord only (tfds's default) is read with ``tf.data`` and so needs
TensorFlow; without it the error says what to install. Preparing a dataset whose builder
encodes numpy images (``mnist``, ``fashion_mnist``, ``emnist``...) needs TensorFlow too:
``pip install -e '.[tfds]'``; so does the ``tfds`` command line.

Off-line nothing is built unless the data is on disk: whether it is prepared is decided
from the file system first (building a tfds builder can go to the network, and off-line its
retries can take minutes).

``tensorflow_datasets`` is imported inside :func:`load_tfds`, so ``import gla`` stays fast.
"""

from __future__ import annotations

import importlib.util
import os

import ml_collections
import numpy as np

from gla.data import sources

DataError = sources.DataError


def data_dir_of(config: ml_collections.ConfigDict) -> str:
    """Where prepared tfds data lives: the config, ``$TFDS_DATA_DIR``, else tfds's default."""
    return (config.tfds_data_dir or os.environ.get('TFDS_DATA_DIR')
            or os.path.expanduser('~/tensorflow_datasets'))


def prepared_on_disk(data_dir: str, tfds_name: str) -> bool:
    """Whether ``data_dir`` holds a finished preparation of ``tfds_name`` (``name``,
    ``name/config``, ``name:version``): a ``dataset_info.json`` below its folder, which tfds
    writes last. File system only; an interrupted preparation does not count."""
    folder = os.path.join(data_dir, *tfds_name.split(':')[0].split('/'))
    if not os.path.isdir(folder):
        return False
    for _, _, files in os.walk(folder):
        if 'dataset_info.json' in files:
            return True
    return False


def _not_prepared(tfds_name: str, data_dir: str) -> DataError:
    return DataError(
        f'tensorflow-datasets {tfds_name!r} is not prepared in {data_dir!r} and '
        "downloading is off. Use the bundled data (config.data.source='bundled'), or on "
        'a machine with internet set config.data.tfds_download=True (or point '
        'config.data.tfds_data_dir at a prepared copy).')


def _tensorflow_missing(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a failed ``import tensorflow``."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ModuleNotFoundError) and (
                error.name == 'tensorflow' or "No module named 'tensorflow'" in str(error)):
            return True
        error = error.__cause__ or error.__context__
    return False


def _keep_tensorflow_off_the_gpus() -> None:
    """Where TensorFlow is installed, hides the GPUs from it: tfds needs it on the CPU only,
    and by default it would take the GPU memory that JAX trains in."""
    if importlib.util.find_spec('tensorflow') is None:
        return
    import tensorflow as tf
    try:
        tf.config.set_visible_devices([], 'GPU')
    except RuntimeError:  # TensorFlow has started its devices already
        pass


def _prepare(builder, config: ml_collections.ConfigDict) -> None:
    """Downloads and prepares, as ArrayRecord where ``array_record`` is installed so that
    reading it later needs no TensorFlow."""
    file_format = 'array_record' if importlib.util.find_spec('array_record') else None
    _keep_tensorflow_off_the_gpus()
    try:
        builder.download_and_prepare(file_format=file_format)
    except ImportError as e:
        if not _tensorflow_missing(e):
            raise
        raise DataError(
            f'preparing tensorflow-datasets {config.tfds_name!r} needs TensorFlow (tfds writes '
            "this dataset's images with it): pip install -e '.[tfds]' (or pip install "
            'tensorflow). Once prepared as ArrayRecord, it is read without TensorFlow.') from e


def _keys(builder, where: str) -> tuple:
    """The image and label feature names: the supervised keys, else ``image``/``label``."""
    keys = builder.info.supervised_keys
    if not (isinstance(keys, tuple) and len(keys) == 2 and all(isinstance(k, str)
                                                                 for k in keys)):
        keys = ('image', 'label')
    features = builder.info.features
    if any(k not in features for k in keys):
        raise DataError(f'{where}: has features {sorted(features.keys())}; this source needs '
                        f'an image {keys[0]!r} and an integer label {keys[1]!r}.')
    return keys


def _read_with_tensorflow(tfds, builder, split: str, keys: tuple,
                          config: ml_collections.ConfigDict, where: str) -> tuple:
    if importlib.util.find_spec('tensorflow') is None:
        file_format = getattr(builder.info.file_format, 'value', builder.info.file_format)
        folder = os.path.join(data_dir_of(config), config.tfds_name.split(':')[0].split('/')[0])
        raise DataError(
            f'{where}: prepared in {os.fspath(builder.data_dir)!r} as {file_format} files, '
            'which only TensorFlow reads, and TensorFlow is not installed: pip install '
            "-e '.[tfds]' (or pip install tensorflow). Or, once, where TensorFlow is "
            'installed, add ArrayRecord files, which read without it: tfds convert_format '
            f'--dataset_dir={folder} --out_file_format=array_record')
    _keep_tensorflow_off_the_gpus()
    data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
    return data[keys[0]], data[keys[1]]


def _read_split(tfds, builder, split: str, config: ml_collections.ConfigDict
                ) -> sources.Split:
    where = f'tfds:{config.tfds_name}[{split}]'
    keys = _keys(builder, where)
    try:
        source = builder.as_data_source(split=split)
    except NotImplementedError:  # TFRecord (tfds's default) or Riegeli: no random access
        images, labels = _read_with_tensorflow(tfds, builder, split, keys, config, where)
    except ImportError as e:
        raise DataError(f'{where}: reading ArrayRecord files needs the array_record package: '
                        f'pip install array_record ({e}).') from e
    else:
        if len(source) == 0:
            raise DataError(f'{where}: the split is empty.')
        examples = source.__getitems__(range(len(source)))
        try:
            images = np.stack([example[keys[0]] for example in examples])
        except ValueError as e:
            raise DataError(f'{where}: images of different shapes ({e}); this source needs '
                            'one image size.') from e
        labels = np.asarray([example[keys[1]] for example in examples])
    return sources.validate_split(images, labels, config.spatial_ndim, where)


def load_tfds(config: ml_collections.ConfigDict) -> tuple:
    """``(train, val, test)`` splits of ``config.tfds_name`` from tensorflow-datasets.

    Refuses at once, before building anything, when the data is not prepared in
    :func:`data_dir_of` and ``config.tfds_download`` is off. A missing validation split is
    carved from train (stratified, ``config.val_fraction``, ``config.split_seed``); a dataset
    without both train and test is split like a single file.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DataError('tensorflow-datasets is not installed: pip install '
                        'tensorflow-datasets importlib_resources, or use '
                        "config.data.source='bundled'.") from e
    data_dir = data_dir_of(config)
    if not config.tfds_download and not prepared_on_disk(data_dir, config.tfds_name):
        raise _not_prepared(config.tfds_name, data_dir)
    try:
        builder = tfds.builder(config.tfds_name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError as e:
        raise DataError(f'tensorflow-datasets has no dataset {config.tfds_name!r} (registered '
                        f'or prepared in {data_dir!r}): check config.data.tfds_name. '
                        f'({str(e).splitlines()[0]})') from e
    if not builder.is_prepared():
        if not config.tfds_download:
            raise _not_prepared(config.tfds_name, os.fspath(builder.data_dir))
        _prepare(builder, config)
    # Read what is on disk, described by its own files: a registered builder's info (mnist's)
    # misses the ArrayRecord files tfds convert_format adds beside TFRecord ones (tfds 4.9).
    builder = tfds.builder_from_directory(builder.data_dir)
    splits = {name: _read_split(tfds, builder, name, config) for name in builder.info.splits}
    if 'train' not in splits or 'test' not in splits:
        return sources._split_single(splits[sorted(splits)[0]], config)
    if 'validation' in splits:
        return splits['train'], splits['validation'], splits['test']
    train = splits['train']
    keep, val = sources.stratified_split(
        train.labels, (1 - config.val_fraction, config.val_fraction), config.split_seed)
    return (sources.Split(train.images[keep], train.labels[keep]),
            sources.Split(train.images[val], train.labels[val]), splits['test'])
