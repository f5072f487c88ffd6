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

What a run is made of (checks, data, model, state, resume) is built by
``gla/train_setup.py``; this module is the loop around it and what the loop does at a log
step, at an epoch end, on divergence and on a stop signal.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable

import ml_collections
import numpy as np
from absl import logging

from gla import checkpointing
from gla import divergence
from gla import evaluate
from gla import metrics_log
from gla import parallel
from gla import stopping
from gla import train_setup
from gla import workdir as workdir_lib

LOSS_TERMS = divergence.LOSS_TERMS
Setup = train_setup.Setup  # what a run is made of (gla/train_setup.py)


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


def steps_in_dispatch(config: ml_collections.ConfigDict, step: int,
                      steps_per_epoch: int) -> int:
    """How many steps the next call runs: ``steps_per_dispatch`` fused steps, unless that
    would cross an epoch end or a log step (then 1). The chunks depend only on the step, so
    a resumed run cuts them exactly as before."""
    k = config.steps_per_dispatch
    room = min(steps_per_epoch - step % steps_per_epoch,
               config.log_every_steps - step % config.log_every_steps)
    return k if 1 < k <= room else 1


def dispatch(setup: Setup, state, step: int, order: np.ndarray, count: int,
             update_scale=None) -> tuple:
    """Runs ``count`` steps from ``step`` on the images ``order`` picks; ``(state,
    metrics)``."""
    images = train_setup.batch_images(setup, step, order, count)
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
    loop.log_time, loop.log_step = time.time(), step  # the next row's images/s from here
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


def stop_with_checkpoint(setup: Setup, loop: LoopState,
                         ckpts: checkpointing.RunCheckpoints, state, step: int,
                         signum: int) -> None:
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
        setup = train_setup.prepare(config, workdir)
        ckpts = checkpointing.RunCheckpoints(workdir)
        state, progress = train_setup.initial_state(setup, ckpts)
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
    config, validate = setup.config, train_setup.make_validator(setup)
    order_epoch, order = -1, None
    while step < setup.total_steps:
        if stop.requested:
            stop_with_checkpoint(setup, loop, ckpts, state, step, stop.signum)
        epoch = step // setup.steps_per_epoch
        if epoch != order_epoch:
            order_epoch = epoch
            order = train_setup.epoch_order(config.seed, epoch, len(setup.dataset.train))
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
