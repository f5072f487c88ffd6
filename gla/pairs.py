"""Pairs ``(x, T_g x)``: what the network sees and what it must produce for an element g.

A pair function is pure and jittable: ``pair_fn(key, images, g) -> (inputs, targets)`` with
``images`` the clean batch ``(B, *spatial, C)`` from the data source and ``g`` a batch of group
elements. The default returns ``(images, group.act(g, images))``. Settings where part of the
scene must not move (a block drawn on both images, a fixed background) build both images
here; ``key`` supplies any per-pair randomness (unused by the default).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections

from gla import blocks
from gla.groups import base

PairFn = Callable[[jax.Array, jax.Array, Any], tuple]


def group_pairs(group: base.Group) -> PairFn:
    """``(x, T_g x)`` with the group acting on the whole image."""

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        del key
        return images, group.act(g, images)

    return make


def view_pairs(num_views: int, order: int) -> PairFn:
    """Pairs from rendered views, for groups that do not act on pixels (yaw, ``yaw.py``).

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

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        if images.ndim != 5 or images.shape[1] != num_views:
            raise ValueError(f'view pairs need images (B, {num_views}, H, W, C), got '
                             f'{images.shape}')
        rows = jnp.arange(images.shape[0])
        k0 = jax.random.randint(key, (images.shape[0],), 0, num_views)
        k1 = jnp.mod(k0 + stride * jnp.asarray(g, jnp.int32), num_views)
        return images[rows, k0], images[rows, k1]

    return make


def build_pair_fn(config: ml_collections.ConfigDict, group: base.Group) -> PairFn:
    """The pair function of a config (the whole image moves, unless a setting says not:
    ``config.blocks.enabled`` draws a block that does not move, ``blocks.py``; rendered
    planes pair two views of one object)."""
    if 'blocks' in config and config.blocks.enabled:
        return blocks.from_config(config, group)
    if config.data.source == 'planes':
        order = len(jax.tree.leaves(group.eval_elements())[0])
        return view_pairs(config.data.planes.num_views, order)
    return group_pairs(group)


def with_random_input_element(pair_fn: PairFn, group: base.Group) -> PairFn:
    """Training pairs whose input is itself moved: ``x = T_h x0`` for a random ``h`` (drawn
    from ``key``), then ``pair_fn`` makes ``(x, T_g x)``. In the paper's mode the encoder
    takes gradients only from the upright ``x0`` (the target pass is under stop-gradient);
    this shows it every orientation. Training only: validation and test pairs stay
    ``(x0, T_g x0)``."""

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        key_h, key_pair = jax.random.split(key)
        h = group.sample(key_h, images.shape[0])
        return pair_fn(key_pair, group.act(h, images), g)

    return make


def random_shift(key: jax.Array, images: jax.Array, max_shift: int) -> jax.Array:
    """Each image ``(B, *spatial, C)`` rolled by its own integer offset in
    ``[-max_shift, max_shift]`` along every spatial axis (content leaving one border comes
    back at the other: meant for small shifts of objects on a blank background)."""
    ndim = images.ndim - 2
    offsets = jax.random.randint(key, (images.shape[0], ndim), -max_shift, max_shift + 1)

    def roll_one(image, offset):
        for axis in range(ndim):
            image = jnp.roll(image, offset[axis], axis=axis)
        return image

    return jax.vmap(roll_one)(images, offsets)


def build_training_pair_fn(config: ml_collections.ConfigDict, group: base.Group) -> PairFn:
    """:func:`build_pair_fn`, with :func:`with_random_input_element` when
    ``config.pairs.random_input_element`` is set."""
    pair_fn = build_pair_fn(config, group)
    if config.get('pairs', {}).get('random_input_element', False):
        return with_random_input_element(pair_fn, group)
    return pair_fn


def training_group(config: ml_collections.ConfigDict, group: base.Group) -> base.Group:
    """The group whose ``sample`` draws the training and validation pairs: ``group`` itself,
    except for ``config.mask.kind == 'none'`` (a plain autoencoder) whose pairs are all
    identity pairs ``(x, x)``; its evaluation still applies the real group."""
    if config.mask.kind == 'none':
        return dataclasses.replace(group, sample=lambda key, n: group.identity(n))
    return group
