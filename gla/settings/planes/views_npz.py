"""Multi-view images a user rendered: the ``.npz`` the planes setting reads instead of rendering.

Selected by ``config.data.planes.path`` (``''``: render with ``render.py``). The file holds

    views        (N, V, H, W, C)  uint8 0..255, or float in [0, 1] or in [-1, 1]
    yaws         (V,) or (N, V)   degrees; view k of object n at yaws[n, 0] + 360 k / V
    labels       (N,)             optional, integers >= 0 (default 0: the probe is then trivial)
    sky          (N, H, W, C)     optional, the background without the object, same scale as views
    silhouettes  (N, V, H, W)     optional, bool (or 0 / 1): True on the object's pixels

The yaw convention is the renderer's: counter-clockwise seen from above, the camera and the
background fixed. Views are ordered by yaw in equal steps of ``360 / V`` degrees; the first
view's angle is free per object (``render.py`` draws it at random too). ``V`` must equal
``config.data.planes.num_views`` (a multiple of the group's order, a config check), so view
``k + g * V / order`` is exactly ``T_g`` of view ``k`` and the pairs are built as for rendered
data (``data.view_pairs``). Float views are read as [0, 1] when they all lie there, else as
[-1, 1] (the rule of ``gla.data.sources``); ``sky`` is scaled by the rule of the views.

Silhouettes (for the silhouette PSNR and the background swap) are the file's ``silhouettes``;
without them, the pixels that differ from ``sky`` by more than half a uint8 step
(``synthesis.sky_silhouettes``), exact for renders composited over a stored background.
Anti-aliased or noisy renders should store ``silhouettes``. With neither, the metrics that
need them are left out of ``eval.json`` (``None``), and so is the sky-only predictor without
``sky``. Every problem is a :class:`ViewsFileError` naming the array and the fix.
"""

from __future__ import annotations

import os
import zipfile
from typing import Optional

import numpy as np

from gla import errors

YAW_TOLERANCE_DEGREES = 1e-3
FORMAT = ('np.savez(path, views=(N, V, H, W, C), yaws=(V,) or (N, V) degrees[, labels=(N,), '
          'sky=(N, H, W, C), silhouettes=(N, V, H, W) bool])')


class ViewsFileError(errors.DataError):
    """The multi-view ``.npz`` of ``config.data.planes.path`` cannot be used as it is."""


def _open(path: str) -> dict:
    if not os.path.isfile(path):
        raise ViewsFileError(f'{path}: no such file. Check config.data.planes.path (or set it '
                             "to '' to render the planes).")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise ViewsFileError(f'{path}: not a readable .npz file ({type(e).__name__}: {e}); '
                             f'write it with {FORMAT}.') from e


def _check_views(views: np.ndarray, num_views: int, where: str) -> None:
    if views.ndim != 5:
        hint = (' Add the channel axis: views[..., None].' if views.ndim == 4 else '')
        raise ViewsFileError(f'{where}: views have shape {views.shape} (rank {views.ndim}); '
                             f'expected rank 5, (N, V, H, W, C).{hint}')
    if min(views.shape) == 0:
        raise ViewsFileError(f'{where}: views have shape {views.shape}: no data.')
    if views.shape[1] != num_views:
        raise ViewsFileError(f'{where}: {views.shape[1]} views per object but '
                             f'config.data.planes.num_views={num_views}; set '
                             f'--config.data.planes.num_views={views.shape[1]}.')


def _check_yaws(yaws: np.ndarray, shape: tuple, where: str) -> None:
    n, v = shape[:2]
    if yaws.shape not in ((v,), (n, v)):
        raise ViewsFileError(f'{where}: yaws have shape {yaws.shape}; expected ({v},) or '
                             f'({n}, {v}), one angle in degrees per view of views {shape}.')
    if not np.issubdtype(yaws.dtype, np.number) or not np.all(np.isfinite(yaws)):
        raise ViewsFileError(f'{where}: yaws must be finite numbers (degrees).')
    yaws = np.broadcast_to(yaws.astype(np.float64), (n, v))
    expected = 360.0 * np.arange(v) / v
    offset = np.mod(yaws - yaws[:, :1] - expected + 180.0, 360.0) - 180.0
    bad = np.argwhere(np.abs(offset) > YAW_TOLERANCE_DEGREES)
    if len(bad):
        obj, view = bad[0]
        raise ViewsFileError(
            f'{where}: object {obj} has view {view} at {yaws[obj, view]:g}°, expected '
            f'{yaws[obj, 0] + expected[view]:g}° (mod 360): the {v} views must be in increasing '
            f'yaw (counter-clockwise seen from above) in steps of {360 / v:g}°, the steps of '
            'the yaw group. Sort the views by angle (reverse them if your angles run '
            'clockwise) or render them at those angles.')


def _scale_rule(views: np.ndarray, where: str) -> str:
    """``'uint8'``, ``'unit'`` ([0, 1]) or ``'signed'`` ([-1, 1]), checking the values."""
    if views.dtype == np.uint8:
        return 'uint8'
    if not np.issubdtype(views.dtype, np.floating):
        raise ViewsFileError(f'{where}: views have dtype {views.dtype}; expected uint8 '
                             '(0..255) or float in [0, 1] or [-1, 1]. Convert them before saving.')
    if not np.all(np.isfinite(views)):
        bad = int(views.size - np.count_nonzero(np.isfinite(views)))
        raise ViewsFileError(f'{where}: {bad} view values are NaN or infinite; replace or drop '
                             'those objects.')
    lo, hi = float(views.min()), float(views.max())
    if lo >= 0.0 and hi <= 1.0:
        return 'unit'
    if lo >= -1.0 and hi <= 1.0:
        return 'signed'
    raise ViewsFileError(f'{where}: float views span [{lo:.4g}, {hi:.4g}]; expected [0, 1] or '
                         '[-1, 1] (or uint8 0..255). Rescale them before saving.')


def _scaled(array: np.ndarray, rule: str, name: str, where: str) -> np.ndarray:
    """``array`` in [-1, 1] float32 by ``rule`` (of the views), after checking it fits."""
    if rule == 'uint8':
        if array.dtype != np.uint8:
            raise ViewsFileError(f'{where}: the views are uint8 but {name} is {array.dtype}; '
                                 f'save {name} on the same scale as the views.')
        return array.astype(np.float32) / 127.5 - 1.0
    lo, hi = (0.0, 1.0) if rule == 'unit' else (-1.0, 1.0)
    if (not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array))
            or array.min() < lo or array.max() > hi):
        raise ViewsFileError(f'{where}: {name} must be finite floats in [{lo:g}, {hi:g}], the '
                             f'range of the views; save {name} on the same scale as the views.')
    array = array.astype(np.float32)
    return array * 2.0 - 1.0 if rule == 'unit' else array


def _optional(arrays: dict, name: str, shape: tuple, where: str) -> Optional[np.ndarray]:
    if name not in arrays:
        return None
    if arrays[name].shape != shape:
        raise ViewsFileError(f'{where}: {name} has shape {arrays[name].shape}; expected '
                             f'{shape} for views {arrays["views"].shape}.')
    return arrays[name]


def _labels(arrays: dict, n: int, where: str) -> np.ndarray:
    labels = _optional(arrays, 'labels', (n,), where)
    if labels is None:
        return np.zeros(n, np.int32)
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ViewsFileError(f'{where}: labels must be integers >= 0 (one class per object), '
                             f'got dtype {labels.dtype}.')
    return labels.astype(np.int32)


def _silhouettes(arrays: dict, shape: tuple, where: str) -> Optional[np.ndarray]:
    masks = _optional(arrays, 'silhouettes', shape[:4], where)
    if masks is not None and masks.dtype != bool and not np.isin(masks, (0, 1)).all():
        raise ViewsFileError(f'{where}: silhouettes must be bool (or 0 / 1), True on the '
                             "object's pixels.")
    return None if masks is None else masks.astype(bool)


def load(path: str, num_views: int, objects: slice = slice(None)) -> dict:
    """The checked arrays of the file at ``path`` (module docstring) for the objects
    ``objects``: ``{'images': float32 (n, V, H, W, C) in [-1, 1], 'labels': int32 (n,),
    'sky': float32 (n, H, W, C) or None, 'silhouettes': bool (n, V, H, W) or None,
    'first_yaws': float64 (n,) degrees of view 0, 'num_objects': N}`` (N: all objects in
    the file). Every check runs on the whole file;
    only the rows ``objects`` are converted to float."""
    arrays = _open(path)
    missing = [k for k in ('views', 'yaws') if k not in arrays]
    if missing:
        raise ViewsFileError(f'{path}: has keys {sorted(arrays)}, lacks {missing}; write it '
                             f'with {FORMAT}.')
    views = arrays['views']
    _check_views(views, num_views, path)
    _check_yaws(arrays['yaws'], views.shape, path)
    rule = _scale_rule(views, path)
    sky = _optional(arrays, 'sky', views.shape[:1] + views.shape[2:], path)
    sky = None if sky is None else _scaled(sky, rule, 'sky', path)[objects]
    silhouettes = _silhouettes(arrays, views.shape, path)
    return dict(images=_scaled(views[objects], rule, 'views', path),
                labels=_labels(arrays, len(views), path)[objects], sky=sky,
                silhouettes=None if silhouettes is None else silhouettes[objects],
                first_yaws=np.broadcast_to(arrays['yaws'], views.shape[:2])[objects, 0]
                .astype(np.float64), num_objects=len(views))
