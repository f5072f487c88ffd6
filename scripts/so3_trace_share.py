"""How much of a trained SO(3) run's ``z_v`` sits in the traces, and how equivariant the rest is.

    PYTHONPATH=. python scripts/so3_trace_share.py WORKDIR [WORKDIR ...]

The first 64 test volumes of AdrenalMNIST3D at 32^3, one Haar rotation ``R`` each (key 5).
The relative error ``||Phi_R z_v(x) - z_v(T_R x)|| / ||z_v(T_R x)||`` over the whole of
``z_v`` and over its trace-free part (:func:`gla.latent_actions.tensor_rotation.
remove_isotropic`); the trace share is the part of ``||z_v||^2`` that no rotation moves
(docs/results.md, issue 15).
"""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from gla import run as run_lib
from gla.groups import so3
from gla.latent_actions import tensor_rotation

ASSET = os.path.join('gla', 'data', 'assets', 'adrenalmnist3d_64.npz')


def main(workdirs: list) -> None:
    with np.load(ASSET) as f:
        volumes = f['test_images'][:64].astype(np.float32)
    x = jnp.asarray(volumes[:, ::2, ::2, ::2, None] / 127.5 - 1)
    r = so3.sample_rotations(jax.random.key(5), x.shape[0])
    for workdir in workdirs:
        run = run_lib.load_run(workdir)
        rank = run.config.group.max_frequency
        z_v = lambda v: run.split(run.encode(v))[0]  # noqa: E731
        turned, target = tensor_rotation.rotate_tensors(r, z_v(x), rank), z_v(so3.rotate(r, x))
        free_turned = tensor_rotation.remove_isotropic(turned, rank)
        free_target = tensor_rotation.remove_isotropic(target, rank)
        whole = jnp.linalg.norm(turned - target) / jnp.linalg.norm(target)
        free = jnp.linalg.norm(free_turned - free_target) / jnp.linalg.norm(free_target)
        share = 1 - jnp.sum(free_target ** 2) / jnp.sum(target ** 2)
        print(f'{workdir}: relative error, whole z_v {float(whole):.4f}, trace-free part '
              f'{float(free):.3f}; trace share of z_v {float(share):.4f}')


if __name__ == '__main__':
    main(sys.argv[1:])
