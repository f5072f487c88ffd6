"""Training: the loop around the jitted step, checkpoints and resume.

``train_and_evaluate(config, workdir)`` is what ``launch.py`` calls: it trains (resuming
from the newest checkpoint in ``workdir`` if there is one), then evaluates the best-by-
validation checkpoint through the same restore path users call (``gla.run.load_run``).

The path of a batch: ``epoch_order`` picks the images (host numpy), ``parallel`` shards them
over the ``('data',)`` mesh, ``train_step`` (``gla/train_step.py``, jitted) draws ``g``,
makes the pairs ``(x, T_g x)`` (``gla/pairs.py``), runs the model's forward path
(``gla/autoencoder.py``) and the loss (``gla/losses.py``) and updates the state; every
``log_every_steps`` the metrics come back to the host (``gla/metrics_log.py``,
``gla/divergence.py``), every epoch the validation loss picks the best checkpoint
(``gla/checkpointing.py``).

Determinism: the parameters come from ``key(seed)``; the training pairs of step ``s`` from
``fold_in(pair_key, s)`` inside the step; the data order of epoch ``e`` from a numpy
generator seeded ``(seed, e)``. A resumed run therefore continues exactly as if it had
never stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
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
from gla import evaluate
from gla import groups
from gla import losses
from gla import metrics_log
from gla import models
from gla import pairs
from gla import parallel
from gla import state as state_lib
from gla import stopping
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


@dataclasses.dataclass
class LoopState:
    """What the loop carries besides the train state; :meth:`progress` is saved with every
    checkpoint, enough to resume exactly."""
    monitor: divergence.DivergenceMonitor
    best_val: float
    best_step: Any
    image_shape: tuple
    pending: list = dataclasses.field(default_factory=list)  # device metrics not fetched
    carried: list = dataclasses.field(default_factory=list)  # rows of a stopped interval
    log_time: float = dataclasses.field(default_factory=time.time)
    log_step: int = 0
    update_scale: float = 1.0  # halved by each rollback (config.divergence_action)
    rollbacks: int = 0
    stopped_early: str = ''  # why training ended before the schedule, if it did

    def progress(self, **extra) -> dict:
        return dict(self.monitor.state(), best_val_loss=self.best_val,
                    best_step=self.best_step, image_shape=list(self.image_shape),
                    update_scale=self.update_scale, rollbacks=self.rollbacks, **extra)

    def scale_argument(self):
        """The step's ``update_scale``: ``None`` (flax's own update, bit for bit) until a
        rollback asks for smaller steps."""
        return None if self.update_scale == 1.0 else np.float32(self.update_scale)

    def fetch_rows(self, step: int) -> list:
        """The metrics rows since the last log, one per step, checked to be finite."""
        rows = self.carried + metrics_log.unstack_rows(parallel.to_host(self.pending))
        divergence.check_finite(step - len(rows), rows)
        self.pending, self.carried = [], []
        return rows


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
    model = models.build_model(config, group, dataset.image_shape[-1])
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
    state = jax.jit(_make_state(setup), out_shardings=parallel.replicated(setup.mesh))(
        setup.init_key)
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


def steps_in_dispatch(config: ml_collections.ConfigDict, step: int,
                      steps_per_epoch: int) -> int:
    """How many steps the next call runs: ``steps_per_dispatch`` fused steps, unless that
    would cross an epoch end or a log step (then 1). The chunks depend only on the step, so
    a resumed run cuts them exactly as before."""
    k = config.steps_per_dispatch
    room = min(steps_per_epoch - step % steps_per_epoch,
               config.log_every_steps - step % config.log_every_steps)
    return k if 1 < k <= room else 1


def batch_images(setup: Setup, step: int, order: np.ndarray, count: int) -> np.ndarray:
    """The host images of ``count`` steps from ``step``: ``(B, ...)``, or ``(count, B,
    ...)`` when ``count > 1``."""
    config, images = setup.config, setup.dataset.train.images
    i = step % setup.steps_per_epoch
    idx = order[i * config.batch_size:(i + count) * config.batch_size]
    if count > 1:
        return images[idx].reshape((count, config.batch_size) + setup.dataset.image_shape)
    return images[idx]


def dispatch(setup: Setup, state, step: int, order: np.ndarray, count: int,
             update_scale=None) -> tuple:
    """Runs ``count`` steps from ``step`` on the images ``order`` picks; ``(state,
    metrics)``."""
    images = batch_images(setup, step, order, count)
    if count > 1:
        return setup.steps.fused(state, parallel.shard_steps(setup.mesh, images),
                                 setup.pair_key, update_scale)
    return setup.steps.single(state, parallel.shard_batch(setup.mesh, images),
                              setup.pair_key, update_scale)


def log_interval(setup: Setup, loop: LoopState, writer: metrics_log.MetricsLog,
                 step: int) -> None:
    """Fetches the interval's metrics, checks them, logs a progress line and a row."""
    config = setup.config
    rows = loop.fetch_rows(step)
    now = time.time()
    rate = (step - loop.log_step) * config.batch_size / max(now - loop.log_time, 1e-9)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    warnings = loop.monitor.update(step, 'train', {k: mean[k] for k in LOSS_TERMS})
    row = dict(step=step, epoch=step / setup.steps_per_epoch, split='train',
               images_per_sec=rate, **mean)
    if warnings:
        row['warnings'] = warnings
    for line in loop.monitor.announce(warnings):
        logging.warning('%s', line)
    writer.write(row)
    eta = (setup.total_steps - step) * config.batch_size / max(rate, 1e-9)
    logging.info('step %d/%d  loss %.5f (recon %.5f inv %.5f const %.5f)  variant %.2f  '
                 '%.0f img/s  ETA %s', step, setup.total_steps, mean['loss'], mean['recon'],
                 mean['inv'], mean['const'], mean['variant_share'], rate,
                 metrics_log.format_duration(eta))
    loop.log_time, loop.log_step = time.time(), step


def end_of_epoch(setup: Setup, loop: LoopState, writer: metrics_log.MetricsLog,
                 ckpts: checkpointing.RunCheckpoints, state, step: int,
                 validate: Callable) -> bool:
    """Validation loss, the divergence check, a row, and the latest (and best) checkpoint;
    returns whether a validation term diverged."""
    val = validate(state.params)
    divergence.check_finite_validation(step, val)
    warnings = loop.monitor.update(step, 'val', val)
    for line in loop.monitor.announce(warnings):
        logging.warning('%s', line)
    improved = val['loss'] < loop.best_val
    if improved:
        loop.best_val, loop.best_step = val['loss'], step
    epoch = step // setup.steps_per_epoch
    writer.write(dict(step=step, epoch=epoch, split='val', best=improved, **val,
                      **({'warnings': warnings} if warnings else {})))
    logging.info('epoch %d/%d  val loss %.5f (recon %.5f)%s', epoch, setup.config.num_epochs,
                 val['loss'], val['recon'], '  * best' if improved else '')
    progress = loop.progress()
    if improved:
        ckpts.save(checkpointing.BEST, step, state, progress)
    ckpts.save(checkpointing.LATEST, step, state, progress)
    return bool(warnings)


def roll_back(setup: Setup, loop: LoopState, writer: metrics_log.MetricsLog,
              ckpts: checkpointing.RunCheckpoints, state) -> tuple:
    """Goes back to the best checkpoint and halves Adam's steps from there on
    (``config.divergence_action='rollback'``); the ``latest`` steps from the best on are
    replaced by the restored one, so a killed run resumes from it. ``(state, step)``."""
    ckpts.wait_until_finished()
    state, _ = ckpts.restore(checkpointing.BEST, checkpointing.abstract_like(state))
    step = int(state.step)
    loop.rollbacks += 1
    loop.update_scale *= 0.5
    ckpts.discard_from(checkpointing.LATEST, step)
    ckpts.save(checkpointing.LATEST, step, state, loop.progress())
    logging.warning('divergence: rolled back to step %d (the best by validation loss); Adam\'s '
                    'steps are now x%g (rollback %d of at most %d)', step, loop.update_scale,
                    loop.rollbacks, divergence.MAX_ROLLBACKS)
    writer.write(dict(step=step, split='event', rollback=loop.rollbacks,
                      update_scale=loop.update_scale))
    return state, step


def act_on_divergence(setup: Setup, loop: LoopState, writer: metrics_log.MetricsLog,
                      ckpts: checkpointing.RunCheckpoints, state, step: int) -> tuple:
    """``config.divergence_action`` after a diverging validation: ``(state, step, stop)``."""
    action = setup.config.divergence_action
    if action == 'warn' or loop.best_step == step:  # the model of this step is the best
        return state, step, False
    if action == 'rollback' and loop.rollbacks < divergence.MAX_ROLLBACKS \
            and loop.best_step is not None:
        state, step = roll_back(setup, loop, writer, ckpts, state)
        return state, step, False
    loop.stopped_early = (f'stopped at step {step} by divergence_action={action!r}'
                          + (f' after {loop.rollbacks} rollbacks' if loop.rollbacks else ''))
    logging.warning('divergence: training %s; the best checkpoint (step %s) is evaluated',
                    loop.stopped_early, loop.best_step)
    return state, step, True


def stop_with_checkpoint(setup: Setup, loop: LoopState, ckpts: checkpointing.RunCheckpoints,
                         state, step: int, signum: int) -> None:
    """Saves the current step (with the metrics of the unfinished log interval, so the
    resumed run logs the same rows), then raises :class:`gla.stopping.StopRequested`."""
    rows = loop.fetch_rows(step)
    ckpts.save(checkpointing.LATEST, step, state, loop.progress(pending_rows=rows))
    ckpts.wait_until_finished()
    ckpts.close()
    raise stopping.StopRequested(step, signum, setup.workdir)


def train(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains (or resumes) the run in ``workdir``; returns a summary dict.

    Bad config values, data, grids, workdirs and resume configs are refused before anything
    is compiled or written (docs/reliability.md). SIGTERM / Ctrl-C stop with a checkpoint of
    the current step (:class:`gla.stopping.StopRequested`).
    """
    with stopping.StopSignals() as stop:
        setup = prepare(config, workdir)
        ckpts = checkpointing.RunCheckpoints(workdir)
        state, progress = initial_state(setup, ckpts)
        start_step = int(state.step)
        monitor = divergence.DivergenceMonitor(config.divergence_factor,
                                               config.divergence_floor, progress)
        loop = LoopState(monitor, progress.get('best_val_loss', math.inf),
                         progress.get('best_step'), setup.dataset.image_shape,
                         carried=progress.get('pending_rows', []), log_step=start_step,
                         update_scale=progress.get('update_scale', 1.0),
                         rollbacks=progress.get('rollbacks', 0))
        writer = metrics_log.MetricsLog(workdir, start_step)
        train_start = time.time()
        step = _loop(setup, loop, writer, ckpts, state, start_step, stop)
        ckpts.wait_until_finished()
        ckpts.close()
        writer.close()
    elapsed = time.time() - train_start
    summary = dict(final_step=step, best_step=loop.best_step, best_val_loss=loop.best_val,
                   warnings=loop.monitor.warnings, rollbacks=loop.rollbacks,
                   stopped_early=loop.stopped_early, train_seconds=elapsed,
                   images_per_sec=(step - start_step) * config.batch_size / max(elapsed, 1e-9))
    logging.info('training done: step %d/%d in %s at %.0f img/s, best val loss %.5f at step '
                 '%s, %d divergence warnings; next: evaluation of the best checkpoint '
                 '(eval.json, figures/), then python -m gla.analyze --workdir %s for the '
                 'report', step, setup.total_steps, metrics_log.format_duration(elapsed),
                 summary['images_per_sec'], loop.best_val, loop.best_step,
                 len(loop.monitor.warnings), workdir)
    return summary


def _loop(setup: Setup, loop: LoopState, writer: metrics_log.MetricsLog,
          ckpts: checkpointing.RunCheckpoints, state, step: int,
          stop: stopping.StopSignals) -> int:
    """Steps from ``step`` to the end of the schedule; returns the last step."""
    config, validate = setup.config, make_validator(setup)
    order_epoch, order = -1, None
    while step < setup.total_steps:
        if stop.requested:
            stop_with_checkpoint(setup, loop, ckpts, state, step, stop.signum)
        epoch = step // setup.steps_per_epoch
        if epoch != order_epoch:
            order_epoch = epoch
            order = epoch_order(config.seed, epoch, len(setup.dataset.train))
        count = steps_in_dispatch(config, step, setup.steps_per_epoch)
        state, metrics = dispatch(setup, state, step, order, count, loop.scale_argument())
        loop.pending.append(metrics)
        step += count
        end_of_epoch_now = step % setup.steps_per_epoch == 0
        if step % config.log_every_steps == 0 or end_of_epoch_now:
            log_interval(setup, loop, writer, step)
        if end_of_epoch_now and end_of_epoch(setup, loop, writer, ckpts, state, step,
                                             validate):
            state, step, stop_now = act_on_divergence(setup, loop, writer, ckpts, state, step)
            if stop_now:
                break
    return step


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str):
    """Trains, then evaluates the best checkpoint; writes ``eval.json`` and ``figures/``;
    returns the results. With ``config.num_seeds > 1`` the seeds train together
    (``gla/multi_seed.py``) and the list of their results comes back.

    The workdir stays locked (``workdir/.lock``) from the start of training to the end of
    the evaluation."""
    if config.num_seeds > 1:
        from gla import multi_seed  # it builds on this module
        return multi_seed.train_and_evaluate(config, workdir)
    try:
        summary = train(config, workdir)
        return evaluate.evaluate_run(workdir, training_summary=summary)
    finally:
        workdir_lib.unlock_workdir(workdir)
