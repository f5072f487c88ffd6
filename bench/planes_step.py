"""Training-step speed of the planes configs, each against the others in one run.

    python -m bench.planes_step [--rounds 3] [--steps 5] [--out docs/benchmarks_planes.json]

Times the very step a run trains with (``gla.train_step.jit_step_functions(...).single``:
the config's batch of 32 objects x 24 views, its micro-batches, Adam) on random views, for
``configs/planes.py`` (the volumetric action), its in-plane control ``configs/planes_inplane.py``,
and each with ``model.latent_volume_dilations=(1, 2)``. The configs alternate round by round
(one warm-up step each round, then the median of ``--steps`` steps), so a change of load
hits all alike; the ratio to the default is per round, then the median. Prints (and writes)
one JSON object with the 1-minute load average before and after: time it with nothing else
running.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time

import jax
import numpy as np

from bench import size3d
from configs import planes
from configs import planes_inplane
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step

VOLUME_DILATIONS = (1, 2)


def _configs() -> dict:
    out = {}
    for name, module in (('volumetric', planes), ('inplane', planes_inplane)):
        out[name] = module.get_config()
        with_blocks = module.get_config()
        with_blocks.model.latent_volume_dilations = VOLUME_DILATIONS
        out[f'{name} + volume blocks {VOLUME_DILATIONS}'] = with_blocks
    return out


class Stepper:
    """One config's initial state and compiled single step on random views."""

    def __init__(self, config):
        size, views = config.data.planes.image_size, config.data.planes.num_views
        group = groups.group_from_config(config.group)
        model = models.build_model(config, group, 3, (size, size))
        self.state = state_lib.compile_initial_state(functools.partial(
            state_lib.create_train_state, config, model, group, (size, size, 3)),
            jax.random.key(0))
        self.params = models.count_params(self.state.params)
        rng = np.random.default_rng(0)
        self.views = jax.numpy.asarray(rng.uniform(
            -1, 1, (config.batch_size, views, size, size, 3)).astype(np.float32))
        self.key = jax.random.key(1)
        self.step = train_step.jit_step_functions(config, model, group).single
        self.batch = config.batch_size

    def seconds(self, steps: int) -> float:
        """Median seconds of ``steps`` steps after one warm-up step."""
        self.state, metrics = self.step(self.state, self.views, self.key)
        jax.block_until_ready(metrics)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            self.state, metrics = self.step(self.state, self.views, self.key)
            jax.block_until_ready(metrics)
            times.append(time.perf_counter() - start)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--out', default='')
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    steppers = {name: Stepper(config) for name, config in _configs().items()}
    seconds = {name: [] for name in steppers}
    for _ in range(args.rounds):
        for name, stepper in steppers.items():
            seconds[name].append(stepper.seconds(args.steps))
    default = seconds['volumetric']
    result = {'machine': {'jax': jax.__version__, 'cpu_count': os.cpu_count(),
                          'load_average_1min_before': load_before,
                          'load_average_1min_after': os.getloadavg()[0]},
              'rounds': args.rounds, 'steps_per_round': args.steps, 'configs': {}}
    for name, stepper in steppers.items():
        median = statistics.median(seconds[name])
        result['configs'][name] = {
            'params': stepper.params, 'step_seconds_per_round': seconds[name],
            'step_seconds_median': median, 'pairs_per_second': stepper.batch / median,
            'time_relative_to_volumetric': statistics.median(
                s / d for s, d in zip(seconds[name], default))}
    size3d.print_json(result, args.out)


if __name__ == '__main__':
    main()
