"""Sizes a (3D) config's training step: parameters, FLOPs, memory, compile and step time.

    python -m bench.size3d --config configs/adrenal3d_64.py --batch 2 [--out size.json]

Measures the very step a run trains with (``gla.train_step.jit_step_functions``: ``single``,
and ``fused``, the ``config.steps_per_dispatch`` steps a run puts in one call) on the default
JAX device, on random volumes of ``config.data.resolution``, and prints one JSON object:

* ``params``: parameter count of the config's model; ``init_seconds``: compiling and running
  the initial state (``gla.state.create_train_state``);
* ``timed``: one step at ``--batch`` volumes: the ahead-of-time compile seconds, the median
  of ``--steps`` step times after one warm-up step (the state carried from step to step, as
  a run does), the last step's metrics, XLA's ``cost_analysis()`` (FLOPs, bytes accessed)
  and ``memory_analysis()`` of the compiled step, and the process's peak resident memory;
* ``at_config_batch``: the same analyses of one step compiled (not run) at the config's own
  ``batch_size``; ``at_config_batch_fused``: of the fused program a run executes there
  (``--no-fused`` skips it: it compiles ``steps_per_dispatch`` unrolled steps);
* ``flops_counted``, per step, beside XLA's count: the convolutions and matrix products of
  the step's jaxpr (``2 x`` output elements ``x`` the length of each element's dot, as the
  program states them: the sub-pixel form's zero taps and the padding rings its gradients
  compute included), and a count by hand from the layer shapes (``hand_count``);
* ``machine``: the JAX version, devices, CPU count and 1-minute load average (a loaded
  machine makes the times upper bounds: say so when quoting them).

XLA's count covers the optimised program (elementwise work, the group action, the loss and
Adam too); the other two only its convolutions and products. Nothing here projects to other
hardware: ``configs/adrenal3d_64.py``'s docstring does, from these numbers, and says how.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import math
import os
import resource
import statistics
import time

import jax
import jax.extend.core
import jax.numpy as jnp
import ml_collections
import numpy as np

from gla import conv
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step


def load_config(spec: str) -> ml_collections.ConfigDict:
    """The config of ``PATH[:ARG]`` (as ``launch.py --config`` reads it)."""
    path, _, arg = spec.partition(':')
    module_spec = importlib.util.spec_from_file_location('sized_config', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(arg) if arg else module.get_config()


def image_shape(config: ml_collections.ConfigDict, channels: int) -> tuple:
    """``(*spatial, C)`` of the config's training volumes (from ``config.data.resolution``,
    which must be set: the sizes are not read from the data)."""
    size = config.data.resolution
    if not size or size <= 0:
        raise SystemExit(f'config.data.resolution={size}: set it (e.g. --resolution 64); '
                         'this benchmark does not load the data to learn the size.')
    return (size,) * config.data.spatial_ndim + (channels,)


def _jaxprs_in(value):
    if isinstance(value, jax.extend.core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax.extend.core.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _jaxprs_in(item)


def jaxpr_flops(jaxpr) -> dict:
    """FLOPs of the convolutions and matrix products in ``jaxpr`` (nested jaxprs included):
    ``2 x`` output elements ``x`` the length of the dot each element is, the zero taps of
    padded or dilated windows counted as computed."""
    totals = {'conv': 0, 'dot': 0}
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == 'conv_general_dilated':
            out = eqn.outvars[0].aval.shape
            rhs = eqn.invars[1].aval.shape
            out_features = rhs[eqn.params['dimension_numbers'].rhs_spec[0]]
            totals['conv'] += 2 * math.prod(out) * math.prod(rhs) // out_features
        elif eqn.primitive.name == 'dot_general':
            (contract, _), _ = eqn.params['dimension_numbers']
            lhs = eqn.invars[0].aval.shape
            totals['dot'] += 2 * math.prod(eqn.outvars[0].aval.shape) * math.prod(
                lhs[d] for d in contract)
        for value in eqn.params.values():
            for inner in _jaxprs_in(value):
                for kind, flops in jaxpr_flops(inner).items():
                    totals[kind] += flops
    return totals


def hand_count(config: ml_collections.ConfigDict, shape: tuple, batch: int) -> dict:
    """Useful FLOPs of one training step from the layer shapes alone.

    A strided conv ``k^N, Cin -> Cout`` onto an ``n^N`` grid: ``2 n^N k^N Cin Cout``; a
    transposed conv from an ``n^N`` grid: the same with ``n`` its input size (each input
    scatters into ``k^N`` outputs). A step runs E on ``x``, D, E on ``T_g x`` (no gradient)
    forward, then the input and weight gradients of D and E, each costing its forward pass,
    except the first encoder layer's input gradient. ``executed_by_the_conv_forms`` (only
    for ``space_to_depth`` + ``subpixel``) adds what the transposed-conv form computes
    beyond that: the window form's extra ring of windows (``k == 2s``), else the phase
    kernels' zero taps.
    """
    m, ndim, k, s = config.model, len(shape) - 1, config.model.kernel_size, config.model.stride
    n, cin, encoder = shape[0], shape[-1], []
    for width in m.encoder_features:
        n //= s
        encoder.append(2 * n ** ndim * k ** ndim * cin * width)
        cin = width
    decoder = []
    for width in list(reversed(m.encoder_features[:-1])) + [shape[-1]]:
        decoder.append(2 * n ** ndim * k ** ndim * cin * width)
        n, cin = n * s, width
    e, d = sum(encoder), sum(decoder)
    useful = 4 * e - encoder[0] + 3 * d
    counts = {'useful': batch * useful}
    if m.strided_conv == 'space_to_depth' and m.conv_transpose == 'subpixel':
        if k == 2 * s:
            # The window form (gla.conv.window_conv_transpose) has no zero taps but computes
            # all (n + 1)^N windows of an n^N input, in all three decoder passes;
            # space-to-depth computes exactly its outputs.
            extra, n = 0, shape[0] // s ** len(m.encoder_features)
            for layer in decoder:
                extra += layer * ((n + 1) ** ndim / n ** ndim - 1)
                n *= s
            counts['executed_by_the_conv_forms'] = batch * round(useful + 3 * extra)
        else:
            # The phase-kernel form computes 3^N offsets per phase where (k/s)^N are taps.
            phases = jax.eval_shape(functools.partial(conv.phase_kernel, stride=s,
                                                      padding=(k - s) // 2),
                                    jax.ShapeDtypeStruct((k,) * ndim + (1, 1), jnp.float32))
            zero_taps = (phases.shape[0] * s) ** ndim / k ** ndim
            counts['executed_by_the_conv_forms'] = batch * round(
                useful + (zero_taps - 1) * 3 * d)
    counts['forward_per_volume'] = {'encoder_layers': encoder, 'decoder_layers': decoder}
    return counts


def _cost(compiled) -> dict:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return {'flops': float(cost.get('flops', float('nan'))),
            'bytes_accessed': float(cost.get('bytes accessed', float('nan')))}


def _memory(compiled) -> dict:
    stats = compiled.memory_analysis()
    if stats is None:
        return {}
    names = ('argument_size_in_bytes', 'output_size_in_bytes', 'alias_size_in_bytes',
             'temp_size_in_bytes', 'generated_code_size_in_bytes')
    out = {name: int(getattr(stats, name)) for name in names if hasattr(stats, name)}
    if len(out) == len(names):
        # Live at once at worst: arguments, outputs not aliased to (donated) arguments, temps.
        out['peak_estimate_bytes'] = (out['argument_size_in_bytes'] + out['output_size_in_bytes']
                                      - out['alias_size_in_bytes'] + out['temp_size_in_bytes'])
    return out


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


class StepSizer:
    """The config's model, group, initial state and step functions, built once (the
    initial state compiles a random initialisation, cheaply: ``compile_initial_state``)."""

    def __init__(self, config: ml_collections.ConfigDict, channels: int = 1):
        self.config, self.shape = config, image_shape(config, channels)
        self.group = groups.group_from_config(config.group)
        self.model = models.build_model(config, self.group, channels)
        init_key, self.pair_key = jax.random.split(jax.random.key(config.seed))
        start = time.perf_counter()
        self.state = state_lib.compile_initial_state(functools.partial(
            state_lib.create_train_state, config, self.model, self.group, self.shape), init_key)
        jax.block_until_ready(self.state)
        self.init_seconds = time.perf_counter() - start
        self.params = models.count_params(self.state.params)
        self.steps = train_step.jit_step_functions(config, self.model, self.group)

    def images(self, leading: tuple) -> np.ndarray:
        """Volumes uniform in [-1, 1] (the step's speed does not depend on the values)."""
        rng = np.random.default_rng(0)
        return rng.uniform(-1.0, 1.0, leading + self.shape).astype(np.float32)

    def analyse(self, batch: int, fused: int = 1) -> tuple:
        """``(compiled, facts)``: the step (``fused > 1``: ``fused`` steps in one program,
        as a run dispatches them) compiled at ``batch`` volumes, and its sizes."""
        step = self.steps.fused if fused > 1 else self.steps.single
        images = jnp.asarray(self.images(((fused,) if fused > 1 else ()) + (batch,)))
        start = time.perf_counter()
        compiled = step.lower(self.state, images, self.pair_key).compile()
        facts = {'batch': batch, 'steps_per_call': fused,
                 'compile_seconds': time.perf_counter() - start,
                 'xla_cost_analysis': _cost(compiled),
                 'xla_memory_analysis': _memory(compiled)}
        if fused == 1:
            facts['flops_counted'] = {
                'jaxpr': jaxpr_flops(jax.make_jaxpr(step)(self.state, images,
                                                          self.pair_key).jaxpr),
                'by_hand': hand_count(self.config, self.shape, batch)}
        return compiled, facts

    def time_steps(self, batch: int, steps: int) -> dict:
        """:meth:`analyse` at ``batch``, then the median of ``steps`` step times after one
        warm-up step, the state carried from step to step as a run does (it is donated)."""
        compiled, facts = self.analyse(batch)
        images = jnp.asarray(self.images((batch,)))
        state, metrics = compiled(self.state, images, self.pair_key)  # warm-up
        jax.block_until_ready(metrics)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            state, metrics = compiled(state, images, self.pair_key)
            jax.block_until_ready(metrics)
            times.append(time.perf_counter() - start)
        self.state = state  # the old one was donated
        facts.update(step_seconds_median=statistics.median(times), step_seconds=times,
                     last_step_metrics={k: float(v) for k, v in metrics.items()},
                     peak_resident_bytes_so_far=_peak_rss_bytes())
        return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', required=True, help='PATH[:ARG] of a config file')
    parser.add_argument('--batch', type=int, default=2, help='volumes per timed step')
    parser.add_argument('--steps', type=int, default=5, help='timed steps (after 1 warm-up)')
    parser.add_argument('--channels', type=int, default=1, help='image channels')
    parser.add_argument('--resolution', type=int, default=0,
                        help='>0 overrides config.data.resolution')
    parser.add_argument('--no-fused', action='store_true',
                        help='skip compiling the fused program (config.steps_per_dispatch)')
    parser.add_argument('--out', default='', help='also write the JSON here')
    args = parser.parse_args()
    config = load_config(args.config)
    if args.resolution:
        config.data.resolution = args.resolution
    machine = {'jax': jax.__version__, 'devices': [str(d) for d in jax.devices()],
               'cpu_count': os.cpu_count(), 'load_average_1min_before': os.getloadavg()[0]}
    sizer = StepSizer(config, args.channels)
    result = {'config': args.config, 'machine': machine, 'params': sizer.params,
              'image_shape': list(sizer.shape), 'init_seconds': sizer.init_seconds,
              'timed': sizer.time_steps(args.batch, args.steps)}
    machine['load_average_1min_after_timing'] = os.getloadavg()[0]
    if config.batch_size != args.batch:
        result['at_config_batch'] = sizer.analyse(config.batch_size)[1]
    if config.steps_per_dispatch > 1 and not args.no_fused:
        # What a run executes: steps_per_dispatch steps per call (its memory is the run's).
        result['at_config_batch_fused'] = sizer.analyse(config.batch_size,
                                                        config.steps_per_dispatch)[1]
    result['peak_resident_bytes'] = _peak_rss_bytes()
    print_json(result, args.out)


def print_json(result: dict, out: str = '') -> None:
    """Prints ``result`` as indented JSON and, with ``out``, writes the same text there."""
    text = json.dumps(result, indent=1)
    print(text)
    if out:
        with open(out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
