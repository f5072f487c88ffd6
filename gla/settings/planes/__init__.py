"""Airplanes in the sky: a procedural airplane rendered over a fixed sky at many yaw angles
(``render.py``), the data source ``'planes'`` and its view pairs (``data.py``), the
background-swap test, orbit and swap figures and the comparison table (``evaluate.py``).
Selected by ``config.data.source == 'planes'``."""

from __future__ import annotations

from gla.data import sources
from gla.settings import base
from gla.settings.planes import data
from gla.settings.planes import evaluate

sources.register_source('planes', data.load_dataset)


def _config_problems(config) -> list:
    if config.pairs.random_input_element:
        return ['config.pairs.random_input_element needs a group that acts on pixels; '
                'rendered planes pair views instead: leave it False']
    return []


SETTING = base.Setting(name='planes', applies=lambda config: config.data.source == 'planes',
                       pair_fn=data.pair_fn, config_problems=_config_problems,
                       evaluate=evaluate.evaluate, write_figures=evaluate.write_figures)
