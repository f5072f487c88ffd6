"""The planes data: rendered views as a data source, and pairs of two views of one object.

``load_planes`` is the data source ``'planes'`` (registered in ``gla/settings/planes/
__init__.py``): objects rendered by ``render.py`` at ``config.data.planes.num_views`` yaw
angles and cached as ``.npz``; ``images`` are ``(N, num_views, H, W, 3)`` and
``Dataset.num_views`` says so. ``view_pairs`` picks the two views of a pair.
"""

from __future__ import annotations

import dataclasses
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gla import errors
from gla import pairs
from gla.data import sources
from gla.groups import base
from gla.settings.planes import render

def view_pairs(num_views: int, order: int) -> pairs.PairFn:
    """Pairs from rendered views, for groups that do not act on pixels (yaw, ``gla/groups/yaw.py``).

    ``images`` are ``(B, num_views, H, W, C)``: view ``k`` shows the object turned by
    ``k / num_views`` of a full turn. ``g`` ``(B,)`` counts steps of ``C_order``, each
    ``num_views / order`` views. The input is view ``k0`` (uniform, drawn from ``key``), the
    target view ``k0 + g * num_views / order`` (mod ``num_views``): exactly ``T_g x``.
    """
    if order < 1 or num_views % order:
        raise ValueError(f'a group of order {order} needs a multiple of {order} rendered views, '
                         f'got {num_views}: set config.data.planes.num_views to a multiple of '
                         'the group order (24 serves yaw24 and yaw4).')
    stride = num_views // order

    def make(key: jax.Array, images: jax.Array, g) -> tuple:
        if images.ndim != 5 or images.shape[1] != num_views:
            raise ValueError(f'view pairs need images (B, {num_views}, H, W, C), got '
                             f'{images.shape}')
        rows = jnp.arange(images.shape[0])
        k0 = jax.random.randint(key, (images.shape[0],), 0, num_views)
        k1 = jnp.mod(k0 + stride * jnp.asarray(g, jnp.int32), num_views)
        return images[rows, k0], images[rows, k1]

    return make


def pair_fn(config: ml_collections.ConfigDict, group: base.Group):
    """The planes setting's pairs: two views of one object, ``g`` steps apart."""
    return view_pairs(config.data.planes.num_views, base.eval_order(group))


def load_planes(config: ml_collections.ConfigDict, cache_dir: str) -> sources.Dataset:
    """The rendered planes of ``config.planes``, split by object (never a view of a test
    object in training): the first ``num_train`` objects train, then ``num_val``, then
    ``num_test``. Labels: the plane's colour class (``render.COLOURS``)."""
    p = config.planes
    directory = p.cache_dir or cache_dir
    if not directory:
        raise errors.DataError('the planes data needs a cache directory: set '
                        'config.data.planes.cache_dir (or pass the workdir).')
    sizes = (p.num_train, p.num_val, p.num_test)
    if min(sizes) <= 0:
        raise errors.DataError(f'config.data.planes.num_train/num_val/num_test = {sizes} must all '
                        'be > 0.')
    data = render.load_or_render(directory, sum(sizes), p.num_views, p.image_size, p.seed)
    images = data['images'].astype(np.float32) / 127.5 - 1.0
    bounds = np.cumsum(sizes)[:-1]
    splits = [sources.Split(i, l) for i, l in zip(np.split(images, bounds),
                                                  np.split(data['labels'], bounds))]
    return sources.Dataset(*splits,
                           description=f'planes:{sum(sizes)} objects x {p.num_views} views',
                           num_views=p.num_views)


def load_dataset(config: ml_collections.ConfigDict, cache_dir: str) -> sources.Dataset:
    """:func:`load_planes` with ``config.max_*_examples`` applied (objects, all views)."""
    dataset = load_planes(config, cache_dir)
    return dataclasses.replace(
        dataset, train=dataset.train.take(config.max_train_examples),
        val=dataset.val.take(config.max_val_examples),
        test=dataset.test.take(config.max_test_examples))
