"""3D training-step benchmark on CPU: where the time goes, and sub-pixel vs XLA transposed
convolutions in the 3D decoder.

    PYTHONPATH=. python bench/conv3d.py [--resolution 32] [--batch 32] [--repeats 5]

Prints seconds per step of (a) the full train step of configs/adrenal3d.py (cube group
and SO(3)), (b) forward + backward of the encoder alone with ``strided_conv=
'space_to_depth'`` and ``'xla'``, and of the decoder with ``conv_transpose='subpixel'`` and
``'xla'`` (same parameters, same function), (c) forward + backward of the stride-1 ``2^3``
convolution both forms compute, at each layer's shapes, as gla computes it in 3D
(``gla.conv.valid_conv``: one im2col matrix product) and by XLA's convolution, with the
ratios measured in the same run.
Timings on a shared machine are upper bounds: say so when you quote them.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from configs import adrenal3d
from gla import conv
from gla import groups
from gla import models
from gla import state as state_lib
from gla import train_step


def _time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best.append(time.perf_counter() - start)
    return float(np.median(best))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--resolution', type=int, default=32)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    config = adrenal3d.get_config()
    n, b = args.resolution, args.batch
    x = jax.random.uniform(jax.random.key(0), (b, n, n, n, 1), minval=-1, maxval=1)
    results = {}
    for group_name in ('cube', 'so3'):
        config.group.name = group_name
        group = groups.group_from_config(config.group)
        model = models.build_model(config, group, 1)
        state = state_lib.create_train_state(config, model, group, (n, n, n, 1),
                                             jax.random.key(1))
        step = train_step.jit_step_functions(config, model, group).single
        carried = [state]  # the step donates its state: each call trains on from the last

        def train_on(images, key, step=step, carried=carried):
            carried[0], metrics = step(carried[0], images, key)
            return metrics

        results[f'train step ({group_name})'] = _time(train_on, x, jax.random.key(2),
                                                      repeats=args.repeats)
    features = tuple(config.model.encoder_features)
    enc_params = None
    for kind in ('space_to_depth', 'xla'):
        encoder = models.Encoder(features, strided_conv=kind)
        enc_params = enc_params or encoder.init(jax.random.key(0), x)  # same parameters
        z = encoder.apply(enc_params, x)
        grad = jax.jit(jax.grad(lambda p: jnp.mean(encoder.apply(p, x) ** 2)))
        results[f'encoder fwd+bwd ({kind})'] = _time(grad, enc_params, repeats=args.repeats)
    dec_params = None
    for kind in ('subpixel', 'xla'):
        decoder = models.Decoder(tuple(reversed(features[:-1])), 1, conv_transpose=kind)
        dec_params = dec_params or decoder.init(jax.random.key(0), z)  # same parameters
        grad = jax.jit(jax.grad(lambda p: jnp.mean(decoder.apply(p, z) ** 2)))
        results[f'decoder fwd+bwd ({kind})'] = _time(grad, dec_params, repeats=args.repeats)
    # The one stride-1 2^3 convolution both forms compute, at the shapes of the model's
    # layers (input grid, C_in, C_out): gla's im2col matrix product against XLA's conv.
    widths = (1,) + features
    shapes = [(n // 2 ** i // 2 + 1, 8 * widths[i], widths[i + 1])
              for i in range(len(features))]  # encoder: space-to-depth inputs
    for i, cin in enumerate(reversed(features)):
        cout = widths[len(features) - 1 - i]
        shapes.append((n // 2 ** (len(features) - i) + 2, cin, 8 * cout))  # decoder windows
    for grid, cin, cout in shapes:
        v = jax.random.normal(jax.random.key(3), (b, grid, grid, grid, cin))
        w = jax.random.normal(jax.random.key(4), (2, 2, 2, cin, cout))
        for kind, fn in (('im2col', conv.valid_conv), ('xla', conv.xla_valid_conv)):
            grad = jax.jit(jax.grad(lambda v, w, fn=fn: jnp.sum(fn(v, w) ** 2), (0, 1)))
            results[f'2^3 conv {grid}^3 {cin}->{cout} ({kind})'] = _time(
                grad, v, w, repeats=args.repeats)
    print(f'JAX {jax.__version__} on {jax.devices()}; {b} volumes of {n}^3, widths {features}')
    for name, seconds in results.items():
        print(f'{name:32s} {seconds * 1e3:9.1f} ms')
    for part, fast in (('encoder', 'space_to_depth'), ('decoder', 'subpixel')):
        ratio = results[f'{part} fwd+bwd (xla)'] / results[f'{part} fwd+bwd ({fast})']
        print(f'{part}: xla / {fast} = {ratio:.2f}x')


if __name__ == '__main__':
    main()
