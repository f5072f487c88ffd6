"""Rotated & blocked MNIST: the digit turns under ``g``, a square block drawn on both images
does not (``blocks.py``); the swap test asks whether the block follows ``z_i`` and the digit
``z_v`` (``swap_test.py``). Selected by ``config.blocks.enabled``."""

from __future__ import annotations

import os

import jax
import numpy as np

from gla import plots
from gla.settings import base
from gla.settings.blocked import blocks
from gla.settings.blocked import swap_test


def _pair_fn(config, group):
    return blocks.blocked_pairs(group, int(config.blocks.size), float(config.blocks.intensity))


def _config_problems(config) -> list:
    problems = []
    if config.data.spatial_ndim != 2:
        problems.append('config.blocks.enabled needs 2D images (config.data.spatial_ndim=2)')
    if not -1.0 <= config.blocks.intensity <= 1.0:
        problems.append(f'config.blocks.intensity={config.blocks.intensity} must lie in '
                        '[-1, 1], the image range')
    return problems


def _evaluate(run, dataset, batch_size: int) -> dict:
    return {'swap_test': swap_test.swap_test(run, dataset.test.images,
                                             run.config.eval.swap_seed, batch_size)}


def _write_figures(directory: str, run, dataset) -> None:
    num = max(run.config.eval.num_figure_images, 4)
    arrays = swap_test.figure_arrays(run, dataset.test.images, run.config.eval.swap_seed, num)
    names = run.group.describe(jax.tree.map(np.asarray, swap_test.swap_elements(run.group)))
    plots.swap_test_grid(os.path.join(directory, 'swap.png'), arrays, names)


SETTING = base.Setting(name='blocked', applies=lambda config: bool(config.blocks.enabled),
                       pair_fn=_pair_fn, config_problems=_config_problems,
                       evaluate=_evaluate, write_figures=_write_figures)
