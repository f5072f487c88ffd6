"""The settings of the paper beyond "the group acts on the whole image", one folder each.

| setting | folder | selected by | adds |
| --- | --- | --- | --- |
| plain | (core) | every other config | pairs ``(x, T_g x)`` by the group's action |
| blocked | ``blocked/`` | ``config.blocks.enabled`` | a block that does not move; the swap test |
| planes | ``planes/`` | ``config.data.source == 'planes'`` | rendered views; background swap |
| volumes | ``volumes/`` | ``config.data.spatial_ndim == 3`` | object metrics: Dice / IoU, PSNR inside the head, structure contrast |

``for_config(config)`` is the one place the core asks which setting a config is.
"""

from __future__ import annotations

import ml_collections

from gla import pairs
from gla.settings import base
from gla.settings import blocked
from gla.settings import planes
from gla.settings import volumes

# The registry, in order of precedence; the plain setting when none applies.
SETTINGS = (blocked.SETTING, planes.SETTING, volumes.SETTING)


def for_config(config: ml_collections.ConfigDict) -> base.Setting:
    """The setting of ``config``."""
    for setting in SETTINGS:
        if setting.applies(config):
            return setting
    return base.PLAIN


def pair_fn(config: ml_collections.ConfigDict, group) -> pairs.PairFn:
    """The pair function of ``config``'s setting (evaluation and validation pairs)."""
    return for_config(config).pair_fn(config, group)


def training_pair_fn(config: ml_collections.ConfigDict, group) -> pairs.PairFn:
    """:func:`pair_fn`, with input elements ``h`` drawn at random when
    ``config.pairs.random_input_element`` is set (training pairs only)."""
    make = pair_fn(config, group)
    if config.pairs.random_input_element:
        return pairs.with_random_input_element(make, group)
    return make
