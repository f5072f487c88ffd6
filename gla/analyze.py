"""An HTML report of a trained run: ``python -m gla.analyze --workdir DIR``.

Writes ``DIR/report/index.html``, one self-contained page (``gla/page.py``: every
figure inlined, so it opens from disk in any browser without a server), and every figure as
a PNG beside it. The page leads with the headline test numbers, each beside a predictor that
learns nothing, then the orbit and swap figures; the config comes last, folded:

    losses.png      loss terms and the share of variant channels over training
    mask.png        the ALD mask: logit alpha per latent channel, variant channels marked
    orbit.png       a few test images under the group: true T_g x and predicted
    transforms.png  input / target / prediction / |z| / |Phi_g z_v| / |z_i|
    swap.png        D(z_i(A) + z_v(B)) for every pair of test images A, B (the model's swap
                    at the identity, gla/autoencoder.py)

It reads the run through :func:`gla.run.load_run` (any device count) and ``eval.json`` /
``metrics.jsonl`` from the workdir. Orbit and swap grid draw 3D settings as middle slices
(:func:`gla.plots.mid_slice`); the transform grid is :func:`gla.plots.transform_grid`, the
same figure as training's ``figures/transforms.png``. Pairs come from the setting's own pair
function, so settings whose scene is partly fixed (a block, a sky) need no change here; a
setting that wants more on the page returns sections from its ``report_sections``
(:mod:`gla.settings`).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from typing import Optional

import jax
import numpy as np

from gla import evaluate
from gla import plots
from gla import report_page as page
from gla import run as run_lib
from gla import settings
from gla.data import sources


def pick_images(split: sources.Split, n: int) -> np.ndarray:
    """``n`` test images, of distinct labels where there are enough (the first example of
    each label in order of appearance), then the next ones in order: ``(n, *spatial, C)``."""
    n = min(n, len(split))
    chosen, seen = [], set()
    for i, label in enumerate(split.labels):
        if int(label) not in seen:
            seen.add(int(label))
            chosen.append(i)
        if len(chosen) == n:
            break
    rest = [i for i in range(len(split)) if i not in set(chosen)]
    chosen += rest[:n - len(chosen)]
    return split.images[np.array(sorted(chosen))]


def clean_inputs(run: run_lib.Run, images: np.ndarray) -> np.ndarray:
    """The network inputs ``x`` of ``images`` under the identity, made by the setting's pair
    function (for settings that draw a fixed part onto both images)."""
    pair_fn = settings.pair_fn(run.config, run.group)
    key = jax.random.key(run.config.eval.test_pairs_seed)
    return np.asarray(pair_fn(key, images, run.group.identity(len(images)))[0])


def swap_latents(run: run_lib.Run, images_a: np.ndarray, images_b: np.ndarray) -> np.ndarray:
    """``out[i, j] = run.swap(A_i, B_j, e)``, i.e. ``D(z_i(A_i) + z_v(B_j))`` (the identity
    acts): ``(n, m, *spatial, C)``. Its diagonal (A = B) is the plain reconstruction
    ``D(z(A_i))``."""
    n, m = len(images_a), len(images_b)
    rows = np.repeat(images_a, m, axis=0)
    columns = np.tile(images_b, (n,) + (1,) * (images_b.ndim - 1))
    swapped = run.swap(rows, columns, run.group.identity(n * m))
    return np.asarray(swapped).reshape((n, m) + tuple(images_a.shape[1:]))


def _read_json(path: str) -> Optional[dict]:
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def config_section(run: run_lib.Run) -> page.Section:
    fields = page.flatten(run.config.to_dict())
    return page.Section('Config', f'<details><summary>The {len(fields)} fields the run was '
                        'trained with (<code>config.json</code>)</summary>'
                        + page.table(fields, ('field', 'value')) + '</details>')


def _majority_rate(dataset: Optional[sources.Dataset]) -> Optional[float]:
    if dataset is None:
        return None
    return float(np.max(np.bincount(dataset.test.labels)) / len(dataset.test.labels))


def headline_section(results: Optional[dict], dataset: Optional[sources.Dataset]) -> page.Section:
    """What a reader came for: the test numbers of ``eval.json``, each beside a predictor
    that learns nothing."""
    if results is None:
        return page.Section('Results', '<p class="note">No <code>eval.json</code> yet.</p>')
    baselines, probe = results.get('baselines') or {}, results['linear_probe']
    majority = _majority_rate(dataset)
    rows = [('transformed PSNR (dB)', results[evaluate.PSNR_KEY],
             f'copy the input: {page.fmt(baselines.get("copy_input_psnr_db"))}; all-black '
             f'image: {page.fmt(baselines.get("black_image_psnr_db"))}'),
            ('transformed SSIM', results['transformed_ssim_mean'], ''),
            ('equivariance error of z_v (relative)', results['equivariance_error_relative'],
             '0 = exact'),
            ('invariance error of z_i (relative)', results['invariance_error_relative'],
             '0 = exact'),
            ('variant channels', f'{results["num_variant_channels"]} of '
             f'{results["num_channels"]}', '')]
    for part in ('z', 'z_v', 'z_i'):
        rows.append((f'linear probe on {part}, upright / transformed',
                     f'{page.fmt(probe[part]["upright"])} / {page.fmt(probe[part]["transformed"])}',
                     f'majority class: {page.fmt(majority)}'))
    warnings = len((results.get('training') or {}).get('warnings') or [])
    rows.append(('divergence warnings while training', warnings, ''))
    return page.Section('Results (test split)',
                        page.table(rows, ('metric', 'this run', 'trivial baseline')))


def eval_section(run: run_lib.Run, results: Optional[dict]) -> page.Section:
    if results is None:
        return page.Section('Evaluation', '<p class="note">No <code>eval.json</code> in the '
                            'workdir: the run has not been evaluated yet. Launch it again with '
                            'the same <code>--workdir</code>; a finished run skips training '
                            'and evaluates.</p>')
    body = []
    if results.get('step') != run.step:
        body.append(f'<p class="note">eval.json is of step {results.get("step")}; the figures '
                    f'below are of step {run.step}.</p>')
    headline = [(k, v) for k, v in sorted(results.items())
                if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    body.append(page.table(headline, ('metric', 'value')))
    per = results.get('per_group_element') or {}
    if per:
        keys = sorted({k for v in per.values() for k in v})
        # In the group's own order (eval.json sorts its keys as strings: 0°, 180°, 270°, 90°).
        order = {name: i for i, name in enumerate(run.element_names)}
        names = sorted(per, key=lambda name: (order.get(name, len(order)), name))
        body.append('<h3>Per group element</h3>' + page.table(
            [[name] + [per[name].get(k) for k in keys] for name in names], ['g'] + keys))
    probe = results.get('linear_probe') or {}
    if probe:
        splits = sorted({k for v in probe.values() for k in v},
                        key=lambda k: (k != 'upright', k))
        body.append('<h3>Linear probe accuracy</h3>' + page.table(
            [[part] + [v.get(s) for s in splits] for part, v in probe.items()],
            ['features'] + splits))
    training = results.get('training') or {}
    warnings = training.get('warnings') or []
    if warnings:
        body.append('<h3>Divergence warnings</h3><ul>' + ''.join(
            f'<li>{html.escape(w)}</li>' for w in warnings) + '</ul>')
    return page.Section('Evaluation (test split, eval.json)', ''.join(body))


def curves_section(run: run_lib.Run, out_dir: str) -> page.Section:
    rows = plots.read_metrics(os.path.join(run.workdir, 'metrics.jsonl'))
    if not rows:
        return page.Section('Training curves',
                            '<p class="note">No metrics.jsonl in the workdir.</p>')
    plots.loss_curves(os.path.join(out_dir, 'losses.png'), rows)
    last = [r for r in rows if r.get('split') == 'train'][-1:]
    body = ''
    if last:
        body = (f'<p>Last logged training step {last[0]["step"]}, means over its log '
                f'interval: loss {last[0]["loss"]:.4g}, variant share '
                f'{last[0].get("variant_share", float("nan")):.3f}.</p>')
    return page.Section('Training curves', body, (
        ('losses.png', 'Loss terms (log scale; solid: training, dashed: validation) and the '
         'share of variant channels over training steps.'),))


def mask_section(run: run_lib.Run, out_dir: str) -> page.Section:
    mask, logits, probs = run.mask, run.mask_logits, run.mask_probabilities
    tau = float(run.config.mask.tau)
    plots.mask_figure(os.path.join(out_dir, 'mask.png'), mask, logits, tau)
    variant = [int(c) for c in np.flatnonzero(mask > 0.5)]
    rows = [(c, 'variant' if mask[c] > 0.5 else 'invariant',
             float(logits[c]) if logits is not None else '-',
             float(probs[c]) if probs is not None else '-') for c in range(len(mask))]
    body = (f'<p>Mask kind <code>{html.escape(str(run.config.mask.kind))}</code>: '
            f'{len(variant)} of {len(mask)} latent channels are variant (z_v), '
            f'{len(mask) - len(variant)} invariant (z_i). Variant channels: '
            f'{html.escape(str(variant))}.</p>'
            + (f'<p>z_i is a global invariant code of '
               f'{int(run.config.model.invariant_code_dim)} entries '
               '(<code>gla.models.InvariantCode</code>); the invariant channels of the '
               'decoder\'s input are a linear map of it.</p>'
               if run.config.model.invariant_code_dim else '')
            + '<details><summary>Every channel</summary>'
            + page.table(rows, ('channel', 'part', 'logit alpha', 'sigmoid(alpha)'))
            + '</details>')
    return page.Section('Mask', body, (
        ('mask.png', f'Logit alpha of every latent channel; orange: variant (sigmoid(alpha) > '
         f'tau = {tau:g}), blue: invariant; dashed: the threshold logit(tau).'),))


def image_sections(run: run_lib.Run, dataset: sources.Dataset, out_dir: str,
                   num_images: int) -> list:
    """Orbit, transform grid and swap grid for a few test images."""
    ndim = len(run.image_shape) - 1
    images = pick_images(dataset.test, num_images)
    arrays = evaluate.figure_arrays(run, images)
    names = run.element_names
    slice_note = ' 3D grids are shown as their middle slice.' if ndim > 2 else ''

    orbit_idx = plots.spread(len(names), 12)  # e.g. 12 of the cube group's 24 rotations
    plots.orbit_figure(os.path.join(out_dir, 'orbit.png'), arrays['target'][orbit_idx],
                       arrays['prediction'][orbit_idx], [names[i] for i in orbit_idx], ndim)
    grid_idx = plots.spread(len(names), 6)
    grid_images = min(len(images), 3)
    # plots.transform_grid is the figure of figures/transforms.png, so the report draws a
    # setting's grid (3D included) exactly as training's own figures do.
    plots.transform_grid(os.path.join(out_dir, 'transforms.png'),
                         {k: v[grid_idx][:, :grid_images] for k, v in arrays.items()},
                         [names[i] for i in grid_idx])
    inputs = clean_inputs(run, images)
    plots.swap_grid(os.path.join(out_dir, 'swap.png'), inputs, inputs,
                    swap_latents(run, inputs, inputs), ndim)
    return [
        page.Section('Orbit under the group', '', (
            ('orbit.png', 'For each test image, the true T_g x (upper row) and the prediction '
             'D(z_i + Phi_g z_v) (lower row), one column per group element.'),)),
        page.Section('Swapping z_v and z_i', '', (
            ('swap.png', 'Cell (i, j) decodes z_i of image A_i (left) plus z_v of image B_j '
             '(top), no group action. The diagonal is the plain reconstruction; along a row '
             'what z_i carries stays, along a column what z_v carries stays.'
             + slice_note),)),
        page.Section('Input, target, prediction and latents', '', (
            ('transforms.png', 'Rows: input x, target T_g x, prediction, |z(x)|, |Phi_g z_v| '
             'and |z_i(x)| (norms over channels, common scale per row); columns: test image '
             'and group element.' + slice_note),)),
    ]


def build_report(workdir: str, which: str = 'best', num_images: int = 4,
                 out_dir: Optional[str] = None, step: Optional[int] = None) -> str:
    """Writes ``out_dir/index.html`` (default ``workdir/report``) and its PNGs for the
    ``which`` checkpoint (``'best'`` or ``'latest'``, or a kept ``step``) of ``workdir``;
    returns the page's path."""
    if num_images < 1:
        raise ValueError(f'num_images={num_images} must be >= 1')
    run = run_lib.load_run(workdir, which, step)
    out_dir = out_dir or os.path.join(workdir, 'report')
    os.makedirs(out_dir, exist_ok=True)
    results = _read_json(os.path.join(workdir, 'eval.json'))
    dataset, images = None, []
    try:
        dataset = sources.load_dataset(run.config.data, cache_dir=workdir)  # planes: its cache
        images = image_sections(run, dataset, out_dir, num_images)
        images += settings.for_config(run.config).report_sections(run, dataset, out_dir)
    except (sources.DataError, OSError) as e:
        images = [page.Section('Images', '<p class="note">The test images could not be read, '
                               f'so no image figures: {html.escape(str(e))}</p>')]
    # What a reader came for first; the config last.
    sections = ([headline_section(results, dataset)] + images
                + [curves_section(run, out_dir), mask_section(run, out_dir),
                   eval_section(run, results), config_section(run)])

    psnr = (results or {}).get(evaluate.PSNR_KEY)
    intro = (f'<p>Run <code>{html.escape(os.path.abspath(workdir))}</code>, {which} checkpoint '
             f'at step {run.step}; group <code>{html.escape(run.group.name)}</code>, images '
             f'{run.image_shape}, data <code>{html.escape(str(run.config.data.source))}:'
             f'{html.escape(str(run.config.data.get("name", "")))}</code>.'
             + (f' Test transformed PSNR {psnr:.2f} dB.' if psnr is not None else '')
             + f' Made by <code>python -m gla.analyze --workdir {html.escape(workdir)}</code>.'
             '</p>')
    html_page = page.render_page(f'gla report: {os.path.basename(os.path.abspath(workdir))}',
                                 intro, sections, out_dir)
    path = os.path.join(out_dir, 'index.html')
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(html_page)
    os.replace(tmp, path)
    return path


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m gla.analyze',
        description='Writes WORKDIR/report/index.html (self-contained) and its PNG figures '
                    'for a trained gla run.')
    parser.add_argument('--workdir', required=True, help='the run directory (launch.py '
                        '--workdir)')
    parser.add_argument('--which', default='best', choices=('best', 'latest'),
                        help='checkpoint to analyse (default: best by validation loss)')
    parser.add_argument('--step', type=int, default=None, help='a specific kept step')
    parser.add_argument('--num_images', type=int, default=4, help='test images in the figures')
    parser.add_argument('--out', default=None, help='output folder (default WORKDIR/report)')
    args = parser.parse_args(argv)
    try:
        path = build_report(args.workdir, args.which, args.num_images, args.out, args.step)
    except (FileNotFoundError, ValueError) as e:
        print(f'gla.analyze: {e}', file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
