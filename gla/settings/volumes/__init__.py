"""3D volumes (AdrenalMNIST3D shapes, head phantoms, a user's volumes): the group acts on the
whole volume as in the plain setting, and the evaluation adds metrics that see the object
rather than the background, each beside an all-background prediction (``evaluate.py``;
formulas in :mod:`gla.volume_metrics`). Selected by ``config.data.spatial_ndim == 3``."""

from __future__ import annotations

from gla.settings import base
from gla.settings.volumes import evaluate

SETTING = base.Setting(name='volumes', applies=lambda config: config.data.spatial_ndim == 3,
                       evaluate=evaluate.evaluate, report_sections=evaluate.report_sections)
