"""Image data sources -> train / val / test splits of numpy arrays.

Every source returns a :class:`Dataset` whose splits hold ``images`` as float32
``(N, *spatial, C)`` scaled to ``[-1, 1]`` and ``labels`` as int32 ``(N,)``.

Sources (``config.data.source``):
  * ``'bundled'`` (default): data shipped inside the package, no network. ``name='mnist'``
    is 8,000 real MNIST digits, split stratified and seeded into 6,000 / 1,000 / 1,000.
  * ``'npz'``: a user's ``.npz`` at ``config.data.path``, either ``images`` + ``labels``
    (split like the bundled set) or MedMNIST's ``{train,val,test}_{images,labels}``
    (its own splits are kept). Images ``(N, *spatial)``, channels last or channels first
    (volumes ``(N, D, H, W)``, ``(N, D, H, W, C)``, ``(N, C, D, H, W)``), told apart by
    :mod:`gla.data.layout` or refused.
  * ``'tfds'``: tensorflow-datasets ``config.data.tfds_name``; off-line it fails at once
    unless the data is already prepared in ``config.data.tfds_data_dir``.
  * ``'phantom'``: procedural 3D head phantoms (:mod:`gla.data.phantom`), counts in
    ``config.data.phantom``, rendered at ``config.data.resolution``; label = lesion count.

Bundled ``name='adrenal3d'`` is the real AdrenalMNIST3D (MedMNIST, 64^3, 1188 / 98 / 298,
labels normal 0 / mass 1), its own splits kept. For every source, ``config.data.resolution
> 0`` resizes each spatial axis once at load: by block means when it divides the size
(64 -> 32), else by antialiased linear interpolation.

Settings add sources of their own with :func:`register_source` (``'planes'``: rendered
airplanes, ``gla/settings/planes/data.py``).
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Callable

import ml_collections
import numpy as np

from gla import errors
from gla import grids
from gla.data import layout

ASSETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'assets')
BUNDLED = {
    'mnist': 'mnist_8k.npz',
    'adrenal3d': 'adrenalmnist3d_64.npz',
}
SPLITS = ('train', 'val', 'test')


DataError = errors.DataError  # bad or missing data (re-exported: the data's own error)


@dataclasses.dataclass(frozen=True)
class Split:
    images: np.ndarray  # float32 (N, *spatial, C) in [-1, 1]
    labels: np.ndarray  # int32 (N,)

    def __len__(self) -> int:
        return len(self.images)

    def take(self, n: int) -> 'Split':
        return self if n <= 0 else Split(self.images[:n], self.labels[:n])


@dataclasses.dataclass(frozen=True)
class Dataset:
    train: Split
    val: Split
    test: Split
    description: str
    num_views: int = 0  # > 0: images are (N, num_views, *spatial, C), all views of an object

    @property
    def image_shape(self) -> tuple:
        """``(*spatial, C)`` of one image (of one view)."""
        return self.train.images.shape[2 if self.num_views else 1:]


def scale_to_unit_range(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 ``0..255``, float ``[0, 1]`` or float ``[-1, 1]`` -> float32 ``[-1, 1]``."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f'{where}: images have dtype {images.dtype}; expected uint8 (0..255) '
                        'or float in [0, 1] or [-1, 1]. Convert them before saving.')
    finite = np.isfinite(images)
    if not np.all(finite):
        bad = int(np.size(images) - np.count_nonzero(finite))
        which = np.flatnonzero(~finite.reshape(len(images), -1).all(axis=1))
        raise DataError(f'{where}: {bad} image values are NaN or infinite, in images '
                        f'{which[:8].tolist()}{" ..." if len(which) > 8 else ""} of '
                        f'{len(images)}; replace or drop those images.')
    lo, hi = float(images.min()), float(images.max())
    if lo >= 0.0 and hi <= 1.0:
        return (images.astype(np.float32) * 2.0 - 1.0)
    if lo >= -1.0 and hi <= 1.0:
        return images.astype(np.float32)
    raise DataError(f'{where}: float images span [{lo:.4g}, {hi:.4g}]; expected [0, 1] or '
                    '[-1, 1] (or uint8 0..255). Rescale them before saving.')


def validate_split(images: np.ndarray, labels: np.ndarray, spatial_ndim: int,
                   where: str) -> Split:
    """Checks shapes, labels and values; returns a :class:`Split` in the standard layout.

    ``images``: ``(N, *spatial)``, ``(N, *spatial, C)`` or ``(N, C, *spatial)`` with
    ``spatial_ndim`` spatial axes (volumes: ``(N, D, H, W)``, ``(N, D, H, W, C)`` or ``(N, C,
    D, H, W)``); the layout is read from the sizes (:mod:`gla.data.layout`).
    ``labels``: ``(N,)`` or ``(N, 1)`` integers.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    layout.check_rank(images, spatial_ndim, where)
    if images.shape[0] == 0 or min(images.shape[1:]) == 0:
        raise DataError(f'{where}: images have shape {images.shape}: no data. Every split '
                        'needs at least one image (volume) with every axis non-empty; fill '
                        'it or fix the file.')
    images = layout.channels_last(images, spatial_ndim, where)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f'{where}: labels have shape {labels.shape} but there are '
                        f'{len(images)} images; expected one integer label per image, (N,) '
                        'or (N, 1).')
    if not np.issubdtype(labels.dtype, np.integer):
        if not (np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))):
            raise DataError(f'{where}: labels must be whole numbers, got dtype '
                            f'{labels.dtype} with non-integer values.')
    if labels.min() < 0:
        raise DataError(f'{where}: labels must be >= 0, found {labels.min()}.')
    return Split(scale_to_unit_range(images, where), labels.astype(np.int32))


def stratified_split(labels: np.ndarray, fractions: tuple, seed: int) -> list:
    """Index arrays of a seeded split with each class in the same proportion everywhere.

    Within each class the order is a seeded permutation; element ``r`` of a class of size
    ``n`` gets the key ``(r + 0.5) / n`` and the sorted keys are cut by ``fractions``.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    keys = np.empty(len(labels))
    for c in np.unique(labels):
        members = order[labels[order] == c]
        keys[members] = (np.arange(len(members)) + 0.5) / len(members)
    ranked = order[np.argsort(keys[order], kind='stable')]
    bounds = np.round(np.cumsum(fractions) * len(labels)).astype(int)
    return np.split(ranked, bounds[:-1])


def _split_single(split: Split, config: ml_collections.ConfigDict) -> tuple:
    fractions = (1.0 - config.val_fraction - config.test_fraction, config.val_fraction,
                 config.test_fraction)
    if min(fractions) <= 0:
        raise DataError(f'config.data.val_fraction={config.val_fraction} and test_fraction='
                        f'{config.test_fraction} must be > 0 and sum to < 1.')
    parts = stratified_split(split.labels, fractions, config.split_seed)
    return tuple(Split(split.images[i], split.labels[i]) for i in parts)


def _open_npz(path: str) -> dict:
    if not path:
        raise DataError("config.data.source='npz' needs config.data.path=FILE.npz")
    if not os.path.isfile(path):
        raise DataError(f'{path}: no such file. Check config.data.path, or use '
                        "config.data.source='bundled' for the shipped data.")
    if os.path.getsize(path) == 0:
        raise DataError(f'{path}: the file is empty. Write it with numpy.savez.')
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(f'{path}: not a readable .npz file ({type(e).__name__}: {e}). It may '
                        'be truncated or another format; write it with numpy.savez('
                        'path, images=..., labels=...).') from e


def load_npz(path: str, config: ml_collections.ConfigDict) -> tuple:
    """Splits from a ``.npz``: MedMNIST layout keeps its splits, else split seeded."""
    arrays = _open_npz(path)
    ndim = config.spatial_ndim
    medmnist = [f'{s}_{k}' for s in SPLITS for k in ('images', 'labels')]
    if all(k in arrays for k in medmnist):
        # max_*_examples keep the first N of each split: cut before converting to float.
        limits = dict(zip(SPLITS, (config.max_train_examples, config.max_val_examples,
                                   config.max_test_examples)))
        return tuple(validate_split(arrays[f'{s}_images'][:limits[s] or None],
                                    arrays[f'{s}_labels'][:limits[s] or None], ndim,
                                    f'{path} [{s}]') for s in SPLITS)
    if 'images' in arrays and 'labels' in arrays:
        return _split_single(validate_split(arrays['images'], arrays['labels'], ndim, path),
                             config)
    raise DataError(f'{path}: has keys {sorted(arrays)}; expected "images" and "labels", or '
                    'the MedMNIST layout {train,val,test}_{images,labels}.')


def load_tfds(config: ml_collections.ConfigDict) -> tuple:
    """Splits from tensorflow-datasets (:mod:`gla.data.tfds_source`); refuses to download
    unless ``tfds_download``. ArrayRecord data is read without TensorFlow."""
    from gla.data import tfds_source  # imported here: it imports this module
    return tfds_source.load_tfds(config)


def load_bundled(config: ml_collections.ConfigDict) -> tuple:
    if config.name not in BUNDLED:
        raise DataError(f'no bundled data set {config.name!r}; config.data.name must be one '
                        f'of {sorted(BUNDLED)} (or use config.data.source=npz).')
    path = os.path.join(ASSETS_DIR, BUNDLED[config.name])
    if config.name == 'adrenal3d':
        return load_npz(path, config)
    arrays = _open_npz(path)
    return _split_single(validate_split(arrays['images'], arrays['labels'],
                                        config.spatial_ndim, path), config)


def load_phantom(config: ml_collections.ConfigDict) -> tuple:
    """Train / val / test head phantoms (``config.data.phantom``: ``num_train``,
    ``num_val``, ``num_test``, ``seed``) at ``config.data.resolution`` (default 32)."""
    from gla.data import phantom  # numpy only; imported here as only this source needs it
    options = config.get('phantom', None)
    if options is None:
        raise DataError("config.data.source='phantom' needs config.data.phantom with "
                        'num_train, num_val, num_test and seed (see configs/brain3d.py).')
    if config.spatial_ndim != 3:
        raise DataError(f'phantoms are volumes: set config.data.spatial_ndim=3 (now '
                        f'{config.spatial_ndim}).')
    size = config.resolution or 32
    counts = {'train': options.num_train, 'val': options.num_val, 'test': options.num_test}
    return tuple(validate_split(*phantom.phantom_split(s, counts[s], size, options.seed), 3,
                                f'phantom[{s}]') for s in SPLITS)


def resize_spatial(images: np.ndarray, size: int, chunk: int = 64) -> np.ndarray:
    """Resizes every spatial axis of ``(N, *spatial, C)`` float images to ``size``.

    Block means when ``size`` divides each axis (exact area averaging, e.g. 64^3 -> 32^3),
    else ``jax.image.resize`` (linear, antialiased). Done in chunks of ``chunk`` images to
    bound the memory of the float copies.
    """
    spatial = images.shape[1:-1]
    if all(n == size for n in spatial):
        return images
    out = []
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        if all(n % size == 0 for n in spatial):
            part = grids.block_mean(part, tuple(n // size for n in spatial))
        else:
            import jax  # only for the general case; the block mean above needs only numpy
            part = np.asarray(jax.image.resize(
                part, (len(part),) + (size,) * len(spatial) + (part.shape[-1],), 'linear'))
        out.append(part.astype(np.float32))
    return np.concatenate(out)


def _standard(load: Callable[[ml_collections.ConfigDict], tuple], describe: Callable):
    """A source from a loader of ``(train, val, test)``, finished by :func:`finish_splits`."""
    return lambda config, cache_dir: finish_splits(load(config), describe(config), config)


# config.data.source -> (config.data, cache_dir) -> Dataset
_SOURCES = {
    'bundled': _standard(load_bundled, lambda c: f'bundled:{c.name}'),
    'npz': _standard(lambda c: load_npz(c.path, c), lambda c: f'npz:{c.path}'),
    'tfds': _standard(load_tfds, lambda c: f'tfds:{c.tfds_name}'),
    'phantom': _standard(load_phantom, lambda c: 'phantom'),
}


def register_source(name: str, load: Callable[[ml_collections.ConfigDict, str], Dataset]
                    ) -> None:
    """Adds the data source ``name``: ``load(config.data, cache_dir) -> Dataset``."""
    _SOURCES[name] = load


def available_sources() -> list:
    return sorted(_SOURCES)


def load_dataset(config: ml_collections.ConfigDict, cache_dir: str = '') -> Dataset:
    """Loads ``config.data`` (see the module docstring) and applies ``max_*_examples``.

    ``cache_dir``: where generated data (``'planes'``) is cached unless the config names a
    directory; the training loop passes the workdir.
    """
    if config.source not in _SOURCES:
        raise DataError(f'unknown data source {config.source!r}; config.data.source must be '
                        f'one of {available_sources()}')
    return _SOURCES[config.source](config, cache_dir)


def finish_splits(splits: tuple, desc: str, config: ml_collections.ConfigDict) -> Dataset:
    """``max_*_examples``, ``config.resolution`` (> 0: resize every spatial axis) and the
    checks every source shares (one image shape, no empty split)."""
    limits = (config.max_train_examples, config.max_val_examples, config.max_test_examples)
    splits = tuple(s.take(n) for s, n in zip(splits, limits))
    resolution = config.resolution
    if resolution and resolution > 0:
        if resolution < 2:
            raise DataError(f'config.data.resolution={resolution} must be >= 2 (or 0 to keep '
                            'the stored size).')
        splits = tuple(Split(resize_spatial(s.images, resolution), s.labels) for s in splits)
        desc += f'@{resolution}'
    train, val, test = splits
    shapes = {s.images.shape[1:] for s in splits}
    if len(shapes) != 1:
        raise DataError(f'{desc}: splits have different image shapes {sorted(shapes)}.')
    for name, split in zip(SPLITS, splits):
        if len(split) == 0:
            raise DataError(f'{desc}: the {name} split is empty; add images, or choose the '
                            'splits in the file (MedMNIST layout {train,val,test}_{images,'
                            'labels}).')
    return Dataset(train, val, test, desc)

