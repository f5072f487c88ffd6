"""The planes data: views of objects under yaw as a data source, and pairs of two views.

``load_planes`` is the data source ``'planes'`` (registered in ``gla/settings/planes/
__init__.py``): objects rendered by ``render.py`` at ``config.data.planes.num_views`` yaw
angles and cached as ``.npz``, or the user's own views from ``config.data.planes.path``
(format and checks: ``views_npz.py``); ``images`` are ``(N, num_views, H, W, C)`` and
``Dataset.num_views`` says so. ``view_pairs`` picks the two views of a pair, the same for both
origins. ``test_scene`` gives the evaluation the test objects' skies and silhouettes.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gla import errors
from gla import pairs
from gla.data import sources
from gla.groups import base
from gla.settings.planes import render
from gla.settings.planes import synthesis
from gla.settings.planes import views_npz

def view_pairs(num_views: int, order: int) -> pairs.PairFn:
    """Pairs from rendered views, for groups that do not act on pixels (yaw, ``gla/groups/yaw.py``).

    ``images`` are ``(B, num_views, H, W, C)``: view ``k`` shows the object turned by
    ``k / num_views`` of a full turn. ``g`` ``(B,)`` counts steps of ``C_order``, each
    ``num_views / order`` views. The input is view ``k0`` (uniform, drawn from ``key``), the
    target view ``k0 + g * num_views / order`` (mod ``num_views``): exactly ``T_g x``.
    ``input_views=True`` returns ``k0`` ``(B,)`` too: with canonical views
    (:func:`canonical_view_order`) the input's heading, ``360 k0 / num_views`` degrees.
    """
    if order < 1 or num_views % order:
        raise ValueError(f'a group of order {order} needs a multiple of {order} rendered views, '
                         f'got {num_views}: set config.data.planes.num_views to a multiple of '
                         'the group order (24 serves yaw24 and yaw4).')
    stride = num_views // order

    def make(key: jax.Array, images: jax.Array, g, input_views: bool = False) -> tuple:
        if images.ndim != 5 or images.shape[1] != num_views:
            raise ValueError(f'view pairs need images (B, {num_views}, H, W, C), got '
                             f'{images.shape}')
        rows = jnp.arange(images.shape[0])
        k0 = jax.random.randint(key, (images.shape[0],), 0, num_views)
        k1 = jnp.mod(k0 + stride * jnp.asarray(g, jnp.int32), num_views)
        if input_views:
            return images[rows, k0], images[rows, k1], k0
        return images[rows, k0], images[rows, k1]

    return make


def pair_fn(config: ml_collections.ConfigDict, group: base.Group):
    """The planes setting's pairs: two views of one object, ``g`` steps apart."""
    return view_pairs(config.data.planes.num_views, base.eval_order(group))


def _split_objects(images: np.ndarray, labels: np.ndarray, sizes: tuple,
                   where: str) -> list:
    """``(train, val, test)`` splits: the first ``sizes[0]`` objects, the next ``sizes[1]``,
    then ``sizes[2]``; objects beyond their sum are not used."""
    if sum(sizes) > len(images):
        raise errors.DataError(
            f'{where}: holds {len(images)} objects but config.data.planes.num_train/num_val/'
            f'num_test = {sizes} ask for {sum(sizes)}; lower them so that their sum is at '
            f'most {len(images)} (every split needs at least one object).')
    bounds = np.cumsum(sizes)
    return [sources.Split(images[a:b], labels[a:b])
            for a, b in zip((0,) + tuple(bounds[:-1]), bounds)]


def heading_shifts(first_headings: np.ndarray, num_views: int) -> np.ndarray:
    """Views ``(N,)`` each object's order is rolled by so that view ``k`` faces ``360 k /
    num_views`` degrees to within half a step, from the heading of each object's view 0
    ``first_headings`` ``(N,)`` in degrees (views in increasing yaw, ``360 / num_views``
    apart)."""
    step = 360.0 / num_views
    return np.round(np.mod(first_headings, 360.0) / step).astype(np.int64) % num_views


def canonical_view_order(views: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """``views`` ``(N, V, ...)`` with each object's views rolled by ``shifts`` ``(N,)``
    (:func:`heading_shifts`): new view ``k`` is old view ``k - shift``, so its index is the
    object's heading. Pairs stay exact (``views[k + g]`` is still ``T_g views[k]``)."""
    order = np.mod(np.arange(views.shape[1]) - np.asarray(shifts)[:, None], views.shape[1])
    return views[np.arange(len(views))[:, None], order]


def rendered_headings(seed: int, count: int) -> np.ndarray:
    """The heading ``(count,)`` in degrees of view 0 of the first ``count`` rendered objects:
    the renderer's ``yaw0``, drawn again from its seeds (``render.object_at``)."""
    return np.degrees([render.object_at(seed, i)['yaw0'] for i in range(count)])


def _canonical(p: ml_collections.ConfigDict) -> bool:
    return p.get('canonical_views', False)  # runs from before the field: as stored


def _views_path(p: ml_collections.ConfigDict) -> str:
    return p.get('path', '')  # config.json of runs from before the field read as rendered


def load_planes(config: ml_collections.ConfigDict, cache_dir: str) -> sources.Dataset:
    """The planes of ``config.planes``, split by object (never a view of a test object in
    training): the first ``num_train`` objects train, then ``num_val``, then ``num_test``.
    Rendered by ``render.py`` (labels: the plane's colour class, ``render.COLOURS``), or read
    from the user's views at ``config.planes.path`` (``views_npz.py``)."""
    p = config.planes
    sizes = (p.num_train, p.num_val, p.num_test)
    if min(sizes) <= 0:
        raise errors.DataError(f'config.data.planes.num_train/num_val/num_test = {sizes} must all '
                        'be > 0.')
    if _views_path(p):
        data = views_npz.load(p.path, p.num_views, slice(0, sum(sizes)))
        images, where, headings = data['images'], p.path, data['first_yaws']
        description = (f'planes:{p.path}:{sum(sizes)} of {data["num_objects"]} objects x '
                       f'{p.num_views} views')
    else:
        directory = p.cache_dir or cache_dir
        if not directory:
            raise errors.DataError('the planes data needs a cache directory: set '
                                   'config.data.planes.cache_dir (or pass the workdir).')
        data = render.load_or_render(directory, sum(sizes), p.num_views, p.image_size, p.seed)
        images, where = data['images'].astype(np.float32) / 127.5 - 1.0, 'rendered planes'
        headings = rendered_headings(p.seed, sum(sizes)) if _canonical(p) else None
        description = f'planes:{sum(sizes)} objects x {p.num_views} views'
    if _canonical(p):
        images = canonical_view_order(images, heading_shifts(headings, p.num_views))
        description += ', views in heading order'
    splits = _split_objects(images, data['labels'], sizes, where)
    return sources.Dataset(*splits, description=description, num_views=p.num_views)


@dataclasses.dataclass(frozen=True)
class Scene:
    """What the evaluation knows of test objects beyond their views (``None``: unknown)."""
    skies: Optional[np.ndarray]  # (n, H, W, C) in [-1, 1]: the background alone
    silhouettes: Optional[np.ndarray]  # (n, V, H, W) bool: the object's pixels in each view
    origin: Optional[str]  # how the silhouettes were found


def test_skies(config: ml_collections.ConfigDict, num: int) -> np.ndarray:
    """Skies ``(num, H, W, 3)`` in [-1, 1] of the first ``num`` rendered test objects, drawn
    again from the renderer's seeds (``render.object_at``): no mask is stored."""
    p = config.data.planes
    first = p.num_train + p.num_val
    skies = [render.render_sky(render.object_at(p.seed, first + i), p.image_size)
             for i in range(num)]
    return np.round(np.stack(skies) * 255).astype(np.float32) / 127.5 - 1.0


def test_scene(config: ml_collections.ConfigDict, test_images: np.ndarray) -> Scene:
    """The :class:`Scene` of the test objects ``test_images`` ``(n, V, H, W, C)`` (the first
    ``n`` of the test split): rendered, the skies again from the seeds and the silhouettes as
    the pixels that differ from them (``render_planes``'s ``plane_mask``, exactly); from a
    file, its ``silhouettes`` or else the pixels that differ from its ``sky``."""
    p = config.data.planes
    if not _views_path(p):
        skies = test_skies(config, len(test_images))
        return Scene(skies, synthesis.sky_silhouettes(test_images, skies),
                     'rendered: the pixels that differ from the sky')
    first = p.num_train + p.num_val
    data = views_npz.load(p.path, p.num_views, slice(first, first + len(test_images)))
    if data['silhouettes'] is not None:
        silhouettes = data['silhouettes']
        if _canonical(p):
            silhouettes = canonical_view_order(
                silhouettes, heading_shifts(data['first_yaws'], p.num_views))
        return Scene(data['sky'], silhouettes, 'file: silhouettes')
    if data['sky'] is not None:
        return Scene(data['sky'], synthesis.sky_silhouettes(test_images, data['sky']),
                     'file: the pixels that differ from the sky')
    return Scene(None, None, None)


def load_dataset(config: ml_collections.ConfigDict, cache_dir: str) -> sources.Dataset:
    """:func:`load_planes` with ``config.max_*_examples`` applied (objects, all views)."""
    dataset = load_planes(config, cache_dir)
    return dataclasses.replace(
        dataset, train=dataset.train.take(config.max_train_examples),
        val=dataset.val.take(config.max_val_examples),
        test=dataset.test.take(config.max_test_examples))
