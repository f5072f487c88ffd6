"""What a run is made of, built once before its first step: the checked config, the data,
the group and model, the mesh, the keys, the jitted step functions, the state (fresh or
resumed) and the validation function. ``gla/train.py`` loops over them; ``gla/multi_seed.py``
builds one per seed.

Determinism: the parameters come from ``key(seed)``; the training pairs of step ``s`` from
``fold_in(pair_key, s)`` inside the step; the data order of epoch ``e`` from a numpy
generator seeded ``(seed, e)``. A resumed run therefore continues exactly as if it had
never stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable

import jax
import ml_collections
import numpy as np
from absl import logging

from gla import checkpointing
from gla import config_checks
from gla import distributed
from gla import divergence
from gla import errors
from gla import groups
from gla import losses
from gla import models
from gla import pairs
from gla import parallel
from gla import state as state_lib
from gla import train_step
from gla import workdir as workdir_lib
from gla.data import sources

LOSS_TERMS = divergence.LOSS_TERMS


def epoch_order(seed: int, epoch: int, num_examples: int) -> np.ndarray:
    """The data order of an epoch: a permutation that depends only on ``(seed, epoch)``."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


@dataclasses.dataclass
class Setup:
    """What a run is made of, built once before the first step."""
    config: ml_collections.ConfigDict
    workdir: str
    dataset: sources.Dataset
    group: groups.Group
    model: models.GroupLatentAutoencoder
    mesh: Any
    init_key: jax.Array
    pair_key: jax.Array
    steps_per_epoch: int
    steps: train_step.StepFunctions

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.num_epochs


def prepare(config: ml_collections.ConfigDict, workdir: str) -> Setup:
    """Checks the config, data, grids and workdir (refusing before anything is compiled or
    written), then takes the workdir's lock."""
    config_checks.validate_config(config)
    workdir_lib.check_workdir(workdir)
    dataset = sources.load_dataset(config.data, cache_dir=workdir)
    steps_per_epoch = len(dataset.train) // config.batch_size
    if steps_per_epoch == 0:
        raise errors.ConfigError(
            f'config.batch_size={config.batch_size} exceeds the {len(dataset.train)} '
            'training examples; lower the batch size.')
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, dataset.image_shape[-1],
                               dataset.image_shape[:-1])
    init_key, pair_key = jax.random.split(jax.random.key(config.seed))
    setup = Setup(config, workdir, dataset, group, model, parallel.make_mesh(), init_key,
                  pair_key, steps_per_epoch, train_step.jit_step_functions(config, model, group))
    jax.eval_shape(_make_state(setup), init_key)  # grid and shape checks: traced, not compiled
    workdir_lib.check_resume_config(workdir, config)
    os.makedirs(workdir, exist_ok=True)
    if jax.process_index() == 0:
        workdir_lib.lock_workdir(workdir)
    return setup


def _make_state(setup: Setup) -> Callable:
    return functools.partial(state_lib.create_train_state, setup.config, setup.model,
                             setup.group, setup.dataset.image_shape,
                             total_steps=setup.total_steps)


def initial_state(setup: Setup, ckpts: checkpointing.RunCheckpoints) -> tuple:
    """``(state, progress)``: fresh, or restored from the newest intact ``latest`` step."""
    state = state_lib.compile_initial_state(_make_state(setup), setup.init_key,
                                            parallel.replicated(setup.mesh))
    data = setup.dataset
    logging.info('model: %d parameters; data %s, image shape %s; %d train / %d val / %d '
                 'test', models.count_params(state.params), data.description,
                 data.image_shape, len(data.train), len(data.val), len(data.test))
    if ckpts.latest_step() is None:
        if distributed.is_main_process():
            # The other processes read it only after the checkpoint saves, which sync them.
            workdir_lib.write_config(setup.workdir, setup.config)
        return state, {}
    ckpts.check_best()
    state, progress = ckpts.restore_intact(checkpointing.LATEST,
                                           checkpointing.abstract_like(state))
    logging.info('resumed from step %d in %s', int(state.step), setup.workdir)
    return state, progress


def make_validator(setup: Setup) -> Callable[[Any], dict]:
    """``params -> {term: mean}`` over the fixed validation pairs (elements drawn once from
    ``config.eval.val_pairs_seed``)."""
    config, val = setup.config, setup.dataset.val
    val_key = jax.random.key(config.eval.val_pairs_seed)
    sampling_group = pairs.training_group(config, setup.group)
    val_g = jax.tree.map(np.asarray, sampling_group.sample(val_key, len(val)))
    eval_batch = config.eval.batch_size + (-config.eval.batch_size) % jax.device_count()

    def validate(params) -> dict:
        sums = {k: 0.0 for k in LOSS_TERMS[1:]}
        for idx, valid in parallel.padded_batches(len(val), eval_batch):
            batch = parallel.shard_batch(
                setup.mesh, (val.images[idx], jax.tree.map(lambda a: a[idx], val_g)))
            terms = parallel.to_host(setup.steps.validation(
                params, *batch, jax.random.fold_in(val_key, int(idx[0]))))
            for k in sums:
                sums[k] += float(np.sum(terms[k][valid]))
        terms = {k: v / len(val) for k, v in sums.items()}
        terms['loss'] = float(losses.total_loss(terms, config.loss.lambda_inv,
                                                config.loss.lambda_const))
        return terms

    return validate


def batch_images(setup: Setup, step: int, order: np.ndarray, count: int) -> np.ndarray:
    """The host images of ``count`` steps from ``step``: ``(B, ...)``, or ``(count, B,
    ...)`` when ``count > 1`` (images keep their own trailing shape: a planes example is
    ``(V, H, W, C)``, all its views)."""
    config, images = setup.config, setup.dataset.train.images
    i = step % setup.steps_per_epoch
    idx = order[i * config.batch_size:(i + count) * config.batch_size]
    if count > 1:
        return images[idx].reshape((count, config.batch_size) + images.shape[1:])
    return images[idx]
