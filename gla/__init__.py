"""gla: learning group actions on disentangled latent image representations (JAX/Flax).

Entry points: ``gla.train.train_and_evaluate(config, workdir)`` (what ``launch.py`` runs) and
``gla.load_run(workdir)`` to restore a trained run for analysis. Every error a user can fix
is a :class:`gla.UserError` whose message names the fix.
"""

import importlib.abc
import sys

from gla import settings  # noqa: F401  (registers the settings' data sources)
from gla.errors import UserError  # noqa: F401
from gla.run import load_run  # noqa: F401

__version__ = '0.1.0'

# Modules that moved when the package was reorganised: importing an old name says where to.
MOVED_MODULES = {
    'gla.reliability': 'gla.config_checks (config values), gla.workdir (workdir, lock, '
                       'config.json, resume), gla.stopping (signals), gla.errors (errors)',
    'gla.swap': 'gla.settings.blocked.swap_test',
    'gla.blocks': 'gla.settings.blocked.blocks',
    'gla.planes_eval': 'gla.settings.planes.evaluate (python -m gla.settings.planes.evaluate)',
    'gla.data.planes': 'gla.settings.planes.render',
    'gla.groups.latent_actions': 'gla.latent_actions',
    'gla.groups.yaw_actions': 'gla.latent_actions.volumetric and gla.latent_actions.grid',
    'gla.groups.channel_rotation': 'gla.latent_actions.channel_rotation',
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Turns ``import gla.<old name>`` into an ImportError naming the new module."""

    def find_spec(self, name, path=None, target=None):
        if name in MOVED_MODULES:
            raise ModuleNotFoundError(f'{name} moved: use {MOVED_MODULES[name]} (README, '
                                      '"Architecture").', name=name)
        return None


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())
