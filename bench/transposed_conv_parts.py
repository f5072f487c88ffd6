"""CPU time of each part of the decoder's transposed convolutions, per computation form.

    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python -m bench.transposed_conv_parts 256

For the two layers of the published decoder (7x7x64 -> 14x14x32 and 14x14x32 -> 28x28x1) at
the given batch size, prints the forward time, and forward + weight gradient (dK) and
forward + input gradient (dx), in ms of process CPU time (best of 2 x 10 calls), for XLA's
transposed convolution and the sub-pixel form of gla/conv.py. This is what the 'hybrid'
form of gla/conv.py is built from. JAX only; no torch.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from gla import conv

LAYERS = {'decoder layer 1': (7, 64, 32), 'decoder layer 2': (14, 32, 1)}


def _cpu_ms(fn, calls: int = 10) -> float:
    fn()
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e3


def main() -> None:
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rng = np.random.default_rng(0)
    forms = {'subpixel': conv.subpixel_conv_transpose, 'xla': conv.xla_conv_transpose,
             'hybrid': conv.hybrid_conv_transpose}
    for layer, (n, cin, cout) in LAYERS.items():
        x = jnp.asarray(rng.normal(size=(batch, n, n, cin)).astype(np.float32))
        k = jnp.asarray(rng.normal(size=(4, 4, cin, cout)).astype(np.float32))
        for name, form in forms.items():
            def f(x_, k_, form=form):
                return jnp.sum(form(x_, k_, 2, 1) ** 2)
            parts = {'fwd': (jax.jit(lambda x_, k_, form=form: form(x_, k_, 2, 1)), (x, k)),
                     'fwd+dK': (jax.jit(jax.grad(f, argnums=1)), (x, k)),
                     'fwd+dx': (jax.jit(jax.grad(f, argnums=0)), (x, k))}
            times = {p: min(_cpu_ms(lambda: jax.block_until_ready(fn(*args)))
                            for _ in range(2)) for p, (fn, args) in parts.items()}
            print(f'batch {batch} {layer} {name:9s} ' + '  '.join(
                f'{p} {t:6.1f} ms' for p, t in times.items()), flush=True)


if __name__ == '__main__':
    main()
