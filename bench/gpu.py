"""Accelerator check for one GPU (issue 6); ``bash bench/gpu.sh`` runs it (under 5 minutes).

Prints, for the published Rotated MNIST model on the first accelerator:

* training images/s at batch 64, 256 and 1024 with ``--fused`` steps per dispatch
  (``configs/rotated_mnist.py``, ``batch_size`` and ``steps_per_dispatch``
  overridden), median of rounds;
* the wall time of one 48,000-image epoch (the bundled 6,000 training digits tiled 8x: full
  MNIST's 48k training split is not available offline) at batch 64 and 1024, host batching
  and transfers included;
* images/s over all seeds of 1 and 5 seeds stepped as one program (batch 256 each,
  ``config.num_seeds``);
* agreement of one training step with the CPU: the same initial state and batch stepped on
  the accelerator and on the host CPU, the largest parameter difference, at JAX's default
  matmul/conv precision (TF32 on Ampere/Hopper) and at ``highest``.

Target (issue 6): >= 100,000 images/s at batch 1024 on one H100.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time

import jax
import numpy as np

from bench import gla_trainer
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step


CONV_TRANSPOSE = 'xla'  # cuDNN's own transposed convolution; main() may override


def _config(batch_size: int, fused: int):
    from configs import rotated_mnist
    config = rotated_mnist.get_config()
    config.batch_size = batch_size
    config.steps_per_dispatch = fused
    config.model.conv_transpose = CONV_TRANSPOSE
    return config


def throughput(images: np.ndarray, batch_size: int, fused: int, rounds: int) -> dict:
    trainer = gla_trainer.GlaTrainer(_config(batch_size, fused), batch_size)
    per_call = batch_size * fused
    calls = max(1, min(len(images) // per_call, 5))
    data = images[:calls * per_call]
    trainer.run(data[:per_call])  # warm-up
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        trainer.run(data)
        rates.append(len(data) / (time.perf_counter() - start))
    return {'batch_size': batch_size, 'steps_per_dispatch': fused,
            'images_per_sec': statistics.median(rates), 'compile_seconds':
            trainer.compile_seconds}


def seeds_throughput(images: np.ndarray, num_seeds: int, batch_size: int, fused: int,
                     rounds: int) -> dict:
    """Images/s over all seeds of ``num_seeds`` runs stepped as one program
    (``config.num_seeds``, ``gla/multi_seed.py``), ``fused`` steps per dispatch."""
    import jax.numpy as jnp
    from gla import parallel, train_step
    config = _config(batch_size, fused)
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1)
    make = functools.partial(state_lib.create_train_state, config, model, group, (28, 28, 1))
    states = [jax.jit(make)(jax.random.key(s)) for s in range(num_seeds)]
    state = jax.tree.unflatten(jax.tree.structure(states[0]), [
        jnp.stack(leaves) for leaves in zip(*[jax.tree.leaves(s) for s in states])])
    keys = jnp.stack([jax.random.key(100 + s) for s in range(num_seeds)])
    step = train_step.jit_step_functions(config, model, group, seeds_axis=True).fused
    chunk = images[:num_seeds * fused * batch_size].reshape(
        (num_seeds, fused, batch_size, 28, 28, 1))
    mesh = parallel.make_mesh()
    batch = parallel.shard_steps(mesh, chunk, batch_axis=2)
    start = time.perf_counter()
    state, metrics = step(state, batch, keys)
    jax.block_until_ready(metrics)
    compile_seconds = time.perf_counter() - start
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(5):
            state, metrics = step(state, batch, keys)
        jax.block_until_ready(metrics)
        rates.append(5 * chunk.shape[0] * fused * batch_size / (time.perf_counter() - start))
    return {'seeds': num_seeds, 'batch_size': batch_size, 'steps_per_dispatch': fused,
            'images_per_sec_all_seeds': statistics.median(rates),
            'first_call_seconds': compile_seconds}


def epoch_time(images: np.ndarray, batch_size: int, fused: int) -> dict:
    trainer = gla_trainer.GlaTrainer(_config(batch_size, fused), batch_size)
    n = len(images) // batch_size * batch_size
    trainer.run(images[:batch_size * fused])  # warm-up (both programs compiled)
    trainer.run(images[:batch_size])
    start = time.perf_counter()
    loss = trainer.run(images[:n])
    seconds = time.perf_counter() - start
    return {'batch_size': batch_size, 'images': n, 'seconds': seconds,
            'images_per_sec': n / seconds, 'final_loss': loss}


def one_step(device, images: np.ndarray) -> dict:
    """One train step of the default config from the seed-0 state, on ``device``."""
    from configs import rotated_mnist
    config = rotated_mnist.get_config()
    group = groups.group_from_config(config.group)
    model = models.build_model(config, group, 1)
    init_key, pair_key = jax.random.split(jax.random.key(config.seed))
    step = train_step.jit_step_functions(config, model, group).single
    with jax.default_device(device):
        state = jax.jit(functools.partial(state_lib.create_train_state, config, model, group,
                                          (28, 28, 1)))(jax.device_put(init_key, device))
        state, metrics = step(state, jax.device_put(images, device),
                              jax.device_put(pair_key, device))
    return jax.tree.map(np.asarray, (state.params, metrics))


def agreement(images: np.ndarray) -> dict:
    out = {}
    for precision in ('default', 'highest'):
        with jax.default_matmul_precision(precision):
            gpu_params, gpu_metrics = one_step(jax.devices()[0], images)
            cpu_params, cpu_metrics = one_step(jax.devices('cpu')[0], images)
        diff = max(float(np.max(np.abs(a - b))) for a, b in
                   zip(jax.tree.leaves(gpu_params), jax.tree.leaves(cpu_params)))
        out[precision] = {'max_abs_param_difference': diff,
                          'loss_accelerator': float(gpu_metrics['loss']),
                          'loss_cpu': float(cpu_metrics['loss'])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--fused', type=int, default=20, help='steps per dispatch')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--conv-transpose', default='xla', choices=('xla', 'subpixel', 'hybrid'),
                        help="the decoder's transposed convolutions ('hybrid' is CPU-tuned)")
    args = parser.parse_args()
    global CONV_TRANSPOSE
    CONV_TRANSPOSE = args.conv_transpose
    if jax.default_backend() == 'cpu':
        raise SystemExit('bench/gpu.py found no accelerator (jax.default_backend() is cpu): '
                         "install a CUDA build of JAX, e.g. pip install 'jax[cuda12]'.")
    print('devices:', jax.devices(), flush=True)
    from configs import rotated_mnist
    from gla.data import sources
    train_images = sources.load_dataset(rotated_mnist.get_config().data).train.images
    images = np.concatenate([train_images] * 8)  # 48,000 images
    results = {'device': str(jax.devices()[0]), 'jax': jax.__version__,
               'conv_transpose': args.conv_transpose, 'steps_per_dispatch': args.fused}
    results['agreement'] = agreement(train_images[:64])
    print(json.dumps(results['agreement']), flush=True)
    results['throughput'] = []
    for batch_size in (64, 256, 1024):
        results['throughput'].append(throughput(images, batch_size, args.fused, args.rounds))
        print(json.dumps(results['throughput'][-1]), flush=True)
    results['epoch'] = [epoch_time(images, b, args.fused) for b in (64, 1024)]
    for row in results['epoch']:
        print(json.dumps(row), flush=True)
    results['seeds'] = [seeds_throughput(images, n, 256, args.fused, args.rounds)
                        for n in (1, 5)]
    for row in results['seeds']:
        print(json.dumps(row), flush=True)
    best = results['throughput'][-1]['images_per_sec']
    print(f'batch 1024: {best:,.0f} images/s (target >= 100,000 on one H100): '
          f'{"met" if best >= 1e5 else "not met"}')
    print('RESULT ' + json.dumps(results))


if __name__ == '__main__':
    main()
