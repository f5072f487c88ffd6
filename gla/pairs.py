"""Pairs ``(x, T_g x)``: what the network sees and what it must produce for an element g.

A pair function is pure and jittable: ``pair_fn(key, images, g) -> (inputs, targets)`` with
``images`` the clean batch ``(B, *spatial, C)`` from the data source and ``g`` a batch of group
elements. The default returns ``(images, group.act(g, images))``. Settings where part of the
scene must not move (a block drawn on both images, a fixed background) build both images
here; ``key`` supplies any per-pair randomness (unused by the default). Which pair function a
run uses is its setting's choice (:func:`gla.settings.pair_fn`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections

from gla.groups import base

PairFn = Callable[[jax.Array, jax.Array, Any], tuple]


def group_pairs(group: base.Group) -> PairFn:
    """``(x, T_g x)`` with the group acting on the whole image."""

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        del key
        return images, group.act(g, images)

    return make


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


def training_group(config: ml_collections.ConfigDict, group: base.Group) -> base.Group:
    """The group whose ``sample`` draws the training and validation pairs: ``group`` itself,
    except for ``config.mask.kind == 'none'`` (a plain autoencoder) whose pairs are all
    identity pairs ``(x, x)``; its evaluation still applies the real group."""
    if config.mask.kind == 'none':
        return dataclasses.replace(group, sample=lambda key, n: group.identity(n))
    return group
