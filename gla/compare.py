"""Baselines in one harness: runs configs x mask kinds x seeds, writes one Markdown table.

    python -m gla.compare --root runs/compare --out runs/compare/table.md \\
        --setting rotated_c4=configs/rotated_mnist.py \\
        --setting blocked_c4=configs/blocked_mnist.py \\
        --masks learned,all_variant,manual,none --seeds 0,1,2 --set num_epochs=3

Every run is a normal ``launch.py`` run in its own workdir, ``ROOT/<setting>/<mask>/
seed<s>`` (``--config.seed=s --config.mask.kind=<mask>`` plus the ``--set`` overrides;
consecutive seeds train together as one program, ``config.num_seeds``, which writes the
same directories); a workdir that already holds ``eval.json`` is reused, and a run that
stopped half way resumes from its checkpoint. The table gives mean ± sample standard
deviation over the seeds of each (setting, mask) for the metrics of ``eval.json``; blocked
settings add the swap test, settings with more than four evaluation elements the
transformed PSNR per element. ``--table_only`` writes the table from the runs already
finished without training anything.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from typing import Optional, Sequence

import numpy as np
from absl import app
from absl import flags

from gla import evaluate
from gla.settings.volumes import evaluate as volumes

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('setting', None, 'NAME=CONFIG_PATH, repeatable: one table '
                          'section per setting.')
flags.DEFINE_list('masks', ['learned', 'all_variant', 'manual', 'none'],
                  'config.mask.kind values to compare.')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'config.seed values.')
flags.DEFINE_multi_string('set', [], 'FIELD=VALUE config override for every run, '
                          'repeatable (e.g. num_epochs=8).')
flags.DEFINE_string('root', None, 'Directory holding one workdir per run.')
flags.DEFINE_string('out', None, 'Markdown file to write (default ROOT/table.md).')
flags.DEFINE_bool('table_only', False, 'Only write the table from finished runs.')

MASK_NAMES = {
    'learned': 'learned (ALD)',
    'all_variant': 'all variant',
    'manual': 'manual half',
    'none': 'plain AE',
}


def workdir_of(root: str, setting: str, mask: str, seed: str) -> str:
    return os.path.join(root, setting, mask, f'seed{seed}')


def parse_settings(specs: Sequence[str]) -> list:
    """``['NAME=PATH', ...] -> [(name, path)]``; a missing ``=`` or file is an error."""
    settings = []
    for spec in specs:
        name, sep, path = spec.partition('=')
        if not sep or not name or not path:
            raise app.UsageError(f'--setting {spec!r} must read NAME=CONFIG_PATH')
        if not os.path.exists(path.partition(':')[0]):  # PATH[:ARG], as launch.py reads it
            raise app.UsageError(f'--setting {spec!r}: no config file {path}')
        settings.append((name, path))
    return settings


def launch_command(config_path: str, workdir: str, mask: str, seed: str,
                   overrides: Sequence[str]) -> list:
    """The ``launch.py`` command line of one run."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return ([sys.executable, os.path.join(repo, 'launch.py'), '--config', config_path,
             '--workdir', workdir, f'--config.seed={seed}', f'--config.mask.kind={mask}'] +
            [f'--config.{o}' for o in overrides])


def consecutive(seeds: Sequence) -> bool:
    """Whether ``seeds`` are 2 or more consecutive integers (one multi-seed program)."""
    try:
        values = [int(s) for s in seeds]
    except ValueError:
        return False
    return len(values) > 1 and values == list(range(values[0], values[0] + len(values)))


def run_seeds_together(config_path: str, root: str, setting: str, mask: str,
                       seeds: Sequence[str], overrides: Sequence[str]) -> None:
    """Consecutive seeds none of which has finished train as one program
    (``config.num_seeds``, ``gla/multi_seed.py``), writing ``ROOT/<setting>/<mask>/seed<s>``,
    the layout :func:`workdir_of` reads."""
    if any(os.path.exists(os.path.join(workdir_of(root, setting, mask, s), 'eval.json'))
           for s in seeds):
        return  # some finished: the others train one by one (and resume as they were)
    group = os.path.dirname(workdir_of(root, setting, mask, seeds[0]))
    _launch(launch_command(config_path, group, mask, seeds[0],
                           list(overrides) + [f'num_seeds={len(seeds)}']), group, root)


def run_one(config_path: str, workdir: str, mask: str, seed: str,
            overrides: Sequence[str], root: str) -> Optional[dict]:
    """Trains and evaluates one run unless ``workdir/eval.json`` exists; returns it."""
    if not os.path.exists(os.path.join(workdir, 'eval.json')):
        _launch(launch_command(config_path, workdir, mask, seed, overrides), workdir, root)
    return load_result(workdir)


def _launch(cmd: list, workdir: str, root: str) -> None:
    """Runs ``cmd`` (a ``launch.py`` command) with its log in ``workdir/log.txt``."""
    os.makedirs(workdir, exist_ok=True)
    start = time.time()
    print(f'[compare] {" ".join(cmd)}', flush=True)
    # Runs that differ only in the seed compile the same programs: share XLA's persistent
    # cache between them (the user's own setting wins if set).
    env = dict(os.environ)
    env.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(root, 'xla_cache'))
    env.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
    with open(os.path.join(workdir, 'log.txt'), 'a') as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    print(f'[compare]   exit {code} after {time.time() - start:.0f} s', flush=True)
    if code != 0:
        print(f'[compare]   FAILED: see {workdir}/log.txt', flush=True)


def load_result(workdir: str) -> Optional[dict]:
    """``eval.json`` of a finished run (None if there is none), with ``divergence_warnings``
    added: every warning in ``metrics.jsonl``, the whole run, not only up to the best
    checkpoint that ``eval.json`` describes."""
    path = os.path.join(workdir, 'eval.json')
    if not os.path.exists(path):
        return None
    with open(path) as f:
        result = json.load(f)
    warnings = []
    metrics_path = os.path.join(workdir, 'metrics.jsonl')
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            for line in f:
                if line.strip():
                    warnings += json.loads(line).get('warnings', [])
    result['divergence_warnings'] = warnings or _training(result).get('warnings', [])
    return result


def _mean_std(values: list, scale: float = 1.0, digits: int = 2, style: str = 'f') -> str:
    """``'m ± s'`` over the finite values (sample std, ddof=1); ``'—'`` if there are none.
    ``style='e'`` writes both in scientific notation (the std with one digit fewer)."""
    values = [v * scale for v in values if v is not None and math.isfinite(v)]
    if not values:
        return '—'
    if len(values) == 1:
        return f'{values[0]:.{digits}{style}}'
    spread_digits = digits - 1 if style == 'e' else digits
    return (f'{np.mean(values):.{digits}{style}} ± '
            f'{np.std(values, ddof=1):.{spread_digits}{style}}')


def _training(result: dict) -> dict:
    return result.get('training') or {}


def _probe(results: list, part: str, split: str) -> list:
    return [r['linear_probe'][part][split] for r in results]


MAIN_COLUMNS = (
    ('PSNR dB', lambda rs: _mean_std([r[evaluate.PSNR_KEY] for r in rs])),
    ('SSIM', lambda rs: _mean_std([r['transformed_ssim_mean'] for r in rs], digits=3)),
    ('equiv. err', lambda rs: _mean_std([r['equivariance_error_relative'] for r in rs],
                                         style='e')),
    ('inv. err', lambda rs: _mean_std([r['invariance_error_relative'] for r in rs],
                                       style='e')),
    ('variant share', lambda rs: _mean_std([r['variant_share'] for r in rs])),
    ('probe z_i up / tr %', lambda rs: _mean_std(_probe(rs, 'z_i', 'upright'), 100, 1) +
     ' / ' + _mean_std(_probe(rs, 'z_i', 'transformed'), 100, 1)),
    ('probe z_v up / tr %', lambda rs: _mean_std(_probe(rs, 'z_v', 'upright'), 100, 1) +
     ' / ' + _mean_std(_probe(rs, 'z_v', 'transformed'), 100, 1)),
    ('probe z up / tr %', lambda rs: _mean_std(_probe(rs, 'z', 'upright'), 100, 1) +
     ' / ' + _mean_std(_probe(rs, 'z', 'transformed'), 100, 1)),
    # Runs whose training raised a divergence warning, and where their best checkpoint was.
    ('diverged', lambda rs: f'{sum(bool(r.get("divergence_warnings")) for r in rs)}'
     f'/{len(rs)}'),
    ('best step', lambda rs: _mean_std([_training(r).get('best_step') for r in rs],
                                       digits=0)),
)

SWAP_COLUMNS = (
    ('A-block MSE (low: block follows z_i)', 'a_block_mse'),
    ('B-block MSE (low: block follows z_v)', 'b_block_mse'),
    ('B-digit MSE (low: digit follows z_v)', 'digit_b_mse'),
    ('A-digit MSE (low: digit follows z_i)', 'digit_a_mse'),
    ('PSNR vs ideal swap dB', 'reference_psnr_db'),
)


def _angle_key(name: str) -> float:
    try:
        return float(name.rstrip('°'))
    except ValueError:
        return math.inf


def markdown_table(header: Sequence[str], rows: list) -> list:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def setting_section(name: str, by_mask: dict, seeds: Sequence[str]) -> list:
    """Markdown lines for one setting: ``by_mask`` maps mask -> list of eval.json dicts."""
    lines = [f'### {name}', '']
    rows = []
    for mask, results in by_mask.items():
        if results:
            rows.append([MASK_NAMES.get(mask, mask), str(len(results))] +
                        [fn(results) for _, fn in MAIN_COLUMNS])
    lines += markdown_table(['mask', 'seeds'] + [c for c, _ in MAIN_COLUMNS], rows) + ['']
    some = next((rs[0] for rs in by_mask.values() if rs), None)
    if some is None:
        return lines + [f'(no finished runs; seeds {", ".join(seeds)})', '']
    if 'swap_test' in some:
        for element in some['swap_test']:
            rows = []
            for mask, results in by_mask.items():
                if results:
                    rows.append([MASK_NAMES.get(mask, mask)] + [
                        _mean_std([r['swap_test'][element][key] for r in results],
                                  digits=2 if key == 'reference_psnr_db' else 3)
                        for _, key in SWAP_COLUMNS])
            lines += [f'Swap test, g = {element}: decode z_i(A) + Phi_g z_v(B); images in '
                      '[-1, 1], MSE pooled over the region\'s pixels.', '']
            lines += markdown_table(['mask'] + [c for c, _ in SWAP_COLUMNS], rows) + ['']
    if volumes.KEY in some:
        lines += volume_metrics_lines(by_mask)
    elements = sorted(some['per_group_element'], key=_angle_key)
    if len(elements) > 4:
        masks = [m for m, rs in by_mask.items() if rs]
        rows = [[element] + [_mean_std([r['per_group_element'][element]['psnr_db']
                                        for r in by_mask[m]]) for m in masks]
                for element in elements]
        lines += ['Transformed PSNR (dB) per group element:', '']
        lines += markdown_table(['g'] + [MASK_NAMES.get(m, m) for m in masks], rows) + ['']
    return lines


def volume_metrics_lines(by_mask: dict) -> list:
    """The 3D object metrics (``eval.json``'s ``volume_metrics``: Dice, foreground or
    in-head PSNR, structure contrasts) of each mask, beside the all-background guess."""
    rows = []
    for mask, results in by_mask.items():
        metrics = results[0][volumes.KEY] if results else {}
        for key, label in volumes.labelled_metrics(metrics):
            values = [r[volumes.KEY][key] for r in results]
            rows.append([MASK_NAMES.get(mask, mask), label] + [
                _mean_std([v.get(guess) for v in values], digits=3)
                for guess in ('model', 'all_background', 'true')])
    return ['Object metrics over every test volume and evaluation element '
            '(`volume_metrics`):', ''] + markdown_table(
        ['mask', 'metric', 'model', 'all-background guess', 'in T_g x'], rows) + ['']


def settings_table(settings: list, results: dict, mask: str) -> list:
    """Markdown lines of one table with a row per setting (all runs with ``mask``)."""
    rows = [[f'{name} (`{path}`)', str(len(results[name][mask]))] +
            [fn(results[name][mask]) for _, fn in MAIN_COLUMNS]
            for name, path in settings if results[name][mask]]
    return markdown_table(['setting', 'seeds'] + [c for c, _ in MAIN_COLUMNS], rows) + [
        '', f'Mask: {MASK_NAMES.get(mask, mask)}.', '']


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'unexpected arguments: {argv[1:]}')
    if not FLAGS.setting or not FLAGS.root:
        raise app.UsageError('give --root and at least one --setting NAME=CONFIG_PATH')
    settings = parse_settings(FLAGS.setting)
    out = FLAGS.out or os.path.join(FLAGS.root, 'table.md')
    results = {name: {mask: [] for mask in FLAGS.masks} for name, _ in settings}
    if not FLAGS.table_only and consecutive(FLAGS.seeds):
        for name, path in settings:
            for mask in FLAGS.masks:
                run_seeds_together(path, FLAGS.root, name, mask, FLAGS.seeds, FLAGS.set)
    # Seeds outermost: an interrupted comparison still covers every setting and mask.
    for seed in FLAGS.seeds:
        for name, path in settings:
            for mask in FLAGS.masks:
                workdir = workdir_of(FLAGS.root, name, mask, seed)
                if FLAGS.table_only:
                    found = load_result(workdir)
                else:
                    found = run_one(path, workdir, mask, seed, FLAGS.set, FLAGS.root)
                if found is not None:
                    results[name][mask].append(found)
        write_table(out, settings, results, FLAGS.seeds, FLAGS.set)
    write_table(out, settings, results, FLAGS.seeds, FLAGS.set)
    print(f'[compare] wrote {out}', flush=True)


def write_table(out: str, settings: list, results: dict, seeds: Sequence[str],
                overrides: Sequence[str]) -> None:
    lines = ['# Baselines: learned mask vs all variant vs manual half vs plain autoencoder',
             '', f'Seeds {", ".join(seeds)}; overrides: '
             f'{", ".join(overrides) if overrides else "none"}. Cells: mean ± sample std '
             'over the seeds that finished (column "seeds"). Test set, best-by-validation '
             'checkpoint. "up / tr": linear probe on upright / transformed test images.', '']
    masks = {mask for by_mask in results.values() for mask in by_mask}
    if len(masks) == 1:  # one mask: the settings are the rows (e.g. ablations)
        lines[0] = '# Settings compared'
        mask = masks.pop()
        lines += settings_table(settings, results, mask)
        for name, path in settings:  # 3D settings: their object metrics beside the guess
            if results[name][mask] and volumes.KEY in results[name][mask][0]:
                lines += [f'### {name} (`{path}`)', ''] + volume_metrics_lines(results[name])
    else:
        for name, path in settings:
            lines += setting_section(f'{name} (`{path}`)', results[name], seeds)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + '.tmp', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(out + '.tmp', out)


if __name__ == '__main__':
    app.run(main)
