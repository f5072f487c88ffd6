"""Object metrics of a 3D run, each beside a prediction of background everywhere.

Every test volume ``x`` under every evaluation element ``g`` (the pairs of the whole-volume
action, ``T_g x = group.act(g, x)``) is predicted by the model, ``D(z_i + Phi_g z_v)``, and
by the all-background guess (every voxel ``-1``). Which metrics depends on what the data
knows about its objects:

  * structures known (data sources in :data:`STRUCTURE_SOURCES`: the head phantoms, whose
    label maps are drawn again from the generator's seeds): PSNR inside the head, and the
    contrast of each small structure (ventricles, lesions) against the brain tissue, in
    ``T_g x`` (``true``), in the prediction and in the guess (0), with its absolute error;
    the label maps turn with the volume (thresholded at 0.5 after the action);
  * otherwise, binary shapes (AdrenalMNIST3D masks, a user's volumes): Dice and IoU of the
    prediction thresholded at the midpoint 0 against ``T_g x`` thresholded alike, and the
    error over ``T_g x``'s foreground only.

Each value is the mean over the (volume, element) pairs where it is finite (an empty
structure has no contrast, an exact prediction no finite PSNR); ``eval.json`` gets them
under :data:`KEY` as ``{metric: {'model': ..., 'all_background': ...}}`` (formulas:
:mod:`gla.volume_metrics`). This pass costs one more forward pass per pair (the tiny 3D
config: 1.3 s of its 8 s evaluation).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gla import models
from gla import parallel
from gla import report_page as page
from gla.settings import base as setting_base
from gla import volume_metrics as vm
from gla.groups import base

KEY = 'volume_metrics'
GUESSES = ('model', 'all_background')


def _phantom_regions(data: ml_collections.ConfigDict, test_images: np.ndarray) -> dict:
    """The regions of the test phantoms, ``{name: bool (N, D, H, W)}``: ``head`` (anything
    but background), ``tissue`` (brain and white matter, the reference of contrasts),
    ``ventricles``, ``lesions``. Drawn again from the generator, checked against the data."""
    from gla.data import phantom
    n, size = len(test_images), test_images.shape[1]
    volumes, maps = phantom.phantom_label_maps('test', n, size, data.phantom.seed)
    if not np.allclose(volumes * 2.0 - 1.0, test_images[..., 0], atol=1e-6):
        raise ValueError('the phantoms drawn again for their label maps differ from the test '
                         'volumes: gla/data/phantom.py and the phantom source disagree')
    label = {name: i for i, name in enumerate(phantom.STRUCTURES)}
    return {'head': maps != label['background'],
            'tissue': (maps == label['brain']) | (maps == label['white_matter']),
            'ventricles': maps == label['ventricles'], 'lesions': maps == label['lesions']}


# config.data.source -> (config.data, test images (N, D, H, W, C)) -> {region: (N, D, H, W)}
# with 'head' and 'tissue' among the regions; every other region gets a contrast.
STRUCTURE_SOURCES = {'phantom': _phantom_regions}


def _element_batches(fn: Callable, params, images: np.ndarray, extras, elements,
                     batch_size: int) -> dict:
    """``fn(params, x, extras, g) -> {name: (B,)}`` over every test batch under every element
    of ``elements``; returns ``{name: (E * N,)}`` on the host."""
    mesh, fn, n = parallel.make_mesh(), jax.jit(fn), len(images)
    rows = []
    for i in range(base.num_elements(elements)):
        g_all = jax.tree.map(lambda a: np.repeat(np.asarray(a)[i:i + 1], n, axis=0), elements)
        for idx, valid in parallel.padded_batches(n, batch_size):
            batch = parallel.shard_batch(mesh, jax.tree.map(lambda a: a[idx],
                                                            (images, extras, g_all)))
            out = parallel.to_host(fn(params, *batch))
            rows.append({k: v[valid] for k, v in out.items()})
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}


def _mean(values: np.ndarray) -> Optional[float]:
    """Mean over the finite values (the pairs where the metric is defined); None if none."""
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _guesses(predict, params, x, g, target) -> dict:
    return {'model': predict(params, x, g), 'all_background': jnp.full_like(target, -1.0)}


def _shape_stats(params, x, extras, g, *, predict, group, threshold):
    del extras
    target = group.act(g, x)
    out = {'foreground_fraction': jnp.mean(vm.foreground(target, threshold),
                                           axis=tuple(range(1, target.ndim)))}
    for name, guess in _guesses(predict, params, x, g, target).items():
        out[f'dice/{name}'] = vm.dice(guess, target, threshold)
        out[f'iou/{name}'] = vm.iou(guess, target, threshold)
        out[f'foreground_mse/{name}'] = vm.foreground_mse(guess, target, threshold)
        out[f'foreground_psnr_db/{name}'] = vm.psnr_of_mse(out[f'foreground_mse/{name}'])
    return out


def shape_metrics(predict: Callable, params, group: base.Group, images: np.ndarray,
                  batch_size: int, threshold: float = vm.MIDPOINT) -> dict:
    """Dice, IoU and foreground error of binary shapes (module docstring).

    ``predict(params, x, g) -> (B, *spatial, C)``, jittable; ``images`` ``(N, *spatial, C)``
    in ``[-1, 1]``; every element of ``group.eval_elements()``.
    """
    elements = jax.tree.map(np.asarray, group.eval_elements())
    stats = _element_batches(
        functools.partial(_shape_stats, predict=predict, group=group, threshold=threshold),
        params, images, (), elements, batch_size)
    out = {'kind': 'binary_shape', 'threshold': float(threshold),
           'num_pairs': len(stats['foreground_fraction']),
           'foreground_fraction': _mean(stats['foreground_fraction'])}
    for metric in ('dice', 'iou', 'foreground_mse', 'foreground_psnr_db'):
        out[metric] = {name: _mean(stats[f'{metric}/{name}']) for name in GUESSES}
    return out


def _structure_stats(params, x, masks, g, *, predict, group, names):
    target = group.act(g, x)
    moved = group.act(g, masks.astype(jnp.float32)) > 0.5  # the regions turn with x
    region = {name: moved[..., k:k + 1] for k, name in enumerate(names)}
    small = [name for name in names if name not in ('head', 'tissue')]
    out = {f'{s}_contrast/true': vm.structure_contrast(target, region[s], region['tissue'])
           for s in small}
    for name, guess in _guesses(predict, params, x, g, target).items():
        out[f'head_psnr_db/{name}'] = vm.masked_psnr(guess, target, region['head'])
        out[f'head_mse/{name}'] = vm.masked_mse(guess, target, region['head'])
        for s in small:
            out[f'{s}_contrast/{name}'] = vm.structure_contrast(guess, region[s],
                                                                region['tissue'])
    return out


def structure_metrics(predict: Callable, params, group: base.Group, images: np.ndarray,
                      regions: dict, batch_size: int) -> dict:
    """PSNR inside the head and structure contrasts (module docstring). ``regions``:
    ``{name: bool (N, *spatial)}`` with ``head`` and ``tissue``; ``predict`` and
    ``images`` as for :func:`shape_metrics`."""
    names = tuple(regions)
    masks = np.stack([regions[name] for name in names], axis=-1)
    elements = jax.tree.map(np.asarray, group.eval_elements())
    stats = _element_batches(
        functools.partial(_structure_stats, predict=predict, group=group, names=names),
        params, images, masks, elements, batch_size)
    out = {'kind': 'structures', 'num_pairs': len(stats['head_mse/model'])}
    for metric in ('head_psnr_db', 'head_mse'):
        out[metric] = {name: _mean(stats[f'{metric}/{name}']) for name in GUESSES}
    for s in (name for name in names if name not in ('head', 'tissue')):
        true = stats[f'{s}_contrast/true']
        out[f'{s}_contrast'] = dict({name: _mean(stats[f'{s}_contrast/{name}'])
                                     for name in GUESSES}, true=_mean(true))
        out[f'{s}_contrast_abs_error'] = {
            name: _mean(np.abs(stats[f'{s}_contrast/{name}'] - true)) for name in GUESSES}
        out[f'num_pairs_with_{s}'] = int(np.isfinite(true).sum())
    return out


def model_prediction(params, x, g, *, model):
    """The model's prediction of ``T_g x`` for volumes ``x`` ``(B, D, H, W, C)`` and elements
    ``g`` ``(B,)``: the ``predict`` that :func:`shape_metrics` and
    :func:`structure_metrics` take (with ``model`` bound)."""
    return models.forward(model, params, x, g).prediction


def evaluate(run, dataset, batch_size: int) -> dict:
    """The setting's ``eval.json`` entries: ``{KEY: structure or shape metrics}``."""
    predict_fn = functools.partial(model_prediction, model=run.model)
    test = dataset.test.images
    regions = STRUCTURE_SOURCES.get(run.config.data.source)
    if regions is None:
        return {KEY: shape_metrics(predict_fn, run.params, run.group, test, batch_size)}
    return {KEY: structure_metrics(predict_fn, run.params, run.group, test,
                                   regions(run.config.data, test), batch_size)}


LABELS = {  # eval.json key -> the report's words, in the report's order
    'dice': 'Dice of the thresholded shape',
    'iou': 'IoU of the thresholded shape',
    'foreground_psnr_db': 'PSNR over the foreground of T_g x (dB)',
    'foreground_mse': 'MSE over the foreground of T_g x',
    'head_psnr_db': 'PSNR inside the head (dB)',
    'head_mse': 'MSE inside the head',
}


def labelled_metrics(metrics: dict) -> list:
    """``[(key, words)]`` of the metrics of an ``eval.json`` :data:`KEY` entry that compare
    the model with the all-background guess, in the report's order."""
    order = {key: i for i, key in enumerate(LABELS)}  # the labelled metrics first
    return [(key, LABELS.get(key, key.replace('_contrast_abs_error', ' contrast: absolute '
                                              'error').replace('_contrast', ' contrast '
                                                               '(against the tissue)')))
            for key in sorted(metrics, key=lambda k: (order.get(k, len(order)), k))
            if isinstance(metrics[key], dict) and 'model' in metrics[key]]


def table_rows(metrics: dict) -> list:
    """Rows ``(metric, this run, all-background prediction, in T_g x)`` of an ``eval.json``
    :data:`KEY` entry, for the report."""
    return [(label, metrics[key]['model'], metrics[key]['all_background'],
             metrics[key].get('true', '')) for key, label in labelled_metrics(metrics)]


def report_sections(run, dataset, out_dir: str) -> list:
    """The volume metrics of the run's ``eval.json`` as a table beside the guess."""
    del dataset, out_dir
    metrics = (setting_base.read_eval_json(run.workdir) or {}).get(KEY)
    title = 'Object metrics (volumes, test split)'
    if metrics is None:
        return [page.Section(title, '<p class="note">No volume metrics in <code>eval.json'
                             '</code>: the run was evaluated before they existed, or not yet. '
                             'Launch it again with the same <code>--workdir</code>: a finished '
                             'run skips training and evaluates again.</p>')]
    if metrics['kind'] == 'binary_shape':
        note = (f'Shapes thresholded at {metrics["threshold"]:g} (the midpoint of [-1, 1]); '
                f'the foreground is {100 * (metrics["foreground_fraction"] or 0):.2f} % of '
                'the voxels of T_g x.')
    else:
        note = ('Regions from the phantoms\' label maps, turned with the volume; contrast = '
                'mean inside the structure minus mean over the brain tissue.')
    body = (f'<p>Means over {metrics["num_pairs"]} (test volume, group element) pairs. '
            f'{note}</p>' + page.table(table_rows(metrics), (
                'metric', 'this run', 'all-background prediction', 'in T_g x')))
    return [page.Section(title, body)]
