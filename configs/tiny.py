"""The one helper behind the tiny configs (``test.py``, ``test3d.py``, ``test_planes.py``,
``test_blocked_so2.py``): a setting's config cut down to run in seconds on a CPU, for tests
and smoke checks. Numbers mean nothing; every code path of the setting still runs."""

from typing import Sequence

import ml_collections


def shrink(config: ml_collections.ConfigDict, examples: Sequence[int], features: Sequence[int],
           batch_size: int, log_every_steps: int, eval_batch_size: int,
           figure_images: int) -> ml_collections.ConfigDict:
    """``config`` (changed in place) with the first ``examples = (train, val, test)`` examples,
    encoder widths ``features``, ``batch_size``, 2 epochs, a log row every
    ``log_every_steps``, ``eval_batch_size``, a 10-step probe and ``figure_images``."""
    data = config.data
    data.max_train_examples, data.max_val_examples, data.max_test_examples = examples
    config.model.encoder_features = tuple(features)
    config.batch_size = batch_size
    config.num_epochs = 2
    config.log_every_steps = log_every_steps
    config.eval.batch_size = eval_batch_size
    config.eval.probe_steps = 10
    config.eval.num_figure_images = figure_images
    return config
