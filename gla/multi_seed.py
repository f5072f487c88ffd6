"""Many seeds in one program: ``config.num_seeds = N`` trains the seeds ``config.seed, ...,
config.seed + N - 1`` as N independent runs (their own parameters, Adam states, masks, data
order and training pairs) stepped together in one jitted program (each seed's step unrolled
in it: ``jax.vmap`` made grouped convolutions that XLA:CPU runs slower than separate runs).

Each seed is a complete ordinary run in ``WORKDIR/seed<s>/`` (``config.json`` with that seed
and ``num_seeds = 1``, checkpoints, ``metrics.jsonl``, ``eval.json``, figures), so
``gla.load_run``, the report and ``gla.compare`` read it like any run, and it equals a single
run of that seed to float rounding (``tests/test_multi_seed.py``).

Divergence is watched per seed and logged, but not acted on (a rollback would desynchronise
the stack): the seeds train with ``divergence_action='warn'``.
"""

from __future__ import annotations

import math
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from gla import checkpointing
from gla import divergence
from gla import errors
from gla import evaluate
from gla import metrics_log
from gla import parallel
from gla import stopping
from gla import train
from gla import train_setup
from gla import train_step
from gla import workdir as workdir_lib


def seed_workdir(workdir: str, seed: int) -> str:
    return os.path.join(workdir, f'seed{seed}')


def seed_config(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
    """The single-seed config of ``seed`` (what its ``config.json`` says)."""
    single = ml_collections.ConfigDict(config.to_dict())
    single.seed, single.num_seeds, single.divergence_action = seed, 1, 'warn'
    return single


def _stack(trees: list):
    """Leaf-wise stack, in the structure of the first tree (the seeds' states hold equal but
    distinct optimiser objects as static fields)."""
    leaves = [jax.tree.leaves(tree) for tree in trees]
    return jax.tree.unflatten(jax.tree.structure(trees[0]),
                              [jnp.stack(column) for column in zip(*leaves)])


def _unstack(tree, k: int):
    return jax.tree.map(lambda a: a[k], tree)


def _start(config: ml_collections.ConfigDict, workdir: str) -> tuple:
    """Per seed: setup, checkpoints, loop state, metrics writer; and the stacked state."""
    seeds = [config.seed + k for k in range(config.num_seeds)]
    setups = [train_setup.prepare(seed_config(config, s), seed_workdir(workdir, s)) for s in seeds]
    ckpts = [checkpointing.RunCheckpoints(setup.workdir) for setup in setups]
    started = [train_setup.initial_state(setup, c) for setup, c in zip(setups, ckpts)]
    steps = sorted({int(state.step) for state, _ in started})
    if len(steps) > 1:
        raise errors.ConfigMismatchError(
            f'the seeds in {workdir} stopped at different steps {steps}; relaunch each '
            'seed directory on its own (num_seeds=1) or use a new --workdir.')
    loops, writers = [], []
    for setup, (_, progress) in zip(setups, started):
        monitor = divergence.DivergenceMonitor(config.divergence_factor,
                                               config.divergence_floor, progress)
        loops.append(train.LoopState(monitor, progress.get('best_val_loss', math.inf),
                                     progress.get('best_step'), setup.dataset.image_shape,
                                     carried=progress.get('pending_rows', []),
                                     log_step=steps[0]))
        writers.append(metrics_log.MetricsLog(setup.workdir, steps[0]))
    state = jax.device_put(_stack([s for s, _ in started]), parallel.replicated(setups[0].mesh))
    return setups, ckpts, loops, writers, state, steps[0]


def _dispatch(setups: list, fns, state, step: int, orders: list, count: int) -> tuple:
    """One call of the stacked step on each seed's own images and pair key."""
    images = np.stack([train_setup.batch_images(setup, step, order, count)
                       for setup, order in zip(setups, orders)])
    keys = jnp.stack([setup.pair_key for setup in setups])
    sharded = parallel.shard_steps(setups[0].mesh, images, batch_axis=2 if count > 1 else 1)
    return (fns.fused if count > 1 else fns.single)(state, sharded, keys)


def _loop(setups, ckpts, loops, writers, state, step: int, stop) -> int:
    first = setups[0]
    fns = train_step.jit_step_functions(first.config, first.model, first.group,
                                        seeds_axis=True)
    validators = [train_setup.make_validator(setup) for setup in setups]
    pending, order_epoch, orders = [], -1, None
    while step < first.total_steps:
        if stop.requested:
            _stop(setups, ckpts, loops, pending, state, step, stop.signum)
        epoch = step // first.steps_per_epoch
        if epoch != order_epoch:
            order_epoch = epoch
            orders = [train_setup.epoch_order(s.config.seed, epoch, len(s.dataset.train))
                      for s in setups]
        count = train.steps_in_dispatch(first.config, step, first.steps_per_epoch)
        state, metrics = _dispatch(setups, fns, state, step, orders, count)
        pending.append(metrics)
        step += count
        end_of_epoch = step % first.steps_per_epoch == 0
        if step % first.config.log_every_steps == 0 or end_of_epoch:
            _hand_out(loops, pending)
            pending = []
            for k, setup in enumerate(setups):
                train.log_interval(setup, loops[k], writers[k], step)
        if end_of_epoch:
            for k, setup in enumerate(setups):
                train.end_of_epoch(setup, loops[k], writers[k], ckpts[k], _unstack(state, k),
                                   step, validators[k])
    return step


def _hand_out(loops: list, pending: list) -> None:
    """Stacked device metrics -> each seed's pending rows (one transfer for all seeds)."""
    host = parallel.to_host(pending)
    for k, loop in enumerate(loops):
        loop.pending = [_unstack(metrics, k) for metrics in host]


def _stop(setups, ckpts, loops, pending, state, step: int, signum: int) -> None:
    _hand_out(loops, pending)
    for k, setup in enumerate(setups):
        rows = loops[k].fetch_rows(step)
        ckpts[k].save(checkpointing.LATEST, step, _unstack(state, k),
                      loops[k].progress(pending_rows=rows))
    for c in ckpts:
        c.wait_until_finished()
        c.close()
    raise stopping.StopRequested(step, signum, os.path.dirname(setups[0].workdir))


def train_seeds(config: ml_collections.ConfigDict, workdir: str) -> list:
    """Trains (or resumes) the ``config.num_seeds`` seeds in ``WORKDIR/seed<s>``; returns
    one training summary per seed."""
    with stopping.StopSignals() as stop:
        setups, ckpts, loops, writers, state, start_step = _start(config, workdir)
        started = time.time()
        step = _loop(setups, ckpts, loops, writers, state, start_step, stop)
        for c, w in zip(ckpts, writers):
            c.wait_until_finished()
            c.close()
            w.close()
    elapsed = time.time() - started
    rate = (step - start_step) * config.batch_size * len(setups) / max(elapsed, 1e-9)
    logging.info('training done: %d seeds, step %d in %s at %.0f img/s over all seeds',
                 len(setups), step, metrics_log.format_duration(elapsed), rate)
    return [dict(final_step=step, best_step=loop.best_step, best_val_loss=loop.best_val,
                 warnings=loop.monitor.warnings, rollbacks=0, stopped_early='',
                 train_seconds=elapsed, images_per_sec=rate / len(setups),
                 seeds_in_program=len(setups)) for loop in loops]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> list:
    """Trains the seeds together, then evaluates each seed's best checkpoint (its own
    ``eval.json`` and ``figures/``); returns the list of results, seed by seed."""
    seeds = [config.seed + k for k in range(config.num_seeds)]
    try:
        summaries = train_seeds(config, workdir)
        return [evaluate.evaluate_run(seed_workdir(workdir, s), training_summary=summary)
                for s, summary in zip(seeds, summaries)]
    finally:
        for s in seeds:
            workdir_lib.unlock_workdir(seed_workdir(workdir, s))
