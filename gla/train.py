"""Training: the jitted step, the loop, checkpoints and resume.

``train_and_evaluate(config, workdir)`` is what ``launch.py`` calls: it trains (resuming
from the newest checkpoint in ``workdir`` if there is one), then evaluates the best-by-
validation checkpoint through the same restore path users call (``gla.run.load_run``).

Determinism: the parameters come from ``key(seed)``; the training pairs of step ``s`` from
``fold_in(pair_key, s)`` inside the step; the data order of epoch ``e`` from a numpy
generator seeded ``(seed, e)``. A resumed run therefore continues exactly as if it had
never stopped.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from typing import Any, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax.training import train_state

from gla import checkpointing
from gla import distributed
from gla import evaluate
from gla import losses
from gla import models
from gla import pairs
from gla import parallel
from gla import reliability
from gla import state as state_lib
from gla.data import sources
from gla import groups
from gla import summaries

LOSS_TERMS = ('loss', 'recon', 'inv', 'const')


class NonFiniteError(FloatingPointError):
    """A loss term or the gradient became NaN/Inf; the message names the step and term."""


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Rejects values that cannot train, before any data is read or anything compiled."""
    problems = []
    if not config.optimizer.learning_rate > 0:
        problems.append(f'optimizer.learning_rate={config.optimizer.learning_rate} must be > 0')
    if not config.batch_size > 0:
        problems.append(f'batch_size={config.batch_size} must be > 0')
    if not config.num_epochs > 0:
        problems.append(f'num_epochs={config.num_epochs} must be > 0')
    if not config.log_every_steps > 0:
        problems.append(f'log_every_steps={config.log_every_steps} must be > 0')
    problems += reliability.config_problems(config)
    if not config.get('steps_per_dispatch', 1) > 0:
        problems.append(f'steps_per_dispatch={config.steps_per_dispatch} must be > 0')
    if problems:
        raise reliability.ConfigError('invalid config: ' + '; '.join(problems))
    parallel.check_divisible(config.batch_size)


def train_step(state: train_state.TrainState, images: jax.Array, pair_key: jax.Array, *,
               model: models.GroupLatentAutoencoder, group: groups.Group,
               pair_fn: pairs.PairFn, lambda_inv: float, lambda_const: float,
               lambda_var: float = 0.0, lambda_cov: float = 0.0, inv_target_shift: int = 0):
    """One optimisation step on a batch of images ``(B, *spatial, C)``.

    The pairs are made here, on the device: ``g`` is drawn from ``fold_in(pair_key, step)``
    and ``(x, T_g x) = pair_fn(...)``. Returns ``(state, metrics)``.
    """
    key = jax.random.fold_in(pair_key, state.step)
    g = group.sample(key, images.shape[0])
    inputs, targets = pair_fn(jax.random.fold_in(key, 1), images, g)
    inv_target = (pairs.random_shift(jax.random.fold_in(key, 2), targets, inv_target_shift)
                  if inv_target_shift else None)

    def loss_fn(params):
        return losses.pair_losses(model, params, inputs, targets, g, lambda_inv, lambda_const,
                                  lambda_var, lambda_cov, inv_target)

    (_, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    mask = model.apply({'params': state.params}, method=model.variant_mask)
    metrics = dict(terms, grad_norm=jnp.sqrt(sum(jnp.sum(jnp.square(x))
                                                for x in jax.tree.leaves(grads))),
                   variant_share=jnp.mean(mask))
    return state.apply_gradients(grads=grads), metrics


def fused_train_steps(state: train_state.TrainState, images: jax.Array, pair_key: jax.Array,
                      **step_kwargs):
    """``K = images.shape[0]`` consecutive :func:`train_step` calls in one program (one
    dispatch from Python): ``images`` ``(K, B, *spatial, C)``; metrics stacked ``(K,)``.

    The steps are unrolled, not a ``lax.scan`` loop: XLA:CPU runs a rolled loop several
    times slower than the same steps unrolled. Each step still draws its pairs from
    ``fold_in(pair_key, step)``, so the training does not depend on ``K``.
    """
    rows = []
    for k in range(images.shape[0]):
        state, metrics = train_step(state, images[k], pair_key, **step_kwargs)
        rows.append(metrics)
    return state, jax.tree.map(lambda *a: jnp.stack(a), *rows)


def validation_terms(params: Any, images: jax.Array, g: Any, key: jax.Array, *,
                     model: models.GroupLatentAutoencoder, pair_fn: pairs.PairFn) -> dict:
    """Per-example loss terms ``(B,)`` of the fixed validation pairs ``(x, g, T_g x)``."""
    inputs, targets = pair_fn(key, images, g)
    return losses.pair_loss_terms(model, params, inputs, targets, g)


def epoch_order(seed: int, epoch: int, num_examples: int) -> np.ndarray:
    """The data order of an epoch: a permutation that depends only on ``(seed, epoch)``."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


class MetricsLog:
    """``workdir/metrics.jsonl``: one JSON object per row, written by process 0 only; the
    same rows go to TensorBoard event files where tensorboardX is installed (gla.summaries).

    On resume the rows past the restored step are dropped, so the file reads as if the run
    had never stopped.
    """

    def __init__(self, workdir: str, resume_step: int):
        self.path = os.path.join(workdir, 'metrics.jsonl')
        self.enabled = jax.process_index() == 0
        if self.enabled and os.path.exists(self.path):
            with open(self.path) as f:
                rows = [line for line in f if line.strip()
                        and json.loads(line).get('step', 0) <= resume_step]
            with open(self.path, 'w') as f:
                f.writelines(rows)
        self.tensorboard = summaries.ScalarWriter(workdir, resume_step, enabled=self.enabled)

    def write(self, row: dict) -> None:
        if self.enabled:
            with open(self.path, 'a') as f:
                f.write(json.dumps(row) + '\n')
            self.tensorboard.write(row)

    def close(self) -> None:
        self.tensorboard.close()


class DivergenceMonitor:
    """Warns when a loss term grows far above its best value so far (DESIGN.md: the paper's
    objective can blow up on small data). Its state is saved with every checkpoint."""

    def __init__(self, factor: float, progress: Optional[dict] = None):
        self.factor = factor
        self.best = dict((progress or {}).get('best_terms', {}))
        self.warnings = list((progress or {}).get('warnings', []))

    def update(self, step: int, split: str, terms: dict) -> list:
        new = []
        for name, value in terms.items():
            key = f'{split}/{name}'
            best = self.best.get(key, math.inf)
            if value > self.factor * best and value > 1e-6:
                new.append(f'step {step}: {key} = {value:.4g} is {value / best:.3g}x its best '
                           f'({best:.4g}); the run may be diverging (best-by-validation '
                           'selection keeps the earlier good model)')
            self.best[key] = min(best, value)
        self.warnings.extend(new)
        return new

    def state(self) -> dict:
        return {'best_terms': self.best, 'warnings': self.warnings}


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f'{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s' if seconds >= 3600 \
        else f'{seconds // 60}m{seconds % 60:02d}s'


def _unstack_rows(host_metrics: list) -> list:
    """Host metrics of single steps (scalars) and fused steps (``(K,)`` arrays) -> one
    dict of floats per step, in order."""
    rows = []
    for metrics in host_metrics:
        if np.ndim(metrics['loss']) == 0:
            rows.append({k: float(v) for k, v in metrics.items()})
        else:
            rows.extend({k: float(v[j]) for k, v in metrics.items()}
                        for j in range(len(metrics['loss'])))
    return rows


def _check_finite(step0: int, rows: list) -> None:
    for offset, row in enumerate(rows):
        for name in LOSS_TERMS + ('grad_norm',):
            if not np.isfinite(row[name]):
                raise NonFiniteError(
                    f'step {step0 + offset + 1}: {name} is {row[name]}; training stopped and '
                    'no checkpoint was written from this state. Lower '
                    'config.optimizer.learning_rate, or check the data for extreme values.')


def _check_finite_val(step: int, terms: dict) -> None:
    for name, value in terms.items():
        if not np.isfinite(value):
            raise NonFiniteError(
                f'step {step}: validation {name} is {value}; training stopped and no '
                'checkpoint was written from this state. Lower '
                'config.optimizer.learning_rate, or check the data for extreme values.')


def train(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains (or resumes) the run in ``workdir``; returns a summary dict.

    Bad config values, data, grids, workdirs and resume configs are refused before anything
    is compiled or written (docs/reliability.md). SIGTERM / Ctrl-C stop with a checkpoint of
    the current step (:class:`gla.reliability.StopRequested`).
    """
    with reliability.StopSignals() as stop:
        return _train(config, workdir, stop)


def _train(config: ml_collections.ConfigDict, workdir: str,
           stop: reliability.StopSignals) -> dict:
    validate_config(config)
    reliability.check_workdir(workdir)
    dataset = sources.load_dataset(config.data, cache_dir=workdir)
    num_train = len(dataset.train)
    steps_per_epoch = num_train // config.batch_size
    if steps_per_epoch == 0:
        raise reliability.ConfigError(
            f'config.batch_size={config.batch_size} exceeds the {num_train} training '
            'examples; lower the batch size.')
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, dataset.image_shape[-1])
    mesh = parallel.make_mesh()

    init_key, pair_key = jax.random.split(jax.random.key(config.seed))
    image_shape = dataset.image_shape
    make_state = functools.partial(state_lib.create_train_state, config, model, group,
                                   image_shape, total_steps=steps_per_epoch * config.num_epochs)
    jax.eval_shape(make_state, init_key)  # grid and shape checks: traced, not compiled
    reliability.check_resume_config(workdir, config)
    os.makedirs(workdir, exist_ok=True)
    if jax.process_index() == 0:
        reliability.lock_workdir(workdir)
    state = jax.jit(make_state, out_shardings=parallel.replicated(mesh))(init_key)
    logging.info('model: %d parameters; data %s, image shape %s; %d train / %d val / %d '
                 'test', models.count_params(state.params), dataset.description, image_shape,
                 len(dataset.train), len(dataset.val), len(dataset.test))

    ckpts = checkpointing.RunCheckpoints(workdir)
    progress = {}
    if ckpts.latest_step() is not None:
        ckpts.check_best()
        state, progress = ckpts.restore_intact(checkpointing.LATEST,
                                               checkpointing.abstract_like(state))
        logging.info('resumed from step %d in %s', int(state.step), workdir)
    elif distributed.is_main_process():
        # The other processes read it only after the checkpoint saves, which sync them.
        checkpointing.write_config(workdir, config)
    start_step = int(state.step)
    metrics_log = MetricsLog(workdir, start_step)
    monitor = DivergenceMonitor(config.divergence_factor, progress)
    best_val = progress.get('best_val_loss', math.inf)
    best_step = progress.get('best_step', None)

    pair_fn = pairs.build_pair_fn(config, group)
    sampling_group = pairs.training_group(config, group)  # identity pairs for mask 'none'
    step_kwargs = dict(model=model, group=sampling_group,
                       pair_fn=pairs.build_training_pair_fn(config, group),
                       lambda_inv=config.loss.lambda_inv, lambda_const=config.loss.lambda_const,
                       lambda_var=config.loss.get('lambda_var', 0.0),
                       lambda_cov=config.loss.get('lambda_cov', 0.0),
                       inv_target_shift=config.loss.get('inv_target_shift', 0))
    step_fn = jax.jit(functools.partial(train_step, **step_kwargs), donate_argnums=0)
    fused_fn = jax.jit(functools.partial(fused_train_steps, **step_kwargs), donate_argnums=0)
    steps_per_dispatch = config.get('steps_per_dispatch', 1)
    val_fn = jax.jit(functools.partial(validation_terms, model=model, pair_fn=pair_fn))
    val_key = jax.random.key(config.eval.val_pairs_seed)
    val_g = jax.tree.map(np.asarray, sampling_group.sample(val_key, len(dataset.val)))
    eval_batch = config.eval.batch_size + (-config.eval.batch_size) % jax.device_count()

    def validate(params) -> dict:
        sums = {k: 0.0 for k in LOSS_TERMS[1:]}
        for idx, valid in parallel.padded_batches(len(dataset.val), eval_batch):
            batch = parallel.shard_batch(
                mesh, (dataset.val.images[idx], jax.tree.map(lambda a: a[idx], val_g)))
            terms = parallel.to_host(val_fn(params, *batch,
                                            jax.random.fold_in(val_key, int(idx[0]))))
            for k in sums:
                sums[k] += float(np.sum(terms[k][valid]))
        terms = {k: v / len(dataset.val) for k, v in sums.items()}
        terms['loss'] = float(losses.total_loss(terms, config.loss.lambda_inv,
                                                config.loss.lambda_const))
        return terms

    total_steps = steps_per_epoch * config.num_epochs
    pending = []  # device metrics not yet fetched
    carried = progress.get('pending_rows', [])  # fetched rows of a run stopped mid-interval
    step = start_step
    last_log_time, last_log_step, train_start = time.time(), step, time.time()
    order_epoch, order = -1, None
    def progress_now(**extra) -> dict:
        """What a checkpoint records besides the state: enough to resume exactly."""
        return dict(monitor.state(), best_val_loss=best_val, best_step=best_step,
                    image_shape=list(image_shape), **extra)

    while step < total_steps:
        if stop.requested:
            # Save the current step (with the metrics of the unfinished log interval, so
            # the resumed run logs the same rows), then stop.
            rows = carried + _unstack_rows(parallel.to_host(pending))
            _check_finite(step - len(rows), rows)
            ckpts.save(checkpointing.LATEST, step, state, progress_now(pending_rows=rows))
            ckpts.wait_until_finished()
            ckpts.close()
            raise reliability.StopRequested(step, stop.signum, workdir)
        epoch, i = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order_epoch, order = epoch, epoch_order(config.seed, epoch, num_train)
        # A fused chunk never crosses an epoch end or a log step, so the chunks (and the
        # numbers) depend only on the step: a resumed run cuts them exactly as before.
        fused = steps_per_dispatch > 1 and steps_per_dispatch <= min(
            steps_per_epoch - i, config.log_every_steps - step % config.log_every_steps)
        count = steps_per_dispatch if fused else 1
        idx = order[i * config.batch_size:(i + count) * config.batch_size]
        if fused:
            images = dataset.train.images[idx].reshape((count, config.batch_size) + image_shape)
            state, metrics = fused_fn(state, parallel.shard_steps(mesh, images), pair_key)
        else:
            state, metrics = step_fn(state, parallel.shard_batch(
                mesh, dataset.train.images[idx]), pair_key)
        pending.append(metrics)
        step += count
        end_of_epoch = step % steps_per_epoch == 0
        if step % config.log_every_steps == 0 or end_of_epoch:
            rows = carried + _unstack_rows(parallel.to_host(pending))
            _check_finite(step - len(rows), rows)
            pending, carried = [], []
            now = time.time()
            rate = (step - last_log_step) * config.batch_size / max(now - last_log_time, 1e-9)
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            warnings = monitor.update(step, 'train', {k: mean[k] for k in LOSS_TERMS})
            row = dict(step=step, epoch=step / steps_per_epoch, split='train',
                       images_per_sec=rate, **mean)
            if warnings:
                row['warnings'] = warnings
                for w in warnings:
                    logging.warning('%s', w)
            metrics_log.write(row)
            logging.info('step %d/%d  loss %.5f (recon %.5f inv %.5f const %.5f)  variant '
                         '%.2f  %.0f img/s  ETA %s', step, total_steps, mean['loss'],
                         mean['recon'], mean['inv'], mean['const'], mean['variant_share'],
                         rate, _format_duration((total_steps - step) * config.batch_size /
                                                max(rate, 1e-9)))
            last_log_time, last_log_step = time.time(), step
        if end_of_epoch:
            val = validate(state.params)
            _check_finite_val(step, val)
            warnings = monitor.update(step, 'val', val)
            for w in warnings:
                logging.warning('%s', w)
            improved = val['loss'] < best_val
            if improved:
                best_val, best_step = val['loss'], step
            metrics_log.write(dict(step=step, epoch=step // steps_per_epoch, split='val',
                                   best=improved, **val, **({'warnings': warnings}
                                                            if warnings else {})))
            logging.info('epoch %d/%d  val loss %.5f (recon %.5f)%s', step // steps_per_epoch,
                         config.num_epochs, val['loss'], val['recon'],
                         '  * best' if improved else '')
            progress = progress_now()
            if improved:
                ckpts.save(checkpointing.BEST, step, state, progress)
            ckpts.save(checkpointing.LATEST, step, state, progress)
    ckpts.wait_until_finished()
    ckpts.close()
    metrics_log.close()
    elapsed = time.time() - train_start
    summary = dict(final_step=step, best_step=best_step, best_val_loss=best_val,
                   warnings=monitor.warnings, train_seconds=elapsed,
                   images_per_sec=(step - start_step) * config.batch_size / max(elapsed, 1e-9))
    logging.info('training done: step %d/%d in %s at %.0f img/s, best val loss %.5f at step '
                 '%s, %d divergence warnings; next: evaluation of the best checkpoint '
                 '(eval.json, figures/), then python -m gla.analyze --workdir %s for the '
                 'report', step, total_steps, _format_duration(elapsed),
                 summary['images_per_sec'], best_val, best_step, len(monitor.warnings),
                 workdir)
    return summary


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains, then evaluates the best checkpoint; writes ``eval.json`` and ``figures/``.

    The workdir stays locked (``workdir/.lock``) from the start of training to the end of
    the evaluation."""
    try:
        summary = train(config, workdir)
        return evaluate.evaluate_run(workdir, training_summary=summary)
    finally:
        reliability.unlock_workdir(workdir)
