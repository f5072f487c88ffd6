"""Many seeds in one program against one process per seed (issue 18), on this machine.

    python -m bench.seeds --epochs 5        # writes docs/benchmarks_seeds.md and .json

For N = 1, 3, 5: the wall time of ``launch.py --config configs/rotated_mnist.py
--config.num_seeds=N`` (one program) and of N separate ``launch.py`` runs one after another
(what a user does without it), each a fresh process, training and evaluation included; the
training time alone is read from each seed's ``eval.json``. The load average is recorded
beside the numbers. Tests never run this.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(workdir: str, epochs: int, seed: int, num_seeds: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(REPO, 'launch.py'), '--config',
                    os.path.join(REPO, 'configs', 'rotated_mnist.py'), '--workdir', workdir,
                    f'--config.num_epochs={epochs}', f'--config.seed={seed}',
                    f'--config.num_seeds={num_seeds}'], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _train_seconds(workdir: str) -> float:
    with open(os.path.join(workdir, 'eval.json')) as f:
        return json.load(f)['training']['train_seconds']


def measure(n: int, epochs: int, root: str) -> dict:
    together = os.path.join(root, f'together{n}')
    wall_together = _launch(together, epochs, 0, n)
    seed_dirs = [os.path.join(together, f'seed{s}') for s in range(n)] if n > 1 else [together]
    separate_walls, separate_train = [], []
    for s in range(n):
        workdir = os.path.join(root, f'separate{n}_seed{s}')
        separate_walls.append(_launch(workdir, epochs, s, 1))
        separate_train.append(_train_seconds(workdir))
    return {'seeds': n, 'wall_one_program_s': wall_together,
            'train_one_program_s': _train_seconds(seed_dirs[0]),
            'wall_separate_runs_s': sum(separate_walls),
            'train_separate_runs_s': sum(separate_train),
            'wall_one_seed_s': separate_walls[0], 'train_one_seed_s': separate_train[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--seeds', default='1,3,5')
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'benchmarks_seeds.md'))
    args = parser.parse_args()
    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as root:
        rows = [measure(int(n), args.epochs, root) for n in args.seeds.split(',')]
    load_end = os.getloadavg()
    one = next(r for r in rows if r['seeds'] == 1)
    lines = ['# Many seeds in one program (`config.num_seeds`) against separate runs', '',
             'Written by `python -m bench.seeds` ' + f'(`--epochs {args.epochs}`), '
             f'{started:%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, '
             f'{os.cpu_count()} cores. Load average (1/5/15 min) at the start '
             f'{" / ".join(f"{x:.1f}" for x in load_start)}, at the end '
             f'{" / ".join(f"{x:.1f}" for x in load_end)}.', '',
             f'`configs/rotated_mnist.py`, {args.epochs} epochs each seed; wall = the whole '
             'process (compile, training, evaluation of every seed); training = '
             '`training.train_seconds` of `eval.json`.', '',
             '| seeds N | one program: wall / training (s) | N separate runs: wall / '
             'training (s) | one program / one seed (wall, training) |',
             '| --- | --- | --- | --- |']
    for r in rows:
        lines.append(
            f'| {r["seeds"]} | {r["wall_one_program_s"]:.0f} / {r["train_one_program_s"]:.0f} '
            f'| {r["wall_separate_runs_s"]:.0f} / {r["train_separate_runs_s"]:.0f} | '
            f'{r["wall_one_program_s"] / one["wall_one_seed_s"]:.2f}×, '
            f'{r["train_one_program_s"] / one["train_one_seed_s"]:.2f}× |')
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump({'epochs': args.epochs, 'load_start': load_start, 'load_end': load_end,
                   'rows': rows}, f, indent=2)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
