"""The jitted pieces of training: one step, ``K`` fused steps, the validation terms.

``train_step(state, images, pair_key) -> (state, metrics)`` makes its pairs on the device:
``g`` from ``fold_in(pair_key, state.step)``, ``(x, T_g x)`` from the setting's pair
function, then one Adam step on the loss of :mod:`gla.losses`. The gradient of the batch
mean may be computed in micro-batches (``config.micro_batch_size``): the same gradient to
float rounding, and faster on a CPU whose caches a whole batch's activations overflow
(docs/benchmarks.md). :func:`jit_step_functions`
binds the static parts from a config; ``gla.train`` and ``bench/`` both call it, so the
benchmarks time exactly the step a run trains with.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state

from gla import groups
from gla import losses
from gla import models
from gla import pairs
from gla import settings


def train_step(state: train_state.TrainState, images: jax.Array, pair_key: jax.Array,
               update_scale: Optional[jax.Array] = None, *,
               model: models.GroupLatentAutoencoder, group: groups.Group,
               pair_fn: pairs.PairFn, lambda_inv: float, lambda_const: float,
               lambda_var: float = 0.0, lambda_cov: float = 0.0, inv_target_shift: int = 0,
               micro_batch_size: int = 0, lambda_ssim: float = 0.0, lambda_pose: float = 0.0):
    """One optimisation step on a batch of images ``(B, *spatial, C)``.

    The pairs are made here, on the device: ``g`` is drawn from ``fold_in(pair_key, step)``
    and ``(x, T_g x) = pair_fn(...)``. ``update_scale`` (a scalar; ``None``: 1) multiplies
    Adam's update, which is how a rolled-back run takes smaller steps (``gla/train.py``).
    ``micro_batch_size`` (0, or dividing ``B``): the gradient is taken that many examples
    at a time (:func:`batch_mean_gradient`). ``lambda_pose`` (views ``(B, V, H, W, C)`` in
    heading order): the inputs' view index is their heading, ``L_pose``'s label.
    Returns ``(state, metrics)``.
    """
    key = jax.random.fold_in(pair_key, state.step)
    g = group.sample(key, images.shape[0])
    heading = None
    if lambda_pose:
        inputs, targets, views = pair_fn(jax.random.fold_in(key, 1), images, g,
                                         input_views=True)
        heading = 2 * jnp.pi * views.astype(jnp.float32) / images.shape[1]
    else:
        inputs, targets = pair_fn(jax.random.fold_in(key, 1), images, g)
    inv_target = (pairs.random_shift(jax.random.fold_in(key, 2), targets, inv_target_shift)
                  if inv_target_shift else None)

    def loss_fn(params, batch):
        x, target, g_batch, inv_target_batch, heading_batch = batch
        return losses.pair_losses(model, params, x, target, g_batch, lambda_inv, lambda_const,
                                  lambda_var, lambda_cov, inv_target_batch, lambda_ssim,
                                  heading_batch, lambda_pose)

    terms, grads = batch_mean_gradient(loss_fn, state.params,
                                       (inputs, targets, g, inv_target, heading),
                                       micro_batches(images.shape[0], micro_batch_size))
    mask = model.apply({'params': state.params}, method=model.variant_mask)
    metrics = dict(terms, grad_norm=jnp.sqrt(sum(jnp.sum(jnp.square(x))
                                                for x in jax.tree.leaves(grads))),
                   variant_share=jnp.mean(mask))
    return _apply_gradients(state, grads, update_scale), metrics


def batch_mean_gradient(loss_fn, params: Any, batch: Any, pieces: int = 1):
    """``(terms, grads)`` of ``loss_fn(params, batch) -> (loss, terms)``, a mean over the
    examples of ``batch`` (a tree of arrays with a leading batch axis ``B``; ``None`` leaves
    allowed), computed on ``pieces`` equal pieces (:func:`micro_batch`) and averaged: the
    same mean to float rounding (tests/test_micro_batches.py). Only for per-example losses:
    batch statistics (VICReg's) would change, so the config checks refuse them together.

    The pieces are unrolled: XLA:CPU ran a ``lax.scan`` over them 8x slower (the default
    config, batch 64 in pieces of 16: 176 against 1,400 images/s on a 2-core CPU)."""
    def value_and_grad(piece):
        (_, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, piece)
        return terms, grads

    if pieces == 1:
        return value_and_grad(batch)
    total = None
    for i in range(pieces):
        part = value_and_grad(jax.tree.map(lambda a, i=i: micro_batch(a, i, pieces), batch))
        total = part if total is None else jax.tree.map(jnp.add, total, part)
    return jax.tree.map(lambda a: a / pieces, total)


def micro_batch(a: jax.Array, i: int, pieces: int) -> jax.Array:
    """Piece ``i`` of ``pieces`` of ``a`` ``(B, ...)``: from each device's contiguous share of
    the batch (``parallel.batch_sharded``) its ``i``-th contiguous part, so that every piece
    stays spread over the devices without moving data; on one device ``a[i*m:(i+1)*m]``.
    (On one CPU device that slice ran the default step at batch 64 5 % faster than this
    reshape or strided pieces ``a[i::pieces]``, which spread over the devices too.)"""
    devices, size = jax.device_count(), a.shape[0] // pieces
    if devices == 1:
        return a[i * size:(i + 1) * size]
    if a.shape[0] % (devices * pieces):
        return a[i::pieces]
    share = a.reshape((devices, pieces, a.shape[0] // (devices * pieces)) + a.shape[1:])
    return share[:, i].reshape((-1,) + a.shape[1:])


def micro_batches(batch_size: int, micro_batch_size: int) -> int:
    """Pieces a batch's gradient is taken in: ``batch_size // micro_batch_size``, or 1 when
    ``micro_batch_size`` is 0 or not below ``batch_size``."""
    if not 0 < micro_batch_size < batch_size:
        return 1
    if batch_size % micro_batch_size:
        raise ValueError(f'micro_batch_size={micro_batch_size} does not divide the batch of '
                         f'{batch_size}; choose a divisor, or 0 for the whole batch at once')
    return batch_size // micro_batch_size


def cpu_micro_batch_size(config: ml_collections.ConfigDict) -> int:
    """``config.micro_batch_size`` on a CPU backend, else 0: pieces help a CPU whose caches a
    whole batch overflows; an accelerator runs the whole batch faster."""
    return config.get('micro_batch_size', 0) if jax.default_backend() == 'cpu' else 0


def _apply_gradients(state: train_state.TrainState, grads: Any,
                     update_scale: Optional[jax.Array]) -> train_state.TrainState:
    if update_scale is None:  # the plain step, exactly flax's
        return state.apply_gradients(grads=grads)
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
    updates = jax.tree.map(lambda u: u * update_scale, updates)
    return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                         opt_state=opt_state)


def fused_train_steps(state: train_state.TrainState, images: jax.Array, pair_key: jax.Array,
                      update_scale: Optional[jax.Array] = None, **step_kwargs):
    """``K = images.shape[0]`` consecutive :func:`train_step` calls in one program (one
    dispatch from Python): ``images`` ``(K, B, *spatial, C)``; metrics stacked ``(K,)``.

    The steps are unrolled, not a ``lax.scan`` loop: XLA:CPU runs a rolled loop several
    times slower than the same steps unrolled. Each step still draws its pairs from
    ``fold_in(pair_key, step)``, so the training does not depend on ``K``.
    """
    rows = []
    for k in range(images.shape[0]):
        state, metrics = train_step(state, images[k], pair_key, update_scale, **step_kwargs)
        rows.append(metrics)
    return state, jax.tree.map(lambda *a: jnp.stack(a), *rows)


def validation_terms(params: Any, images: jax.Array, g: Any, key: jax.Array, *,
                     model: models.GroupLatentAutoencoder, pair_fn: pairs.PairFn) -> dict:
    """Per-example loss terms ``(B,)`` of the fixed validation pairs ``(x, g, T_g x)``."""
    inputs, targets = pair_fn(key, images, g)
    return losses.pair_loss_terms(model, params, inputs, targets, g)


def _over_seeds(fn):
    """``fn`` applied to each entry of a leading seeds axis of its three arguments, unrolled
    in one program (measured: ``jax.vmap`` turns the per-seed convolutions into grouped ones,
    which XLA:CPU runs several times slower than the same convolutions one seed at a time)."""

    def over(states, images, keys):
        outs = [fn(*jax.tree.map(lambda a: a[k], (states, images, keys)))
                for k in range(images.shape[0])]
        return jax.tree.map(lambda *a: jnp.stack(a), *outs)

    return over


@dataclasses.dataclass(frozen=True)
class StepFunctions:
    """The jitted step functions of a run: ``single(state, images (B, ...), pair_key)``,
    ``fused(state, images (K, B, ...), pair_key)`` (state donated) and
    ``validation(params, images, g, key) -> per-example terms``."""
    single: Any
    fused: Any
    validation: Any


def step_kwargs(config: ml_collections.ConfigDict, model: models.GroupLatentAutoencoder,
                group: groups.Group) -> dict:
    """The static arguments of :func:`train_step` for ``config``: its training pairs
    (identity pairs for ``mask.kind='none'``, random input elements if asked), loss weights,
    micro-batches."""
    return dict(model=model, group=pairs.training_group(config, group),
                pair_fn=settings.training_pair_fn(config, group),
                lambda_inv=config.loss.lambda_inv, lambda_const=config.loss.lambda_const,
                lambda_var=config.loss.lambda_var, lambda_cov=config.loss.lambda_cov,
                inv_target_shift=config.loss.inv_target_shift,
                micro_batch_size=cpu_micro_batch_size(config),
                lambda_ssim=config.loss.lambda_ssim,
                lambda_pose=config.loss.lambda_pose)


def jit_step_functions(config: ml_collections.ConfigDict, model: models.GroupLatentAutoencoder,
                       group: groups.Group, seeds_axis: bool = False) -> StepFunctions:
    """The jitted step functions of ``config`` (:func:`step_kwargs`). ``seeds_axis``:
    ``single`` and ``fused`` train a stack of independent runs along a leading axis of the
    state, the images and the pair keys, in one program (``gla/multi_seed.py``)."""
    kwargs = step_kwargs(config, model, group)

    def batched(fn):
        fn = functools.partial(fn, **kwargs)
        return jax.jit(_over_seeds(fn) if seeds_axis else fn, donate_argnums=0)

    return StepFunctions(
        single=batched(train_step),
        fused=batched(fused_train_steps),
        validation=jax.jit(functools.partial(validation_terms, model=model,
                                             pair_fn=settings.pair_fn(config, group))))
