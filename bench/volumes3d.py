"""Training volumes/s of a 3D config, this tree against another commit, in one run.

    python -m bench.volumes3d [--baseline REF] [--config configs/adrenal3d.py] [--rounds 5]
                              [--override loss.lambda_ssim=0.1 ...]

The baseline commit (default: ``b438966~1``, the ``main`` before the window and im2col 3D
convolutions) is checked out in a temporary ``git worktree``. Each round times both trees,
alternating, each in a fresh process: the config's own training step (its batch, its fused
``steps_per_dispatch``, its group and loss; ``bench.gla_trainer.GlaTrainer``, the functions
``gla.train`` trains with) on random volumes of the config's shape, after one untimed
dispatch for the compile. ``--override KEY=VALUE`` sets a config field in both trees (a
Python literal, else a string). The median over rounds of each tree, their ratio, the
compile times and the machine's load average (before, after) go to
``docs/benchmarks_3d.md`` and ``.json``. Time it on an otherwise idle machine; the report
states the load it measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run inside a tree (cwd and PYTHONPATH = that tree): prints one JSON line.
_MEASURE = r'''
import ast, importlib.util, json, sys, time
import numpy as np
from bench.gla_trainer import GlaTrainer
spec = importlib.util.spec_from_file_location('cfg', sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
config = module.get_config()
for key, value in json.loads(sys.argv[3]).items():
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a string
    config.update_from_flattened_dict({key: value})
n, dispatches = config.data.resolution, int(sys.argv[2])
shape = (n, n, n, 1)
trainer = GlaTrainer(config, config.batch_size, shape)
per_dispatch = config.steps_per_dispatch * config.batch_size
volumes = np.random.default_rng(0).uniform(
    -1, 1, (per_dispatch * dispatches,) + shape).astype(np.float32)
trainer.run(volumes[:per_dispatch])  # first dispatch: any remaining compile, untimed
start = time.perf_counter()
loss = trainer.run(volumes)
seconds = time.perf_counter() - start
print(json.dumps({'volumes_per_sec': len(volumes) / seconds, 'seconds': seconds,
                  'volumes': len(volumes), 'compile_seconds': trainer.compile_seconds,
                  'final_loss': loss}))
'''


def _load() -> list:
    return [round(v, 2) for v in os.getloadavg()]


def _measure(tree: str, config: str, dispatches: int, overrides: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    proc = subprocess.run([sys.executable, '-c', _MEASURE, os.path.join(tree, config),
                           str(dispatches), json.dumps(overrides)], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f'measuring {tree} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _worktree(ref: str) -> tuple:
    commit = subprocess.run(['git', 'rev-parse', '--short', ref], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.strip()
    path = tempfile.mkdtemp(prefix=f'gla-bench-{commit}-')
    subprocess.run(['git', 'worktree', 'add', '--detach', path, commit], cwd=REPO,
                   check=True, capture_output=True)
    return path, commit


def _report(results: dict, path: str) -> None:
    base, this = results['trees']['baseline'], results['trees']['this tree']
    lines = [
        '# 3D training speed: this tree against a baseline commit',
        '',
        f'`python -m bench.volumes3d --baseline {results["baseline_ref"]} --config '
        f'{results["config"]} --rounds {results["rounds"]}'
        + ''.join(f' --override {k}={v}' for k, v in results['overrides'].items())
        + f'` ({results["date"]}).',
        '',
        f'Machine: {results["machine"]}. Load average (1, 5, 15 min) before the run '
        f'{results["load_before"]}, after it {results["load_after"]}.',
        '',
        '| tree | commit | volumes/s (median of rounds) | every round | compile s |',
        '| --- | --- | --- | --- | --- |',
    ]
    for name, tree in (('baseline', base), ('this tree', this)):
        rounds = ', '.join(f'{v:.1f}' for v in tree['volumes_per_sec'])
        lines.append(f'| {name} | {tree["commit"]} | {tree["median_volumes_per_sec"]:.1f} | '
                     f'{rounds} | {np.median(tree["compile_seconds"]):.1f} |')
    lines += ['', f'Ratio this tree / baseline: **{results["ratio"]:.2f}x**.', '']
    with open(path + '.md', 'w') as f:
        f.write('\n'.join(lines))
    with open(path + '.json', 'w') as f:
        json.dump(results, f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--baseline', default='b438966~1', help='git ref to compare with')
    parser.add_argument('--config', default='configs/adrenal3d.py')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--dispatches', type=int, default=4, help='timed dispatches a round')
    parser.add_argument('--override', action='append', default=[], metavar='KEY=VALUE',
                        help='config field for both trees, e.g. loss.lambda_ssim=0.1')
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'benchmarks_3d'))
    args = parser.parse_args()
    malformed = [item for item in args.override if '=' not in item]
    if malformed:
        parser.error(f'--override {malformed[0]!r} must read KEY=VALUE, e.g. loss.lambda_ssim=0.1')
    overrides = dict(item.split('=', 1) for item in args.override)
    head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    base_tree, base_commit = _worktree(args.baseline)
    trees = {'baseline': (base_tree, base_commit),
             'this tree': (REPO, head + ('+changes' if dirty else ''))}
    measured = {name: [] for name in trees}
    load_before = _load()
    try:
        for round_index in range(args.rounds):
            for name, (tree, _) in trees.items():
                row = _measure(tree, args.config, args.dispatches, overrides)
                measured[name].append(row)
                print(f'round {round_index}: {name:9s} {row["volumes_per_sec"]:7.1f} vol/s',
                      flush=True)
    finally:
        subprocess.run(['git', 'worktree', 'remove', '--force', base_tree], cwd=REPO,
                       check=False, capture_output=True)
        shutil.rmtree(base_tree, ignore_errors=True)
    results = {
        'config': args.config, 'overrides': overrides, 'baseline_ref': args.baseline,
        'rounds': args.rounds,
        'dispatches_per_round': args.dispatches,
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'machine': f'{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}',
        'load_before': load_before, 'load_after': _load(), 'trees': {}}
    for name, (_, commit) in trees.items():
        rows = measured[name]
        results['trees'][name] = {
            'commit': commit,
            'volumes_per_sec': [r['volumes_per_sec'] for r in rows],
            'median_volumes_per_sec': float(np.median([r['volumes_per_sec'] for r in rows])),
            'compile_seconds': [r['compile_seconds'] for r in rows]}
    results['ratio'] = (results['trees']['this tree']['median_volumes_per_sec'] /
                        results['trees']['baseline']['median_volumes_per_sec'])
    _report(results, args.out)
    print(f'this tree / baseline = {results["ratio"]:.2f}x; wrote {args.out}.md/.json')


if __name__ == '__main__':
    main()
