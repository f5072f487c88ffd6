"""The axis layout of image and volume arrays read from files: channels last, first or none.

gla works channels last, ``(N, *spatial, C)``. Files come as ``(N, *spatial)`` (one
channel), ``(N, *spatial, C)`` or ``(N, C, *spatial)``, e.g. volumes ``(N, D, H, W)``,
``(N, D, H, W, C)`` or ``(N, C, D, H, W)``. With a channel axis the layout is read from the
sizes: a channel axis has at most :data:`MAX_CHANNELS` entries (grey, RGB, RGBA), a spatial
axis more. When exactly one end axis (after ``N``, or the last) is that small, it is the
channel axis; when both or neither are, the array is refused with a message that says how
to save it unambiguously.
"""

from __future__ import annotations

import numpy as np

from gla import errors

MAX_CHANNELS = 4  # channel axes at most this long; spatial axes longer
_AXES = {2: ('H', 'W'), 3: ('D', 'H', 'W')}


def _forms(spatial_ndim: int) -> tuple:
    """``('(N, D, H, W)', '(N, D, H, W, C)', '(N, C, D, H, W)')`` for ``spatial_ndim``."""
    axes = ', '.join(_AXES.get(spatial_ndim, tuple(f'S{i}' for i in range(spatial_ndim))))
    return f'(N, {axes})', f'(N, {axes}, C)', f'(N, C, {axes})'


def check_rank(images: np.ndarray, spatial_ndim: int, where: str) -> None:
    """Raises :class:`gla.errors.DataError` unless ``images`` has ``spatial_ndim + 1`` or
    ``+ 2`` axes."""
    if images.ndim not in (spatial_ndim + 1, spatial_ndim + 2):
        none, last, first = _forms(spatial_ndim)
        raise errors.DataError(
            f'{where}: images have shape {images.shape}; expected (N, {spatial_ndim} spatial '
            f'axes) with an optional channel axis: {none}, {last} or {first}. Check '
            f'config.data.spatial_ndim (now {spatial_ndim}: 2 for images, 3 for volumes) or '
            'the file.')


def channels_last(images: np.ndarray, spatial_ndim: int, where: str) -> np.ndarray:
    """``images`` as ``(N, *spatial, C)``: a missing channel axis added (``C = 1``), a
    leading one moved last (a contiguous copy). ``where`` names the file in errors.

    Raises :class:`gla.errors.DataError` on a wrong rank or an ambiguous layout.
    """
    check_rank(images, spatial_ndim, where)
    if images.ndim == spatial_ndim + 1:
        return images[..., None]
    first, last = images.shape[1], images.shape[-1]
    first_small, last_small = first <= MAX_CHANNELS, last <= MAX_CHANNELS
    if last_small and not first_small:
        return images
    if first_small and not last_small:
        return np.ascontiguousarray(np.moveaxis(images, 1, -1))
    none, channels_at_end, channels_first = _forms(spatial_ndim)
    if first_small and last_small:
        problem = (f'both axis 1 ({first}) and the last axis ({last}) could be the channel '
                   'axis')
    else:
        problem = (f'neither axis 1 ({first}) nor the last axis ({last}) is a channel axis '
                   f'(at most {MAX_CHANNELS} entries); with config.data.spatial_ndim='
                   f'{spatial_ndim} these are not {spatial_ndim}D images with channels')
    raise errors.DataError(
        f'{where}: images have shape {images.shape}: {problem}. Save them channels last '
        f'{channels_at_end} or channels first {channels_first} with spatial axes longer than '
        f'{MAX_CHANNELS} and at most {MAX_CHANNELS} channels, or one channel as {none} '
        '(e.g. images[..., 0]); check config.data.spatial_ndim.')
