"""Pairs ``(x, T_g x)``: what the network sees and what it must produce for an element g.

A pair function is pure and jittable: ``pair_fn(key, images, g) -> (inputs, targets)`` with
``images`` the clean batch ``(B, *spatial, C)`` from the data source and ``g`` a batch of group
elements. The default returns ``(images, group.act(g, images))``. Settings where part of the
scene must not move (a block drawn on both images, a fixed background) build both images
here; ``key`` supplies any per-pair randomness (unused by the default).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import ml_collections

from gla.groups import base

PairFn = Callable[[jax.Array, jax.Array, Any], tuple]


def group_pairs(group: base.Group) -> PairFn:
    """``(x, T_g x)`` with the group acting on the whole image."""

    def make(key: jax.Array, images: jax.Array, g: Any) -> tuple:
        del key
        return images, group.act(g, images)

    return make


def build_pair_fn(config: ml_collections.ConfigDict, group: base.Group) -> PairFn:
    """The pair function of a config (the whole image moves, unless a setting says not)."""
    del config
    return group_pairs(group)
