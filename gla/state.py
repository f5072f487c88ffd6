"""The train state of a run and how it is built from a config (also for restoring)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import ml_collections
import optax
from flax.training import train_state

from gla import models
from gla.groups import base


LR_SCHEDULES = ('constant', 'cosine')  # config.optimizer.schedule

# The initial state's program is a dozen threefry draws that run once. XLA:CPU's default
# LLVM optimisation (level 3) compiles it in 4-6 s for the 2D configs, 10-15 s for the 32^3
# and planes ones and 27 s for adrenal3d_64; level 1 in 1.3-2.6 s, with the same bits in
# every shipped config (tests/test_state_init.py holds three). Level 0 moves a uniform's last
# bit (no FMA contraction). The training step is left at level 3: level 1 compiled it 1.3-1.7x
# sooner at the same speed, but changed the SO(3) config's rounding.
CPU_INIT_COMPILER_OPTIONS = {'xla_backend_optimization_level': 1}


def make_optimizer(config: ml_collections.ConfigDict,
                   total_steps: int = 1) -> optax.GradientTransformation:
    """Adam with step size ``config.optimizer.learning_rate``: constant (the paper), or with
    ``config.optimizer.schedule = 'cosine'`` decayed along a half cosine to 0 at
    ``total_steps`` (the run's epochs times steps per epoch)."""
    schedule = config.optimizer.schedule
    if schedule == 'constant':
        return optax.adam(config.optimizer.learning_rate)
    if schedule == 'cosine':
        return optax.adam(optax.cosine_decay_schedule(config.optimizer.learning_rate,
                                                      max(int(total_steps), 1)))
    raise ValueError(f'unknown config.optimizer.schedule {schedule!r}; use one of '
                     f'{list(LR_SCHEDULES)}')


def create_train_state(config: ml_collections.ConfigDict, model: models.GroupLatentAutoencoder,
                       group: base.Group, image_shape: tuple, rng: jax.Array,
                       total_steps: int = 1) -> train_state.TrainState:
    """Initialises parameters for images of ``image_shape`` (``(*spatial, C)``) and Adam
    (``total_steps``: the length of a decaying schedule; any value gives the same state
    structure, so a restore may leave it out).

    Checks on the way that the group can act on the image grid and on the latent grid.
    """
    group.check_grid(tuple(image_shape[:-1]))
    x = jax.numpy.zeros((1,) + tuple(image_shape), jax.numpy.float32)
    latent = jax.eval_shape(lambda: model.init_with_output(rng, x, method=model.encode)[0])
    if latent.ndim > 2:  # a latent grid (config.model.latent='code' is a vector)
        group.check_grid(tuple(latent.shape[1:-1]))
    output = jax.eval_shape(lambda: model.init_with_output(rng, x, group.identity(1))[0])
    if output.shape != x.shape:
        raise ValueError(
            f'images of shape {tuple(image_shape)} decode to {tuple(output.shape[1:])}: each '
            f'spatial size must be divisible by stride**depth = {config.model.stride}**'
            f'{len(config.model.encoder_features)}. Resize the images or change '
            'config.model.encoder_features / stride.')
    params = model.init(rng, x, group.identity(1))['params']
    return train_state.TrainState.create(apply_fn=model.apply, params=params,
                                         tx=make_optimizer(config, total_steps))


def jit_initial_state(make_state: Callable[[jax.Array], Any],
                      out_shardings: Any = None) -> Callable[[jax.Array], Any]:
    """``make_state`` (a ``create_train_state`` partial, ``key -> state``) jitted, compiled
    cheaply on a CPU backend (:data:`CPU_INIT_COMPILER_OPTIONS`: the same parameters and
    Adam state, bit for bit), with XLA's defaults elsewhere. Call it once per seed: the
    states it returns share one optimizer object (a static field of the state), so a jitted
    step compiles once for all of them; an eager ``create_train_state`` per seed builds a
    new optimizer each time, and the step compiles again for every seed."""
    options = CPU_INIT_COMPILER_OPTIONS if jax.default_backend() == 'cpu' else {}
    return jax.jit(make_state, out_shardings=out_shardings, compiler_options=options)


def init_variables(module: Any, key: jax.Array, *inputs: Any, **init_kwargs: Any) -> Any:
    """``module.init(key, *inputs, **init_kwargs)`` (a Flax module's variables) as one program
    compiled like the initial state (:func:`jit_initial_state`). Eager ``init`` dispatches
    and compiles each operation of the forward pass on its own, and a jit at XLA:CPU's
    default level spends most of its time optimising a program that runs once: for
    ``configs/adrenal3d_so3.py``'s model at 32^3, 9 s against 42-46 s jitted at level 3 and
    109 s eager (measured beside two training runs)."""
    return jit_initial_state(functools.partial(module.init, **init_kwargs))(key, *inputs)


def compile_initial_state(make_state: Callable[[jax.Array], Any], key: jax.Array,
                          out_shardings: Any = None) -> Any:
    """``make_state(key)`` by :func:`jit_initial_state`, run once."""
    return jit_initial_state(make_state, out_shardings)(key)
