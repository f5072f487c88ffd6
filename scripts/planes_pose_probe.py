"""Can the planes encoder see a plane's yaw? A supervised check outside the method.

    python scripts/planes_pose_probe.py --cache_dir runs/i17/data [--frequency 1] [--steps 1500]

The encoder of ``configs/planes.py`` (``gla.networks.Encoder``, widths (16, 32, 64)), then
Dense 256 and Dense 2, trained to regress ``(cos, sin)`` of ``frequency`` times each view's
true heading, ``k * 360° / V + yaw0`` (``yaw0`` is the object's own start,
``render.object_at``), on single views of the training planes of ``configs/planes.py``.
Prints the loss and the median angle error on one view of each test plane every 250 steps.
Issue 17 (docs/results.md) uses it to tell "the pose is invisible to this encoder" from "the
objective gives no path to it". Not part of the library; nothing imports it.
"""

import argparse
import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from configs import planes as planes_config  # noqa: E402
from gla import networks  # noqa: E402
from gla.settings.planes import data as planes_data  # noqa: E402
from gla.settings.planes import render  # noqa: E402


class PoseRegressor(nn.Module):
    """``(B, H, W, C)`` in [-1, 1] -> ``(B, 2)``: ``encoder``, Dense 256, LeakyReLU, Dense 2."""
    encoder: nn.Module

    @nn.compact
    def __call__(self, x):
        x = self.encoder(x)
        x = nn.leaky_relu(nn.Dense(256)(x.reshape(x.shape[0], -1)))
        return nn.Dense(2)(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cache_dir', required=True, help='where the planes are (or go) cached')
    parser.add_argument('--frequency', type=int, default=1, help='regress this multiple of yaw')
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch_size', type=int, default=64)
    args = parser.parse_args()

    config = planes_config.get_config()
    p = config.data.planes
    dataset = planes_data.load_planes(config.data, args.cache_dir)
    first_test = p.num_train + p.num_val
    yaw0 = np.array([render.object_at(p.seed, i)['yaw0'] for i in range(first_test + p.num_test)])
    train, test = dataset.train.images, dataset.test.images  # (N, V, H, W, C)
    heading = lambda obj, k: (k * 2 * np.pi / p.num_views + yaw0[obj]) * args.frequency

    model = PoseRegressor(networks.Encoder(features=config.model.encoder_features,
                                           initialization=config.model.init))
    params = model.init(jax.random.key(0), jnp.zeros((1,) + train.shape[2:]))
    tx = optax.adam(1e-3)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, x, angle):
        target = jnp.stack([jnp.cos(angle), jnp.sin(angle)], -1)
        loss, grads = jax.value_and_grad(
            lambda q: jnp.mean((model.apply(q, x) - target) ** 2))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(0)
    test_views = np.arange(len(test)) % p.num_views
    for i in range(args.steps):
        obj = rng.integers(0, len(train), args.batch_size)
        k = rng.integers(0, p.num_views, args.batch_size)
        params, opt_state, loss = step(params, opt_state, jnp.asarray(train[obj, k]),
                                       jnp.asarray(heading(obj, k), jnp.float32))
        if i % 250 == 0 or i == args.steps - 1:
            pred = np.asarray(model.apply(params, jnp.asarray(test[np.arange(len(test)),
                                                                    test_views])))
            truth = heading(first_test + np.arange(len(test)), test_views)
            error = np.abs(np.angle(np.exp(1j * (np.arctan2(pred[:, 1], pred[:, 0]) - truth))))
            print(f'step {i}: loss {float(loss):.4f}, median test error '
                  f'{np.degrees(np.median(error)):.1f}° (of {args.frequency} x yaw)', flush=True)


if __name__ == '__main__':
    main()
