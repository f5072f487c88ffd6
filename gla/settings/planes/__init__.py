"""Airplanes in the sky: a procedural airplane rendered over a fixed sky at many yaw angles
(``render.py``) or a user's own multi-view ``.npz`` (``views_npz.py``), the data source
``'planes'`` and its view pairs (``data.py``), view synthesis on the plane beside the
predictors that learn nothing (``synthesis.py``), the background-swap test, orbit and swap
figures and the comparison table (``evaluate.py``). Selected by
``config.data.source == 'planes'``."""

from __future__ import annotations

from gla import groups
from gla.data import sources
from gla.groups import base as groups_base
from gla.settings import base
from gla.settings.planes import data
from gla.settings.planes import evaluate
from gla.settings.planes import synthesis

sources.register_source('planes', data.load_dataset)


def _config_problems(config) -> list:
    problems = []
    if config.pairs.random_input_element:
        problems.append('config.pairs.random_input_element needs a group that acts on pixels; '
                        'rendered planes pair views instead: leave it False')
    try:
        order = groups_base.eval_order(groups.group_from_config(config.group))
    except (KeyError, TypeError, ValueError):
        return problems  # an unknown group is the core's problem to name
    views = config.data.planes.num_views
    if not isinstance(views, int) or views < order or views % order:
        problems.append(f'config.data.planes.num_views={views!r} must be a multiple of the '
                        f'order {order} of {config.group.name}: view k + g * num_views / '
                        f'{order} is T_g of view k (24 serves yaw24 and yaw4)')
    return problems


SETTING = base.Setting(name='planes', applies=lambda config: config.data.source == 'planes',
                       pair_fn=data.pair_fn, config_problems=_config_problems,
                       evaluate=evaluate.evaluate, write_figures=evaluate.write_figures,
                       report_sections=synthesis.report_sections)
