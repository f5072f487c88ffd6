"""Evaluation of a trained run on its test split: ``workdir/eval.json`` and figures.

For every test image ``x`` and every evaluation group element ``g`` (all four for C4):
  * transformed reconstruction ``D(z_i + Phi_g z_v)`` against ``T_g x``: MSE, PSNR, SSIM;
  * relative equivariance error ``sum ||Phi_g z_v(x) - z_v(T_g x)||^2 / sum ||z_v(T_g x)||^2``
    and invariance error ``sum ||z_i(x) - z_i(T_g x)||^2 / sum ||z_i(T_g x)||^2`` (sums over
    the whole test set and all elements);
  * a linear probe on ``z``, ``z_v`` (variant channels only) and ``z_i`` (invariant channels
    only), trained on randomly transformed training images and tested on upright test
    images and on the test images under every evaluation element.
The checkpoint is read through :func:`gla.run.load_run`, the path users call.
"""

from __future__ import annotations

import functools
import json
import math
import os
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from gla import metrics
from gla import models
from gla import parallel
from gla import plots
from gla import probe
from gla import run as run_lib
from gla import settings
from gla.data import sources
from gla.groups import base

PSNR_KEY = 'transformed_psnr_db_mean_over_test_images_and_group_elements'


def _pair_outputs(params, images, g, key, *, model, pair_fn):
    """Per-example metrics of the pairs made from ``(images, g)``."""
    x, target = pair_fn(key, images, g)
    parts = models.forward(model, params, x, g)
    _, target_v, target_i = models.split_latent(model, params, target)
    equi_err, equi_norm = metrics.squared_error_and_norm(parts.acted, target_v)
    inv_err, inv_norm = metrics.squared_error_and_norm(parts.z_i, target_i)
    return dict(mse=metrics.per_example_mse(parts.prediction, target),
                psnr=metrics.psnr(parts.prediction, target),
                copy_psnr=metrics.psnr(x, target),  # baseline: T_g x predicted by x
                black_psnr=metrics.psnr(jnp.full_like(target, -1.0), target),  # all -1
                ssim=metrics.ssim(parts.prediction, target),
                equi_err=equi_err, equi_norm=equi_norm, inv_err=inv_err, inv_norm=inv_norm)


def _figure_arrays(params, images, g, key, *, model, pair_fn):
    x, target = pair_fn(key, images, g)
    parts = models.forward(model, params, x, g)

    def norm(a):
        return jnp.sqrt(jnp.sum(jnp.square(a), axis=-1))

    images = dict(input=x, target=target, prediction=parts.prediction)
    if parts.z.ndim == 2:  # a global code (config.model.latent='code'): no map to draw
        return images
    # z_i as the decoder sees it: the invariant map, or a global code placed on the grid.
    return dict(images, z=norm(parts.z), z_v=norm(parts.acted), z_i=norm(parts.invariant_map))


def _target_encoder(run):
    """The jitted ``(params, images, g, key) -> (z, z_i)`` of the targets ``T_g x``; build it
    once per evaluation (a new one compiles again, which for a 24-element group took
    minutes)."""
    pair_fn = settings.pair_fn(run.config, run.group)

    def encode(p, x, g, k):
        z, _, z_i = models.split_latent(run.model, p, pair_fn(k, x, g)[1])
        return z, z_i

    return jax.jit(encode)


def _encode_batches(run, mesh, images, g, key, batch_size, fn=None):
    """Latents ``(z, z_i)`` of the targets ``T_g x`` of the pairs made from ``images`` and
    ``g`` (one element per image), gathered on the host. ``fn``: a :func:`_target_encoder`
    to reuse."""
    fn = fn or _target_encoder(run)
    out = []
    for idx, valid in parallel.padded_batches(len(images), batch_size):
        batch = parallel.shard_batch(mesh, (images[idx], jax.tree.map(lambda a: a[idx], g)))
        out.append(jax.tree.map(lambda a: a[valid], parallel.to_host(
            fn(run.params, *batch, jax.random.fold_in(key, int(idx[0]))))))
    return jax.tree.map(lambda *a: np.concatenate(a), *out)


def _repeat_element(elements, i, n):
    return jax.tree.map(lambda a: np.repeat(np.asarray(a)[i:i + 1], n, axis=0), elements)


def _outputs_per_element(run: run_lib.Run, test: sources.Split, elements, mesh,
                         batch_size: int):
    """Yields ``(name, {metric: (N,)})`` for every evaluation element: the per-example
    outputs of :func:`_pair_outputs` on the test pairs under that element."""
    outputs_fn = jax.jit(functools.partial(_pair_outputs, model=run.model,
                                           pair_fn=settings.pair_fn(run.config, run.group)))
    key = jax.random.key(run.config.eval.test_pairs_seed)
    names = run.group.describe(elements)
    for i, name in enumerate(names):
        logging.info('evaluation: g = %s (%d of %d) on %d test images', name, i + 1,
                     len(names), len(test))
        g_all = _repeat_element(elements, i, len(test))
        rows = []
        for idx, valid in parallel.padded_batches(len(test), batch_size):
            batch = parallel.shard_batch(
                mesh, (test.images[idx], jax.tree.map(lambda a: a[idx], g_all)))
            out = parallel.to_host(outputs_fn(
                run.params, *batch, jax.random.fold_in(jax.random.fold_in(key, i),
                                                       int(idx[0]))))
            rows.append({k: v[valid] for k, v in out.items()})
        yield name, {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}


def evaluate(run: run_lib.Run, dataset: sources.Dataset) -> dict:
    """All metrics of the module docstring for ``run`` on ``dataset.test``."""
    config, group = run.config, run.group
    mesh = parallel.make_mesh()
    batch_size = config.eval.batch_size + (-config.eval.batch_size) % jax.device_count()
    test = dataset.test
    elements = jax.tree.map(np.asarray, group.eval_elements())
    names = group.describe(elements)
    per_element, totals = {}, {k: 0.0 for k in ('equi_err', 'equi_norm', 'inv_err',
                                                  'inv_norm')}
    pooled = {k: [] for k in ('psnr', 'mse', 'ssim', 'copy_psnr', 'black_psnr')}
    for name, out in _outputs_per_element(run, test, elements, mesh, batch_size):
        per_element[name] = dict(psnr_db=float(out['psnr'].mean()), mse=float(out['mse'].mean()),
                                 ssim=float(out['ssim'].mean()))
        for k in pooled:
            pooled[k].append(out[k])
        for k in totals:
            totals[k] += float(out[k].sum())
    all_psnr, all_mse, all_ssim = pooled['psnr'], pooled['mse'], pooled['ssim']

    mask = run.mask > 0.5
    num_channels = int(mask.size)

    def relative(err, norm):
        return totals[err] / totals[norm] if totals[norm] > 0 else None

    results = {
        PSNR_KEY: float(np.mean(np.concatenate(all_psnr))),
        'transformed_mse_mean': float(np.mean(np.concatenate(all_mse))),
        'transformed_ssim_mean': float(np.mean(np.concatenate(all_ssim))),
        'per_group_element': per_element,
        # Predictors that learn nothing, scored like the prediction: T_g x predicted by x
        # (over the pairs where they differ: the identity's pairs are exact copies) and by
        # an all-black image (every pixel -1: the background of digits and volumes).
        'baselines': {'copy_input_psnr_db': _finite_mean(pooled['copy_psnr']),
                      'black_image_psnr_db': _finite_mean(pooled['black_psnr'])},
        'equivariance_error_relative': relative('equi_err', 'equi_norm'),
        'invariance_error_relative': relative('inv_err', 'inv_norm'),
        'variant_share': float(mask.mean()),
        'num_variant_channels': int(mask.sum()),
        'num_channels': num_channels,
        'variant_channels': [int(c) for c in np.flatnonzero(mask)],
        'linear_probe': linear_probe(run, dataset, elements, mask, mesh, batch_size),
        'group': group.name,
        'group_elements': names,
        'num_test_images': len(test),
        'step': run.step,
        'data': dataset.description,
    }
    results.update(settings.for_config(config).evaluate(run, dataset, batch_size))
    return results


def linear_probe(run, dataset, elements, mask, mesh, batch_size) -> dict:
    """Probe accuracies ``{features: {'upright', 'transformed'}}`` for z, z_v, z_i."""
    config = run.config
    train_f, upright_f, moved_f, moved_labels = probe_features(
        run, dataset, elements, mask, mesh, batch_size)
    names = ('z', 'z_v', 'z_i')
    width = max(math.prod(train_f[name].shape[1:]) for name in names)  # one compiled fit
    results = {}
    for name in names:
        results[name] = probe.linear_probe_accuracy(
            train_f[name], dataset.train.labels,
            {'upright': (upright_f[name], dataset.test.labels),
             'transformed': (moved_f[name], moved_labels)},
            steps=config.eval.probe_steps, l2=config.eval.probe_l2, width=width)
    return results


def probe_features(run, dataset, elements, mask, mesh, batch_size) -> tuple:
    """The probe's inputs ``(train, upright, moved, moved_labels)``: ``{'z', 'z_v', 'z_i':
    (N, ...)}`` for the training split under the probe's seeded elements, the test split
    upright, and the test split under every evaluation element in turn (its labels tiled)."""
    config = run.config
    train, test = dataset.train, dataset.test
    train_g = jax.tree.map(np.asarray, run.group.sample(
        jax.random.key(config.eval.probe_seed), len(train)))
    key = jax.random.key(config.eval.probe_seed)
    encode = functools.partial(_encode_batches, fn=_target_encoder(run))
    train_z = encode(run, mesh, train.images, train_g, key, batch_size)
    test_key = jax.random.key(config.eval.test_pairs_seed)
    upright_z = encode(run, mesh, test.images,
                       jax.tree.map(np.asarray, run.group.identity(len(test))),
                       test_key, batch_size)
    num_elements = base.num_elements(elements)
    moved_z = jax.tree.map(lambda *a: np.concatenate(a), *[
        encode(run, mesh, test.images, _repeat_element(elements, i, len(test)),
               jax.random.fold_in(test_key, i), batch_size)
        for i in range(num_elements)])
    moved_labels = np.tile(test.labels, num_elements)
    train_f, upright_f, moved_f = (run.model.probe_features(z, z_i, mask)
                                   for z, z_i in (train_z, upright_z, moved_z))
    return train_f, upright_f, moved_f, moved_labels


def _finite_mean(arrays: list) -> Optional[float]:
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _non_finite(tree, path='') -> list:
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in _non_finite(v, f'{path}/{k}')]
    if isinstance(tree, float) and not math.isfinite(tree):
        return [path]
    return []


def figure_arrays(run: run_lib.Run, images: np.ndarray) -> dict:
    """Arrays of the transform grid for ``images`` ``(n, *spatial, C)`` under every
    evaluation element: ``{row: (n_elements, n, ...)}``."""
    fn = jax.jit(functools.partial(_figure_arrays, model=run.model,
                                   pair_fn=settings.pair_fn(run.config, run.group)))
    elements = jax.tree.map(np.asarray, run.group.eval_elements())
    num = base.num_elements(elements)
    key = jax.random.key(run.config.eval.test_pairs_seed)
    rows = [fn(run.params, images, _repeat_element(elements, i, len(images)),
               jax.random.fold_in(key, i)) for i in range(num)]
    return {k: np.stack([parallel.to_host(r[k]) for r in rows]) for k in rows[0]}


def write_json(path: str, data: dict) -> None:
    """Writes ``data`` atomically: a crash leaves the old file or the new one, never half."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def evaluate_run(workdir: str, training_summary: Optional[dict] = None,
                 which: str = 'best') -> dict:
    """Evaluates the ``which`` checkpoint of ``workdir``; writes ``eval.json`` and
    ``figures/*.png`` (process 0); returns the results."""
    run = run_lib.load_run(workdir, which)
    dataset = sources.load_dataset(run.config.data, cache_dir=workdir)
    results = evaluate(run, dataset)
    results['checkpoint'] = which
    # The warnings of the whole run (the summary's), not only those up to the best step.
    results['training'] = dict(training_summary or {},
                               warnings=(training_summary or {}).get(
                                   'warnings', run.progress.get('warnings', [])),
                               best_step=run.progress.get('best_step'),
                               best_val_loss=run.progress.get('best_val_loss'))
    bad = _non_finite(results)
    if bad:
        raise FloatingPointError(f'evaluation of {workdir} gave non-finite values at {bad}; '
                                 'eval.json was not written. The checkpoint is broken or the '
                                 'model diverged: look at metrics.jsonl.')
    n = run.config.eval.num_figure_images
    # Every process computes the figure: its parameters live on the devices of all processes.
    grid = figure_arrays(run, dataset.test.images[:n])
    if jax.process_index() == 0:
        write_json(os.path.join(workdir, 'eval.json'), results)
        write_figures(os.path.join(workdir, 'figures'), run, dataset, grid)
    return results


def write_figures(directory: str, run: run_lib.Run, dataset: sources.Dataset,
                  grid: dict) -> None:
    """``transforms.png``, ``losses.png``, for volumes ``orbit.png``, and the setting's own
    figures, into ``directory``. ``grid``: :func:`figure_arrays` of a few test images."""
    os.makedirs(directory, exist_ok=True)
    names = run.element_names
    plots.transform_grid(os.path.join(directory, 'transforms.png'), grid, names)
    if plots.is_volume_grid(grid):  # one volume under up to 8 elements
        shown = plots.spread(len(names), 8)
        plots.orbit_figure(os.path.join(directory, 'orbit.png'), grid['target'][shown, :1],
                           grid['prediction'][shown, :1], [names[i] for i in shown], 3)
    plots.loss_curves(os.path.join(directory, 'losses.png'),
                      plots.read_metrics(os.path.join(run.workdir, 'metrics.jsonl')))
    settings.for_config(run.config).write_figures(directory, run, dataset)
