"""gla: learning group actions on disentangled latent image representations (JAX/Flax).

Entry points: ``gla.train.train_and_evaluate(config, workdir)`` (what ``launch.py`` runs) and
``gla.load_run(workdir)`` to restore a trained run for analysis.
"""

from gla.run import load_run  # noqa: F401

__version__ = '0.1.0'
