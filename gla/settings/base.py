"""What a setting is: the parts of a run that differ between the paper's settings.

A :class:`Setting` bundles pure functions the core calls at fixed places (pairs for
training and evaluation, config checks, extra metrics for ``eval.json``, extra figures, extra
report sections). The core owns the registry (:mod:`gla.settings`); adding a setting adds a
folder, not ``if source == ...`` branches in the core.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import ml_collections

from gla import pairs


def _nothing(*args) -> None:
    del args


@dataclasses.dataclass(frozen=True)
class Setting:
    """A setting's hooks; each defaults to doing nothing.

    Attributes:
      name: short name (``'plain'``, ``'blocked'``, ``'planes'``, ``'volumes'``).
      applies: ``config -> bool``, whether a config is of this setting.
      pair_fn: ``(config, group) -> PairFn``, the pairs ``(x, T_g x)`` (``gla/pairs.py``).
      config_problems: ``config -> list[str]``, the setting's own invalid values.
      evaluate: ``(run, dataset, batch_size) -> dict``, entries added to ``eval.json``.
      write_figures: ``(directory, run, dataset) -> None``, extra PNGs in ``figures/``.
      report_sections: ``(run, dataset, out_dir) -> list[gla.report_page.Section]``.
    """
    name: str
    applies: Callable[[ml_collections.ConfigDict], bool]
    pair_fn: Callable[[ml_collections.ConfigDict, Any], pairs.PairFn] = (
        lambda config, group: pairs.group_pairs(group))
    config_problems: Callable[[ml_collections.ConfigDict], list] = lambda config: []
    evaluate: Callable[..., dict] = lambda run, dataset, batch_size: {}
    write_figures: Callable[..., None] = _nothing
    report_sections: Callable[..., list] = lambda run, dataset, out_dir: []


# The group acts on the whole image: Rotated MNIST and the other 2D images (3D volumes: the
# same pairs, with the volume metrics of gla/settings/volumes/).
PLAIN = Setting(name='plain', applies=lambda config: True)


def read_eval_json(workdir: str):
    """The run's ``eval.json`` as a dict, or None where it is not written yet (the settings'
    report sections read their entries from it)."""
    path = os.path.join(workdir, 'eval.json')
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)
