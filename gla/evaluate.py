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

from gla import metrics
from gla import pairs
from gla import parallel
from gla import planes_eval
from gla import plots
from gla import probe
from gla import run as run_lib
from gla import swap
from gla.data import sources

PSNR_KEY = 'transformed_psnr_db_mean_over_test_images_and_group_elements'


def _pair_outputs(params, images, g, key, *, model, pair_fn):
    """Per-example metrics of the pairs made from ``(images, g)``."""
    variables = {'params': params}
    x, target = pair_fn(key, images, g)
    z = model.apply(variables, x, method=model.encode)
    z_v, z_i = model.apply(variables, z, method=model.split)
    acted = model.apply(variables, g, z_v, method=model.act)
    prediction = model.apply(variables, model.apply(variables, acted, z_i, method=model.combine),
                             method=model.decode)
    t_v, t_i = model.apply(variables, model.apply(variables, target, method=model.encode),
                           method=model.split)
    equi_err, equi_norm = metrics.squared_error_and_norm(acted, t_v)
    inv_err, inv_norm = metrics.squared_error_and_norm(z_i, t_i)
    return dict(mse=metrics.per_example_mse(prediction, target),
                psnr=metrics.psnr(prediction, target), ssim=metrics.ssim(prediction, target),
                equi_err=equi_err, equi_norm=equi_norm, inv_err=inv_err, inv_norm=inv_norm)


def _figure_arrays(params, images, g, key, *, model, pair_fn):
    variables = {'params': params}
    x, target = pair_fn(key, images, g)
    z = model.apply(variables, x, method=model.encode)
    z_v, z_i = model.apply(variables, z, method=model.split)
    acted = model.apply(variables, g, z_v, method=model.act)

    def norm(a):
        return jnp.sqrt(jnp.sum(jnp.square(a), axis=-1))

    # z_i as the decoder sees it: the invariant map, or a global code placed on the grid.
    z_i_map = model.apply(variables, jnp.zeros_like(acted), z_i, method=model.combine)
    return dict(input=x, target=target,
                prediction=model.apply(variables, z_i_map + acted, method=model.decode),
                z=norm(z), z_v=norm(acted), z_i=norm(z_i_map))


def _target_encoder(run):
    """The jitted ``(params, images, g, key) -> z(T_g x)``, or ``(z, u)`` with the global
    invariant code ``u`` of a run that has one; build it once per evaluation (a new one
    compiles again, which for a 24-element group took minutes)."""
    pair_fn = pairs.build_pair_fn(run.config, run.group)
    model = run.model

    def encode(p, x, g, k):
        z = model.apply({'params': p}, pair_fn(k, x, g)[1], method=model.encode)
        if model.invariant_code is None:
            return z
        return z, model.apply({'params': p}, z, method=model.split)[1]

    return jax.jit(encode)


def _encode_batches(run, mesh, images, g, key, batch_size, fn=None):
    """Latents of the targets ``T_g x`` of the pairs made from ``images`` and ``g`` (one
    element per image), gathered on the host (a tuple ``(z, u)`` for a run with a global
    invariant code). ``fn``: a :func:`_target_encoder` to reuse."""
    fn = fn or _target_encoder(run)
    out = []
    for idx, valid in parallel.padded_batches(len(images), batch_size):
        batch = parallel.shard_batch(mesh, (images[idx], jax.tree.map(lambda a: a[idx], g)))
        out.append(jax.tree.map(lambda a: a[valid], parallel.to_host(
            fn(run.params, *batch, jax.random.fold_in(key, int(idx[0]))))))
    return jax.tree.map(lambda *a: np.concatenate(a), *out)


def _repeat_element(elements, i, n):
    return jax.tree.map(lambda a: np.repeat(np.asarray(a)[i:i + 1], n, axis=0), elements)


def evaluate(run: run_lib.Run, dataset: sources.Dataset) -> dict:
    """All metrics of the module docstring for ``run`` on ``dataset.test``."""
    config, group, model = run.config, run.group, run.model
    mesh = parallel.make_mesh()
    batch_size = config.eval.batch_size + (-config.eval.batch_size) % jax.device_count()
    test = dataset.test
    elements = jax.tree.map(np.asarray, group.eval_elements())
    names = group.describe(elements)
    outputs_fn = jax.jit(functools.partial(_pair_outputs, model=model,
                                           pair_fn=pairs.build_pair_fn(config, group)))
    key = jax.random.key(config.eval.test_pairs_seed)

    per_element, totals = {}, {k: 0.0 for k in ('equi_err', 'equi_norm', 'inv_err',
                                                  'inv_norm')}
    all_psnr, all_mse, all_ssim = [], [], []
    for i, name in enumerate(names):
        g_all = _repeat_element(elements, i, len(test))
        rows = []
        for idx, valid in parallel.padded_batches(len(test), batch_size):
            batch = parallel.shard_batch(
                mesh, (test.images[idx], jax.tree.map(lambda a: a[idx], g_all)))
            out = parallel.to_host(outputs_fn(
                run.params, *batch, jax.random.fold_in(jax.random.fold_in(key, i),
                                                       int(idx[0]))))
            rows.append({k: v[valid] for k, v in out.items()})
        out = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        per_element[name] = dict(psnr_db=float(out['psnr'].mean()), mse=float(out['mse'].mean()),
                                 ssim=float(out['ssim'].mean()))
        all_psnr.append(out['psnr'])
        all_mse.append(out['mse'])
        all_ssim.append(out['ssim'])
        for k in totals:
            totals[k] += float(out[k].sum())

    mask = run.mask > 0.5
    num_channels = int(mask.size)

    def relative(err, norm):
        return totals[err] / totals[norm] if totals[norm] > 0 else None

    results = {
        PSNR_KEY: float(np.mean(np.concatenate(all_psnr))),
        'transformed_mse_mean': float(np.mean(np.concatenate(all_mse))),
        'transformed_ssim_mean': float(np.mean(np.concatenate(all_ssim))),
        'per_group_element': per_element,
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
    if _is_blocked(config):
        results['swap_test'] = swap.swap_test(run, test.images, config.eval.swap_seed,
                                              batch_size)
    return results


def _is_blocked(config) -> bool:
    return 'blocks' in config and bool(config.blocks.enabled)


def linear_probe(run, dataset, elements, mask, mesh, batch_size) -> dict:
    """Probe accuracies ``{features: {'upright', 'transformed'}}`` for z, z_v, z_i."""
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
    num_elements = len(jax.tree.leaves(elements)[0])
    moved_z = jax.tree.map(lambda *a: np.concatenate(a), *[
        encode(run, mesh, test.images, _repeat_element(elements, i, len(test)),
               jax.random.fold_in(test_key, i), batch_size)
        for i in range(num_elements)])
    moved_labels = np.tile(test.labels, num_elements)
    train_f, upright_f, moved_f = (probe_features(z, mask)
                                   for z in (train_z, upright_z, moved_z))
    results = {}
    for name in ('z', 'z_v', 'z_i'):
        results[name] = probe.linear_probe_accuracy(
            train_f[name], train.labels,
            {'upright': (upright_f[name], test.labels),
             'transformed': (moved_f[name], moved_labels)},
            steps=config.eval.probe_steps, l2=config.eval.probe_l2)
    return results


def probe_features(latents, mask: np.ndarray) -> dict:
    """The probe's features ``{'z', 'z_v', 'z_i'}`` from encoder outputs: ``latents`` is the
    latent map ``z`` ``(N, *h, c)`` (the paper's mode: ``z_v`` and ``z_i`` are its variant
    and invariant channels) or ``(z, u)`` with a global invariant code ``u`` ``(N, dim)``
    (``z_i = u``; ``z`` = the variant channels and ``u``, all the decoder sees)."""
    if not isinstance(latents, tuple):
        return {'z': latents, 'z_v': latents[..., mask], 'z_i': latents[..., ~mask]}
    z, u = latents
    z_v = z[..., mask].reshape(len(z), -1)
    return {'z': np.concatenate([z_v, u], axis=1), 'z_v': z_v, 'z_i': u}


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
                                   pair_fn=pairs.build_pair_fn(run.config, run.group)))
    elements = jax.tree.map(np.asarray, run.group.eval_elements())
    num = len(jax.tree.leaves(elements)[0])
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
    if run.config.data.source == 'planes':  # background swap (planes_eval.py)
        results.update(planes_eval.evaluate(run, dataset))
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
        figures = os.path.join(workdir, 'figures')
        os.makedirs(figures, exist_ok=True)
        element_names = run.group.describe(jax.tree.map(np.asarray,
                                                        run.group.eval_elements()))
        plots.transform_grid(os.path.join(figures, 'transforms.png'), grid, element_names)
        if plots.is_volume_grid(grid):
            plots.orbit_3d(os.path.join(figures, 'orbit.png'), grid, element_names)
        plots.loss_curves(os.path.join(figures, 'losses.png'),
                          plots.read_metrics(os.path.join(workdir, 'metrics.jsonl')))
        if _is_blocked(run.config):
            plots.swap_test_grid(os.path.join(figures, 'swap.png'),
                                 swap.figure_arrays(run, dataset.test.images,
                                                    run.config.eval.swap_seed, max(n, 4)),
                                 run.group.describe(swap.swap_elements(run.group)))
        if run.config.data.source == 'planes':  # orbit.png, swap.png
            planes_eval.write_figures(figures, run, dataset)
    return results
