"""gla against the published PyTorch method on Rotated MNIST, side by side in one run.

    pip install -e '.[bench]'          # torch==2.13.0, CPU build
    python -m bench.benchmark          # writes docs/benchmarks.md (about 20-30 min on 2 cores)

Measures, on the bundled 8,000 MNIST digits (6,000 train / 1,000 test):

* training images/s at batch 64 and 256 of gla fast (``configs/rotated_mnist.py``, the
  default: hybrid transposed convolutions, each batch's gradient in micro-batches of 16),
  gla whole batch (the same with whole batches and 10 steps per dispatch, the default
  before micro-batches), gla (whole batches one step per dispatch with sub-pixel transposed
  convolutions, the default before issue 18), the
  published reference re-expressed in PyTorch (per-sample rotation loops) and a vectorised
  PyTorch peer (``bench/torch_reference.py``): each after warm-up, the implementations
  alternated within every round (the order rotates), the median of ``--rounds`` rounds, and
  the ratios gla / reference and gla / vectorised taken per round, then their median;
* gla's compile time (ahead of time, per program);
* a check that the PyTorch network computes gla's function (same weights, same batch and
  rotations -> same loss);
* wall time to 26.7 dB test transformed PSNR (1,000 test digits x 4 rotations, evaluated
  after each epoch and not counted) for gla fast (compile included) and the reference;
* peak resident memory of the default MNIST training (``launch.py``, a subprocess);
* images/s of gla on 1 and 2 forced CPU devices (subprocesses, alternated).

Tests never run this; nothing here is imported by the library.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_PSNR_DB = 26.7
FUSED_STEPS = 10


def _load_data(max_train: int = 0):
    from configs import rotated_mnist
    from gla.data import sources
    config = rotated_mnist.get_config()
    config.data.max_train_examples = max_train
    return sources.load_dataset(config.data)


def _configs():
    """'gla fast': the default config (hybrid transposed convolutions, gradients in
    micro-batches of 16, one step a call); 'gla whole batch': the same with whole batches and
    10 steps a call (the default until micro-batches); 'gla': whole batches, one step a call,
    sub-pixel convolutions (the default until issue 18)."""
    from configs import rotated_mnist
    single = rotated_mnist.get_config()
    single.model.conv_transpose, single.steps_per_dispatch = 'subpixel', 1
    single.micro_batch_size = 0
    whole = rotated_mnist.get_config()
    whole.steps_per_dispatch, whole.micro_batch_size = FUSED_STEPS, 0
    return {'gla': single, 'gla whole batch': whole, 'gla fast': rotated_mnist.get_config()}


def _nchw(images: np.ndarray):
    import torch
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _load_avg() -> str:
    return ' / '.join(f'{x:.1f}' for x in os.getloadavg())


# ---------------------------------------------------------------- throughput


class _TorchRunner:
    def __init__(self, cls, batch_size: int, seed: int = 0):
        self.trainer, self.batch_size = cls(seed=seed), batch_size

    def run(self, images_nchw) -> float:
        loss = 0.0
        for start in range(0, len(images_nchw), self.batch_size):
            loss = self.trainer.step(images_nchw[start:start + self.batch_size])
        return loss


def pick_torch_threads(images: np.ndarray) -> tuple:
    """PyTorch's intra-op threads, 1 or 2, whichever trains the vectorised step faster here
    and now (on a loaded 2-core machine OpenMP's 2 threads can be many times slower)."""
    import torch
    from bench import torch_reference
    x = _nchw(images[:64 * 10])
    times = {1: [], 2: []}
    for _ in range(2):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runner = _TorchRunner(torch_reference.VectorisedTrainer, 64)
            runner.run(x[:128])
            start = time.perf_counter()
            runner.run(x)
            times[threads].append(time.perf_counter() - start)
    best = min(times, key=lambda t: min(times[t]))
    torch.set_num_threads(best)
    return best, {t: 640 / min(v) for t, v in times.items()}


def alternated_rates(runners: dict, inputs: dict, n: int, rounds: int, label: str) -> dict:
    """Images/s of each runner (``runner.run(inputs[name])`` trains ``n`` images) in every
    round, the order rotating from round to round so that no runner always goes first."""
    names = list(runners)
    rates = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            runners[name].run(inputs[name])
            rates[name].append(n / (time.perf_counter() - start))
        print(f'  {label} round {r + 1}/{rounds}: ' + ', '.join(
            f'{k} {v[-1]:.0f}' for k, v in rates.items()), flush=True)
    return rates


def throughput(images: np.ndarray, batch_size: int, steps: int, rounds: int) -> dict:
    """Images/s per implementation (median over rounds) and per-round ratios."""
    from bench import gla_trainer
    from bench import torch_reference
    n = steps * batch_size
    if n > len(images):
        raise ValueError(f'{steps} steps of {batch_size} need {n} images, have {len(images)}')
    data = images[:n]
    runners, compile_s = {}, {}
    for name, config in _configs().items():
        runners[name] = gla_trainer.GlaTrainer(config, batch_size)
        compile_s[name] = runners[name].compile_seconds
    runners['reference'] = _TorchRunner(torch_reference.ReferenceTrainer, batch_size)
    runners['vectorised'] = _TorchRunner(torch_reference.VectorisedTrainer, batch_size)
    inputs = {name: (_nchw(data) if name in ('reference', 'vectorised') else data)
              for name in runners}
    for name, runner in runners.items():  # warm-up: one measurement's worth each
        runner.run(inputs[name])
    rates = alternated_rates(runners, inputs, n, rounds, f'bs {batch_size}')
    result = {'batch_size': batch_size, 'steps_per_measurement': steps, 'rounds': rounds,
              'images_per_sec': {k: statistics.median(v) for k, v in rates.items()},
              'images_per_sec_range': {k: (min(v), max(v)) for k, v in rates.items()},
              'compile_seconds': compile_s, 'ratios': {}}
    for gla_name, bases in (('gla', ('reference', 'vectorised')),
                            ('gla whole batch', ('reference', 'vectorised')),
                            ('gla fast', ('reference', 'vectorised', 'gla whole batch'))):
        for base in bases:
            per_round = [a / b for a, b in zip(rates[gla_name], rates[base])]
            result['ratios'][f'{gla_name} / {base}'] = statistics.median(per_round)
    return result


def micro_batch_sweep(images: np.ndarray, batch_size: int, steps: int, rounds: int,
                      sizes: tuple = (0, 32, 16, 8)) -> dict:
    """Images/s of the default config (one step a dispatch) at ``batch_size`` with each
    ``micro_batch_size`` of ``sizes`` (0: the whole batch), alternated within rounds; the
    median per size, and per round the ratio to the whole batch, then their median."""
    from bench import gla_trainer
    from configs import rotated_mnist
    data = images[:steps * batch_size]
    runners = {}
    for size in sizes:
        config = rotated_mnist.get_config()
        config.steps_per_dispatch, config.micro_batch_size = 1, size
        runners[size] = gla_trainer.GlaTrainer(config, batch_size)
        runners[size].run(data)
    rates = alternated_rates(runners, {size: data for size in sizes}, len(data), rounds,
                             f'micro-batches at bs {batch_size}')
    return {'batch_size': batch_size, 'rounds': rounds, 'steps_per_measurement': steps,
            'images_per_sec': {k: statistics.median(v) for k, v in rates.items()},
            'ratio_to_whole_batch': {k: statistics.median([a / b for a, b in zip(v, rates[0])])
                                     for k, v in rates.items()},
            'compile_seconds': {k: r.compile_seconds for k, r in runners.items()}}


# ---------------------------------------------------------------- agreement


def copy_gla_params(net, params) -> None:
    """Loads gla's parameters into a :class:`bench.torch_reference.PublishedAutoencoder`."""
    import jax
    import torch
    p = jax.tree.map(np.asarray, params)
    with torch.no_grad():
        for i, layer in ((0, 0), (1, 2)):
            conv = p['encoder'][f'Conv_{i}']
            net.encoder[layer].weight.copy_(
                torch.from_numpy(conv['kernel'].transpose(3, 2, 0, 1).copy()))
            net.encoder[layer].bias.copy_(torch.from_numpy(conv['bias'].copy()))
            up = p['decoder'][f'ConvTranspose_{i}']
            # PyTorch's transposed conv flips the kernel relative to Flax's (no flip).
            net.decoder[layer].weight.copy_(torch.from_numpy(
                up['kernel'][::-1, ::-1].transpose(2, 3, 0, 1).copy()))
            net.decoder[layer].bias.copy_(torch.from_numpy(up['bias'].copy()))
        net.alpha.copy_(torch.from_numpy(p['mask']['alpha'].copy()))


def agreement(images: np.ndarray) -> dict:
    """Loss of one batch under the same weights in gla and in the PyTorch network."""
    import jax
    import torch
    from bench import torch_reference
    from gla import groups, losses, models, state as state_lib
    from gla.groups import c4
    config = _configs()['gla']
    group = groups.get_group('c4')
    model = models.build_model(config, group, 1)
    params = state_lib.create_train_state(config, model, group, (28, 28, 1),
                                          jax.random.key(0)).params
    x = images[:64]
    k = np.arange(64, dtype=np.int32) % 4
    target = np.asarray(c4.rotate_quarter_turns(k, x))
    gla_loss = float(losses.pair_losses(model, params, x, target, k, 1.0, 1.0)[0])
    net = torch_reference.PublishedAutoencoder()
    copy_gla_params(net, params)
    trainer = torch_reference.VectorisedTrainer()
    trainer.model = net
    with torch.no_grad():
        torch_loss = float(trainer._losses(_nchw(x), _nchw(target),
                                           torch_reference.rotate_batched,
                                           torch.from_numpy(k.astype(np.int64))))
    return {'gla_loss': gla_loss, 'torch_loss': torch_loss,
            'relative_difference': abs(gla_loss - torch_loss) / abs(gla_loss),
            'torch_params': torch_reference.param_count(net),
            'gla_params': models.count_params(params)}


# ---------------------------------------------------------------- time to PSNR


def _psnr_db(predict, test_images: np.ndarray, batch: int = 500) -> float:
    from bench import gla_trainer
    values = []
    for turns in range(4):
        for start in range(0, len(test_images), batch):
            x = test_images[start:start + batch]
            k = np.full(len(x), turns, np.int32)
            mse = np.mean((predict(x, k) - gla_trainer.rotate(x, k)) ** 2, axis=(1, 2, 3))
            values.append(10 * np.log10(4.0 / mse))
    return float(np.mean(np.concatenate(values)))


def _race_one(name: str, seed: int, dataset, max_epochs: int) -> dict:
    """One implementation from seed ``seed``'s initialisation (gla: ``config.seed``; the
    reference: ``torch.manual_seed``), on the data order of ``gla.train`` for that seed, until
    the test transformed PSNR passes the target; training wall time only (evaluation not
    counted; gla's compile counted)."""
    import torch
    from bench import gla_trainer
    from bench import torch_reference
    from gla import train_setup
    train_images, test_images = dataset.train.images, dataset.test.images
    steps = len(train_images) // 64
    start = time.perf_counter()
    if name == 'reference':
        runner = _TorchRunner(torch_reference.ReferenceTrainer, 64, seed)
        predict = lambda x, k: runner.trainer.predict(  # noqa: E731
            _nchw(x), torch.from_numpy(k.astype(np.int64))).numpy().transpose(0, 2, 3, 1)
    else:
        config = _configs()[name]
        config.seed = seed
        runner = gla_trainer.GlaTrainer(config, 64)
        predict = runner.predict
    clock = time.perf_counter() - start  # gla: initial state and step compiled, counted
    history = []
    for epoch in range(max_epochs):
        order = train_setup.epoch_order(seed, epoch, len(train_images))[:steps * 64]
        epoch_images = train_images[order]
        start = time.perf_counter()
        runner.run(epoch_images if name != 'reference' else _nchw(epoch_images))
        clock += time.perf_counter() - start
        psnr = _psnr_db(predict, test_images)
        history.append((epoch + 1, round(clock, 1), round(psnr, 2)))
        print(f'  {name}, seed {seed}: epoch {epoch + 1}  {clock:.1f} s  test PSNR '
              f'{psnr:.2f} dB', flush=True)
        if psnr >= TARGET_PSNR_DB:
            break
    reached = history[-1][2] >= TARGET_PSNR_DB
    return {'seed': seed, 'reached': reached, 'epochs': history[-1][0],
            'seconds': history[-1][1] if reached else None, 'history': history}


def time_to_psnr(dataset, max_epochs: int, seeds: int) -> dict:
    """The race to the target PSNR, gla fast against the reference, from ``seeds`` seeds'
    initialisations each (alternated: gla seed 0, reference seed 0, gla seed 1, ...). One
    seed decides little: the initialisations differ by the draw, not the distribution (the
    reference started from gla's seed-0 weights follows gla's curve, ``bench.init_effect``),
    and one draw can cost or win a few epochs."""
    results = {name: {'runs': []} for name in ('gla fast', 'reference')}
    for seed in range(seeds):
        for name in results:
            results[name]['runs'].append(_race_one(name, seed, dataset, max_epochs))
    for r in results.values():
        r['reached'] = all(run['reached'] for run in r['runs'])
        if r['reached']:
            seconds = [run['seconds'] for run in r['runs']]
            r['mean_seconds'], r['std_seconds'] = float(np.mean(seconds)), float(np.std(seconds))
    if all(r['reached'] for r in results.values()):
        results['ratio gla fast / reference'] = (results['gla fast']['mean_seconds']
                                                  / results['reference']['mean_seconds'])
    return results


# ---------------------------------------------------------------- memory, devices


def peak_memory(epochs: int) -> dict:
    """Peak RSS of ``launch.py --config configs/rotated_mnist.py`` (train + evaluate)."""
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, 'launch.py', '--config', 'configs/rotated_mnist.py',
                   '--workdir', workdir, f'--config.num_epochs={epochs}']
        wrapper = ('import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,'
                   ' stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); '
                   'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
        start = time.perf_counter()
        out = subprocess.run([sys.executable, '-c', wrapper] + command, cwd=REPO, check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=REPO))
        seconds = time.perf_counter() - start
    return {'command': ' '.join(['python'] + command[1:5] + ['DIR', command[-1]]),
            'peak_rss_gb': int(out.stdout.split()[-1]) * 1024 / 1e9, 'wall_seconds': seconds}


def devices_child(batch_size: int, steps: int, rounds: int) -> None:
    """Run in a subprocess with forced CPU devices: prints one JSON line."""
    import jax
    from bench import gla_trainer
    images = _load_data().train.images[:steps * batch_size]
    trainer = gla_trainer.GlaTrainer(_configs()['gla'], batch_size)
    trainer.run(images)
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        trainer.run(images)
        rates.append(len(images) / (time.perf_counter() - start))
    print(json.dumps({'devices': jax.device_count(), 'images_per_sec': statistics.median(rates),
                      'compile_seconds': trainer.compile_seconds}))


def devices(batch_size: int, steps: int, rounds: int, repeats: int = 2) -> dict:
    rates = {1: [], 2: []}
    for _ in range(repeats):
        for count in (1, 2):
            env = dict(os.environ, PYTHONPATH=REPO,
                       XLA_FLAGS=f'--xla_force_host_platform_device_count={count}')
            out = subprocess.run([sys.executable, '-m', 'bench.benchmark', '--devices-child',
                                  f'--batch-size={batch_size}', f'--steps={steps}',
                                  f'--rounds={rounds}'], cwd=REPO, env=env, check=True,
                                 capture_output=True, text=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            assert row['devices'] == count, row
            rates[count].append(row['images_per_sec'])
            print(f'  {count} device(s): {row["images_per_sec"]:.0f} images/s', flush=True)
    return {'batch_size': batch_size,
            'images_per_sec': {c: statistics.median(v) for c, v in rates.items()},
            'ratio 2 / 1': statistics.median([b / a for a, b in zip(rates[1], rates[2])])}


# ---------------------------------------------------------------- report


def machine() -> dict:
    import jax
    import torch
    cpu = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
                if line.startswith('model name')), platform.processor())
    mem = next((int(line.split()[1]) / 1e6 for line in open('/proc/meminfo')
                if line.startswith('MemTotal')), 0.0)
    return {'cpu': cpu, 'cores': os.cpu_count(), 'memory_gb': round(mem, 1),
            'python': platform.python_version(), 'jax': jax.__version__,
            'torch': torch.__version__, 'devices': str(jax.devices())}


def _f(x, digits=0):
    return '–' if x is None else f'{x:,.{digits}f}'


LIMITS = (
    'The step\'s compute, not Python: XLA:CPU\'s convolution gradients, above all the '
    'weight gradients of the decoder\'s transposed convolutions, cost more CPU time per image '
    'than PyTorch\'s oneDNN kernels (`python -m bench.transposed_conv_parts 256` times each '
    'part), and more per image on a whole batch of 64 or 256 than on pieces of 16, which is '
    'why `gla fast` takes each batch\'s gradient 16 images at a time (the same gradient to '
    'float rounding; the micro-batch tables above). It also takes the cheapest of XLA\'s and '
    'the sub-pixel form for each part of the transposed convolutions. Fusing 10 steps per '
    'dispatch gave nothing measurable on top of the pieces (on a 2-core AMD EPYC: 1,325 '
    'against 1,345 images/s, in separate runs) and cost 7x the compile time (24.6 against '
    '3.5 s), so the default runs one step a dispatch. Per-sample Python loops, the '
    'reference\'s handicap, cost little next to the convolutions at these batch sizes. '
    'Since issue 18 gla starts from the published code\'s initialisation '
    '(`model.init=\'pytorch\'`), the same distribution as the reference\'s; the reference '
    'started from gla\'s seed-0 weights follows gla\'s curve epoch for epoch (`python -m '
    'bench.init_effect`), so what one seed\'s race says about epochs is the luck of its draw, '
    'and the race runs several seeds. Its first epoch includes the compiles: the initial '
    'state\'s at XLA:CPU\'s LLVM level 1 (the same bits, a third of the time; '
    '`gla.state.compile_initial_state`) and the step\'s.')


def _load_sentence(start: str, end: str) -> str:
    """What the load averages measured mean for the numbers (the benchmark itself keeps
    about two threads busy)."""
    worst = max(float(start.split(' / ')[0]), float(end.split(' / ')[0]))
    measured = (f'load average (1/5/15 min) {start} at the start, {end} at the end, on '
                f'{os.cpu_count()} cores')
    if worst <= 2.5:
        return (f'**Load.** {measured}: the benchmark\'s own processes and nothing else of '
                'note, so absolute images/s are those of an otherwise idle machine.')
    return (f'**Load.** {measured}: other jobs shared the machine, so absolute images/s are '
            'below an idle machine\'s; the ratios, measured in the same rounds with the '
            'implementations alternated, are the numbers to read.')


def _race_sentence(race: dict) -> str:
    """Epochs, first-epoch (compile) and later per-epoch seconds of the race, over seeds."""
    parts = []
    for name in ('gla fast', 'reference'):
        runs = [r for r in race[name]['runs'] if len(r['history']) > 1]
        if not runs:
            return ''
        first = [r['history'][0][1] for r in runs]
        later = [(r['history'][-1][1] - r['history'][0][1]) / (len(r['history']) - 1)
                 for r in runs]
        epochs = ', '.join(str(r['epochs']) for r in race[name]['runs'])
        parts.append(f'{name}: {epochs} epochs, the first {min(first):.1f}-{max(first):.1f} s '
                     f'(compile included), then {np.mean(later):.2f} s an epoch')
    return 'Per seed, ' + '; '.join(parts) + '.'


def write_report(path: str, results: dict, command: str) -> str:
    m = results['machine']
    lines = [
        '# Benchmarks: gla against the published PyTorch method (Rotated MNIST, C4)', '',
        'Written by `bench/benchmark.py`; every number below comes from the one run named here.',
        '', f'    {command}', '',
        f'Run {results["started"]} – {results["finished"]} UTC on {m["cpu"]}, {m["cores"]} '
        f'cores, {m["memory_gb"]} GB; Python {m["python"]}, JAX {m["jax"]}, PyTorch '
        f'{m["torch"]} (CPU), PyTorch intra-op threads: {results["torch_threads"]} (the '
        'faster of 1 and 2 here: ' + ', '.join(
            f'{t} thread(s) {r:.0f} img/s' for t, r in results['torch_thread_rates'].items())
        + ').',
        '',
        _load_sentence(results['load_start'], results['load_end']), '',
        '## Training throughput (images/s, median of rounds; ratios: median of per-round ratios)',
        '']
    for row in results['throughput']:
        lines += [f'### batch {row["batch_size"]} ({row["rounds"]} rounds of '
                  f'{row["steps_per_measurement"]} steps each)', '',
                  '| implementation | images/s | range over rounds |', '| --- | --- | --- |']
        for name, rate in row['images_per_sec'].items():
            lo, hi = row['images_per_sec_range'][name]
            lines.append(f'| {name} | {_f(rate)} | {_f(lo)} – {_f(hi)} |')
        lines += ['', '| ratio | value |', '| --- | --- |']
        lines += [f'| {k} | {v:.2f}× |' for k, v in row['ratios'].items()]
        lines += ['', 'gla compile time (ahead of time, under the load above): ' + ', '.join(
            f'{k} {v:.1f} s' for k, v in row['compile_seconds'].items()), '']
    lines += ['Implementations: **gla** = `configs/rotated_mnist.py` with '
              '`model.conv_transpose=subpixel`, `steps_per_dispatch=1`, `micro_batch_size=0` '
              '(the default until issue 18: one jitted step per dispatch on the whole batch, '
              'sub-pixel transposed convolutions, pairs made inside the step, donated state); '
              '**gla whole batch** = `configs/rotated_mnist.py` with '
              f'`steps_per_dispatch={FUSED_STEPS}`, '
              '`micro_batch_size=0` (the default until micro-batches: the decoder\'s transposed '
              'convolutions in the `hybrid` form of `gla/conv.py`, the fastest of XLA\'s and the '
              'sub-pixel form for each of forward, input and weight gradient; '
              f'{FUSED_STEPS} steps unrolled in one dispatch, each on the whole batch); '
              '**gla fast** = `configs/rotated_mnist.py`, the default now (the same training; '
              'each batch\'s gradient taken in micro-batches of 16 images and averaged, '
              '`gla.train_step.batch_mean_gradient`, one step per dispatch); **reference** = '
              'the published method re-expressed in PyTorch (`bench/torch_reference.py`, '
              'per-sample `rot90` loops over images and latents, no-grad target pass, Adam); '
              '**vectorised** = the same PyTorch step with batched rotations. All read batches '
              'from in-memory arrays (no DataLoader).', '']
    for row in results.get('micro_batches', []):
        lines += [f'### Micro-batch sizes at batch {row["batch_size"]} ({row["rounds"]} rounds '
                  f'of {row["steps_per_measurement"]} steps, alternated)', '',
                  'The default config, one step per dispatch, each batch\'s gradient taken '
                  '`micro_batch_size` images at a time (0: the whole batch):', '',
                  '| micro_batch_size | images/s | ratio to the whole batch | compile s |',
                  '| --- | --- | --- | --- |']
        lines += [f'| {k} | {_f(v)} | {row["ratio_to_whole_batch"][k]:.2f}× | '
                  f'{row["compile_seconds"][k]:.1f} |' for k, v in row['images_per_sec'].items()]
        lines.append('')
    a = results.get('agreement')
    if a:
        lines += ['## Same function', '',
                  f'Parameters: gla {a["gla_params"]:,}, PyTorch {a["torch_params"]:,}. '
                  'With gla\'s '
                  f'initial weights copied into the PyTorch network, one batch of 64 digits under '
                  f'fixed rotations: loss gla {a["gla_loss"]:.7f}, PyTorch {a["torch_loss"]:.7f} '
                  f'(relative difference {a["relative_difference"]:.1e}).', '']
    t = results.get('time_to_psnr')
    if t:
        seeds = len(t['gla fast']['runs'])
        lines += [f'## Wall time to {TARGET_PSNR_DB} dB test transformed PSNR', '',
                  f'Batch 64, Adam 1e-3; seeds 0-{seeds - 1}, each implementation from that '
                  'seed\'s own initialisation (gla: `config.seed`; the reference: '
                  '`torch.manual_seed`) on the data order `gla.train` uses for it, alternated; '
                  'test PSNR over the 1,000 test digits x 4 rotations after every epoch '
                  '(evaluation not timed; gla\'s compile is timed).', '',
                  '| implementation | seed | epochs | training wall time | PSNR per epoch '
                  '(epoch, s, dB) |', '| --- | --- | --- | --- | --- |']
        for name in ('gla fast', 'reference'):
            for r in t[name]['runs']:
                lines.append(f'| {name} | {r["seed"]} | {r["epochs"]}'
                             f'{"" if r["reached"] else " (not reached)"} | '
                             f'{_f(r["seconds"], 1)} s | {r["history"]} |')
        if 'ratio gla fast / reference' in t:
            g, ref = t['gla fast'], t['reference']
            lines += ['', f'Mean over seeds: gla fast {g["mean_seconds"]:.1f} ± '
                      f'{g["std_seconds"]:.1f} s, reference {ref["mean_seconds"]:.1f} ± '
                      f'{ref["std_seconds"]:.1f} s; ratio of the means '
                      f'{t["ratio gla fast / reference"]:.2f} (target ≤ 0.33). '
                      + _race_sentence(t)]
        lines.append('')
    mem = results.get('memory')
    if mem:
        lines += ['## Peak resident memory', '',
                  f'`{mem["command"]}` (train + evaluation + figures, a subprocess): peak RSS '
                  f'**{mem["peak_rss_gb"]:.2f} GB** (target ≤ 2 GB; {mem["wall_seconds"]:.0f} s '
                  'wall under the load above). The full 50-epoch run holds the same arrays and '
                  'programs; only more steps run.', '']
    d = results.get('devices')
    if d:
        lines += ['## 1 vs 2 forced CPU devices', '',
                  f'gla (default config), batch {d["batch_size"]}, '
                  '`XLA_FLAGS=--xla_force_host_platform_device_count=N`, subprocesses '
                  'alternated 1/2/1/2:', '', '| devices | images/s |', '| --- | --- |']
        lines += [f'| {c} | {_f(v)} |' for c, v in d['images_per_sec'].items()]
        lines += ['', f'Ratio 2 / 1: {d["ratio 2 / 1"]:.2f} (both split the same 2 cores: the '
                  'forced devices test the data-parallel path, they add no compute).', '']
    lines += ['## What limits gla here', '', LIMITS, '']
    lines += ['## 3D', '', 'The 3D training step has its own benchmark against an earlier '
              'commit, `python -m bench.volumes3d` (docs/benchmarks_3d.md).', '',
              '## Accelerator', '', '`bench/gpu.sh` (images/s at batch 64 / 256 / 1024 with '
              'fused steps, a 48,000-image epoch, one step checked against the CPU) has not '
              'been run: no GPU was lent to the session that wrote it.', '']
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=5, help='A/B rounds per batch size')
    parser.add_argument('--steps', type=int, default=40, help='steps per measurement at bs 64 '
                        f'(bs 256 runs half as many); a multiple of {2 * FUSED_STEPS}')
    parser.add_argument('--max-epochs', type=int, default=20, help='cap of the PSNR race')
    parser.add_argument('--race-seeds', type=int, default=3,
                        help='seeds (0..N-1) each implementation races from')
    parser.add_argument('--memory-epochs', type=int, default=2, help='epochs of the memory run')
    parser.add_argument('--skip', default='', help='comma list of: throughput, agreement, '
                        'psnr, memory, devices')
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'benchmarks.md'))
    parser.add_argument('--devices-child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--batch-size', type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.devices_child:
        devices_child(args.batch_size, args.steps, args.rounds)
        return
    if args.steps % (2 * FUSED_STEPS):
        parser.error(f'--steps={args.steps} must be a multiple of {2 * FUSED_STEPS}')
    skip = set(filter(None, args.skip.split(',')))
    results = {'started': datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M'),
               'load_start': _load_avg(), 'machine': machine()}
    dataset = _load_data()
    results['torch_threads'], results['torch_thread_rates'] = pick_torch_threads(
        dataset.train.images)
    print(f'PyTorch threads: {results["torch_threads"]} ({results["torch_thread_rates"]})')
    if 'agreement' not in skip:
        results['agreement'] = agreement(dataset.train.images)
        print('agreement:', results['agreement'], flush=True)
    if 'throughput' not in skip:
        results['throughput'] = [
            throughput(dataset.train.images, 64, args.steps, args.rounds),
            throughput(dataset.train.images, 256, args.steps // 2, args.rounds)]
        for row in results['throughput']:
            print(json.dumps(row['ratios']), flush=True)
        results['micro_batches'] = [
            micro_batch_sweep(dataset.train.images, b, args.steps // 2, max(3, args.rounds // 2))
            for b in (64, 256)]
    else:
        results['throughput'] = []
    if 'psnr' not in skip:
        results['time_to_psnr'] = time_to_psnr(dataset, args.max_epochs, args.race_seeds)
    if 'memory' not in skip:
        results['memory'] = peak_memory(args.memory_epochs)
        print('memory:', results['memory'], flush=True)
    if 'devices' not in skip:
        results['devices'] = devices(64, args.steps, args.rounds)
    results['finished'] = datetime.datetime.now(datetime.UTC).strftime('%H:%M')
    results['load_end'] = _load_avg()
    command = 'python -m bench.benchmark' + ''.join(f' {a}' for a in sys.argv[1:])
    print(write_report(args.out, results, command))
    with open(os.path.splitext(args.out)[0] + '.json', 'w') as f:
        json.dump(results, f, indent=1, default=str)


if __name__ == '__main__':
    main()
