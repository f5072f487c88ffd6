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


def build_pair_fn(config: ml_collections.ConfigDict, group: base.Group) -> PairFn:
    """The pair function of a config (the whole image moves, unless a setting says not:
    ``config.blocks.enabled`` draws a block that does not move, ``blocks.py``)."""
    if 'blocks' in config and config.blocks.enabled:
        return blocks.from_config(config, group)
    return group_pairs(group)


def training_group(config: ml_collections.ConfigDict, group: base.Group) -> base.Group:
    """The group whose ``sample`` draws the training and validation pairs: ``group`` itself,
    except for ``config.mask.kind == 'none'`` (a plain autoencoder) whose pairs are all
    identity pairs ``(x, x)``; its evaluation still applies the real group."""
    if config.mask.kind == 'none':
        return dataclasses.replace(group, sample=lambda key, n: group.identity(n))
    return group
