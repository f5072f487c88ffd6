"""How much does the resampled latent action shrink z_v? Prints ||Phi_g z_v(x)|| / ||z_v(x)||,
/ ||z_v(T_g x)|| and their cosine on 500 test digits of a trained run (docs/results.md).

    PYTHONPATH=. python docs/so2_latent_norm.py RUN_WORKDIR
"""
import sys

import jax.numpy as jnp
import numpy as np

import gla
from gla.data import sources
run = gla.load_run(sys.argv[1])
x = sources.load_dataset(run.config.data).test.images[:500]
for deg in (0, 15, 30, 45, 90):
    g = jnp.full((len(x),), np.deg2rad(deg), jnp.float32)
    z_v, _ = run.split(run.encode(x))
    t_v, _ = run.split(run.encode(run.group.act(g, x)))
    acted = run.act(g, z_v)
    n = lambda a: float(jnp.sqrt(jnp.sum(jnp.square(a))))
    print(f'{deg:3d}°  |Phi z_v(x)|/|z_v(x)| = {n(acted)/n(z_v):.3f}   '
          f'|Phi z_v(x)|/|z_v(T x)| = {n(acted)/n(t_v):.3f}   '
          f'cos(Phi z_v(x), z_v(T x)) = {float(jnp.sum(acted*t_v))/n(acted)/n(t_v):.3f}')
