"""Evaluation specific to the planes setting: the background-swap test, view synthesis on the
plane (``synthesis.py``: whole-view and silhouette PSNR beside the sky-only and copy-input
predictors), the orbit and swap figures, and a table of several runs' ``eval.json`` (the
latent-action comparison).

Background swap: for test objects A and B (B is the next test object), both seen in the same
view ``k``, decode ``z_i(A) + z_v(B)``. If the split is right the result shows A's sky and
B's plane. Measured on the sky pixels of both A and B (no plane in either), against A's sky
and, for reference, against B's sky; and on B's plane pixels, against B's image and, for
reference, against A's image (which there shows A's sky or A's plane). The plane's pixels
are the test objects' silhouettes (``data.test_scene``: for rendered planes the pixels that
differ from the sky, drawn again from the renderer's seeds, so no mask is stored).

    python -m gla.settings.planes.evaluate runs/planes_cmp/*/   # table of the runs' eval.json
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from gla import groups
from gla import plots
from gla import yaw_renderer
from gla.data import sources
from gla.groups import base
from gla.settings.planes import data
from gla.settings.planes import synthesis


test_skies = data.test_skies  # the rendered test objects' skies (kept here: its old home)


def swap(run, sky_images: np.ndarray, plane_images: np.ndarray) -> np.ndarray:
    """``D(z_i(sky_images) + z_v(plane_images))`` (the model's swap at the identity), both
    ``(B, H, W, C)``."""
    return np.asarray(run.swap(sky_images, plane_images, run.group.identity(len(sky_images))))


def background_swap(run, dataset: sources.Dataset, silhouettes: np.ndarray, view: int = 0,
                    batch_size: int = 256) -> dict:
    """The background-swap metrics of the module docstring (MSE, images in [-1, 1]);
    ``silhouettes`` ``(N, V, H, W)`` bool are the test objects' plane pixels
    (``data.test_scene``). Where neither A nor B shows a plane, B's view is B's sky."""
    test = dataset.test.images  # (N, V, H, W, C)
    n = len(test)
    if n < 2:
        raise ValueError('the background-swap test needs at least 2 test objects')
    a_idx = np.arange(n)
    b_idx = np.roll(a_idx, -1)
    sums = dict(bg_a=0.0, bg_b=0.0, bg_n=0, plane_b=0.0, plane_a=0.0, plane_n=0)
    for start in range(0, n, batch_size):
        a, b = a_idx[start:start + batch_size], b_idx[start:start + batch_size]
        out = swap(run, test[a, view], test[b, view])
        plane_a, plane_b = silhouettes[a, view], silhouettes[b, view]
        background = ~plane_a & ~plane_b
        sq_a = np.sum(np.square(out - test[a, view]), axis=-1)  # (B, H, W)
        sq_b = np.sum(np.square(out - test[b, view]), axis=-1)
        sums['bg_a'] += float(sq_a[background].sum())
        sums['bg_b'] += float(sq_b[background].sum())  # B's sky there
        sums['bg_n'] += int(background.sum()) * test.shape[-1]
        sums['plane_b'] += float(sq_b[plane_b].sum())
        sums['plane_a'] += float(sq_a[plane_b].sum())
        sums['plane_n'] += int(plane_b.sum()) * test.shape[-1]
    return {
        'view': view,
        'num_pairs': n,
        'background_mse_vs_sky_of_A': sums['bg_a'] / sums['bg_n'],
        'background_mse_vs_sky_of_B': sums['bg_b'] / sums['bg_n'],
        'plane_region_mse_vs_B': sums['plane_b'] / sums['plane_n'],
        'plane_region_mse_vs_A': sums['plane_a'] / sums['plane_n'],
    }


def orbit(run, views: np.ndarray, start: int = 0) -> np.ndarray:
    """Predicted views ``(n, H, W, C)`` of one object under every element ``g`` of its
    group, all from view ``start`` of ``views`` ``(V, H, W, C)``: ``D(z_i + Phi_g z_v)``."""
    elements = np.asarray(run.group.eval_elements())
    x = np.repeat(views[start:start + 1], len(elements), axis=0)
    return np.asarray(run.transform(x, elements))


def orbit_figure(path: str, run, views: np.ndarray, start: int = 0) -> None:
    """True views ``T_g x`` (top) and predictions from one view (bottom), one column per g."""
    elements = np.asarray(run.group.eval_elements())
    stride = views.shape[0] // len(elements)
    truth = views[(start + stride * elements) % views.shape[0]]
    names = run.group.describe(elements)
    plots.orbit_figure(path, truth[:, None], orbit(run, views, start)[:, None], names, 2,
                       title=f'orbit of one test plane from the {names[0]} view')


def swap_figure(path: str, run, dataset: sources.Dataset, num: int = 5, view: int = 0) -> None:
    """Grid: row r, column c shows ``D(z_i(A_r) + z_v(B_c))`` (A's sky, B's plane); the first
    column holds the A images, the first row the B images."""
    images = dataset.test.images[:num, view]
    cells = np.stack([swap(run, np.repeat(images[r:r + 1], num, axis=0), images)
                      for r in range(num)])  # (num, num, H, W, C)
    plots.swap_grid(path, images, images, cells)


def pose_resultants(theta: np.ndarray) -> dict:
    """Poses ``theta`` ``(N, V)`` in radians of the ``V`` views of ``N`` objects -> the mean
    over objects of the length of the circular mean of ``theta_k - 2 pi k / V``
    (``winds_with_yaw``: 1 if the pose turns once with the yaw, as an exact C_V action
    needs), of ``theta_k + 2 pi k / V`` (``winds_against_yaw``) and of ``theta_k``
    (``constant_within_object``: 1 if every view gets one pose); about ``1 / sqrt(V)`` for
    poses without relation."""
    steps = 2 * np.pi * np.arange(theta.shape[1]) / theta.shape[1]
    length = lambda a: float(np.abs(np.exp(1j * a).mean(axis=1)).mean())  # noqa: E731
    return {'winds_with_yaw': length(theta - steps), 'winds_against_yaw': length(theta + steps),
            'constant_within_object': length(theta)}


def pose_metrics(run, views: np.ndarray, batch_size: int = 256):
    """For a ``code_decoder='yaw_volume'`` run (else ``None``): the pose ``theta`` (the angle
    of ``z_v``'s first pair, ``gla.yaw_renderer.pose_angle``) of every view of the objects
    ``views`` ``(N, V, H, W, C)``, summarised by :func:`pose_resultants`; with views in
    heading order (``config.data.planes.canonical_views``) also ``heading_error_deg``, the
    median and mean of ``|theta_k - 360 k / V|`` (the labels are within half a step of the
    true yaw)."""
    if run.config.model.get('code_decoder') != 'yaw_volume':
        return None
    n, v = views.shape[:2]
    flat = views.reshape((n * v,) + views.shape[2:])
    z = np.concatenate([np.asarray(run.encode(flat[i:i + batch_size]))
                        for i in range(0, len(flat), batch_size)])
    theta = np.asarray(yaw_renderer.pose_angle(z)).reshape(n, v)
    metrics = pose_resultants(theta)
    if run.config.data.planes.get('canonical_views', False):
        error = np.degrees(np.abs(np.angle(np.exp(1j * (theta - 2 * np.pi * np.arange(v) / v)))))
        metrics['heading_error_deg'] = {'median': float(np.median(error)),
                                        'mean': float(error.mean())}
    return metrics


def evaluate(run, dataset: sources.Dataset, batch_size: int) -> dict:
    """``{'background_swap': ..., 'view_synthesis': ..., 'pose': ...}`` for ``eval.json``
    (the swap in batches of 256, as measured; ``synthesis.py`` in ``batch_size``; the pose of
    a ``yaw_volume`` run on the test objects, :func:`pose_metrics`, else ``None``). The swap
    is ``None`` when the test objects' silhouettes are unknown (a file with neither
    ``silhouettes`` nor ``sky``)."""
    scene = data.test_scene(run.config, dataset.test.images)
    swap_metrics = (None if scene.silhouettes is None
                    else background_swap(run, dataset, scene.silhouettes))
    return {'background_swap': swap_metrics,
            'view_synthesis': synthesis.view_synthesis(run, dataset.test.images, scene,
                                                       batch_size),
            'pose': pose_metrics(run, dataset.test.images)}


def write_figures(directory: str, run, dataset: sources.Dataset) -> None:
    orbit_figure(os.path.join(directory, 'orbit.png'), run, dataset.test.images[0])
    swap_figure(os.path.join(directory, 'swap.png'), run, dataset,
                num=min(5, len(dataset.test)))


def _psnr_without_identity(e: dict) -> float:
    """Mean of the per-element PSNRs except the first (the identity, 0°): the yaw itself."""
    values = [e['per_group_element'][name]['psnr_db'] for name in e['group_elements'][1:]]
    return float(np.mean(values))


def _turned(e: dict, metric: str, predictor: str):
    """``view_synthesis.turned.<metric>.<predictor>`` of one ``eval.json``."""
    return e['view_synthesis']['turned'][metric][predictor]


TABLE_COLUMNS = (
    ('transformed PSNR (dB)', lambda e: e['transformed_psnr_db_mean_over_test_images_and_group_elements']),
    ('PSNR at 0° (dB)', lambda e: e['per_group_element'][e['group_elements'][0]]['psnr_db']),
    ('PSNR, g ≠ 0 (dB)', _psnr_without_identity),
    ('SSIM', lambda e: e['transformed_ssim_mean']),
    ('equivariance err', lambda e: e['equivariance_error_relative']),
    ('invariance err', lambda e: e['invariance_error_relative']),
    ('variant share', lambda e: e['variant_share']),
    ('swap: bg MSE vs A sky', lambda e: e['background_swap']['background_mse_vs_sky_of_A']),
    ('swap: bg MSE vs B sky', lambda e: e['background_swap']['background_mse_vs_sky_of_B']),
    ('swap: plane MSE vs B', lambda e: e['background_swap']['plane_region_mse_vs_B']),
    ('swap: plane MSE vs A', lambda e: e['background_swap']['plane_region_mse_vs_A']),
    ('probe z_i (transformed)', lambda e: e['linear_probe']['z_i']['transformed']),
    ('sky-only PSNR, g ≠ 0 (dB)', lambda e: _turned(e, 'psnr_db', 'sky_only')),
    ('copy-input PSNR, g ≠ 0 (dB)', lambda e: _turned(e, 'psnr_db', 'copy_input')),
    ('silhouette PSNR, g ≠ 0 (dB)', lambda e: _turned(e, 'silhouette_psnr_db', 'model')),
    ('sky-only silhouette PSNR', lambda e: _turned(e, 'silhouette_psnr_db', 'sky_only')),
    ('copy-input silhouette PSNR', lambda e: _turned(e, 'silhouette_psnr_db', 'copy_input')),
    ('pose: heading error, median (°)',
     lambda e: ((e.get('pose') or {}).get('heading_error_deg') or {}).get('median')),
)


def _number(value) -> str:
    return 'n/a' if value is None else f'{value:.4g}'


def tabulate(workdirs: list) -> str:
    """A markdown table, one row per run (its latent action and seed), of the numbers in
    :data:`TABLE_COLUMNS`, then the mean ± sample std over seeds per latent action."""
    rows, groups = [], {}
    for workdir in workdirs:
        if not os.path.isfile(os.path.join(workdir, 'eval.json')):
            continue  # unfinished run
        with open(os.path.join(workdir, 'eval.json')) as f:
            result = json.load(f)
        with open(os.path.join(workdir, 'config.json')) as f:
            config = json.load(f)
        values = []
        for _, get in TABLE_COLUMNS:
            try:
                values.append(get(result))
            except (KeyError, TypeError):
                values.append(None)
        action = config['group']['latent_action']
        rows.append((action, config['seed'], values))
        groups.setdefault(action, []).append(values)
    header = '| latent action | seed | ' + ' | '.join(c for c, _ in TABLE_COLUMNS) + ' |'
    lines = [header, '|' + ' --- |' * (len(TABLE_COLUMNS) + 2)]
    for action, seed, values in rows:
        lines.append(f'| {action} | {seed} | ' + ' | '.join(map(_number, values)) + ' |')
    for action, runs in groups.items():
        cells = []
        for column in zip(*runs):
            known = [v for v in column if v is not None]
            if not known:
                cells.append('n/a')
                continue
            std = float(np.std(known, ddof=1)) if len(known) > 1 else 0.0
            cells.append(f'{np.mean(known):.4g} ± {std:.2g}')
        lines.append(f'| **{action}** | mean ± std ({len(runs)}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def reference_psnr(images: np.ndarray, skies: np.ndarray, order: int) -> dict:
    """PSNR (dB, mean over objects, start views and steps g != 0) of two predictors that
    need no learning, for scale: ``'copy_input'`` predicts ``T_g x`` by ``x``;
    ``'sky_only'`` by the object's sky without a plane. ``images`` ``(N, V, H, W, C)``, skies
    ``(N, H, W, C)``, both in [-1, 1]."""
    views = images.shape[1]
    stride = views // order
    copy, sky = [], []
    for g in range(1, order):
        target = np.roll(images, -g * stride, axis=1)
        copy.append(np.mean(np.square(images - target), axis=(2, 3, 4)))
        sky.append(np.mean(np.square(skies[:, None] - target), axis=(2, 3, 4)))
    to_db = lambda mse: float(np.mean(10 * np.log10(4.0 / np.asarray(mse))))  # noqa: E731
    return {'copy_input': to_db(copy), 'sky_only': to_db(sky)}


def main(argv: list) -> None:
    if len(argv) >= 2 and argv[1] == '--reference':
        # --reference CONFIG.py CACHE_DIR: the PSNRs of predictors without learning.
        import importlib.util
        spec = importlib.util.spec_from_file_location('config', argv[2])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config = module.get_config()
        config.data.planes.cache_dir = argv[3]
        dataset = sources.load_dataset(config.data)
        order = base.eval_order(groups.group_from_config(config.group))
        skies = data.test_scene(config, dataset.test.images).skies
        if skies is None:
            raise SystemExit(f'{config.data.planes.path}: has no sky; the reference needs it.')
        print(json.dumps(reference_psnr(dataset.test.images, skies, order)))
        return
    if len(argv) < 2:
        raise SystemExit('usage: python -m gla.settings.planes.evaluate WORKDIR [WORKDIR ...]\n'
                         '       python -m gla.settings.planes.evaluate --reference CONFIG.py '
                         'CACHE_DIR')
    print(tabulate(argv[1:]))


if __name__ == '__main__':
    main(sys.argv)
