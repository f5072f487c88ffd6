"""The swap test of blocked settings: does the block follow ``z_i`` and the digit ``z_v``?

Pairs of test images ``(A, B)``, each with its own block (``blocks.py``), are encoded; the
decoder gets the invariant part of A and the (acted) variant part of B:

    swapped = D(z_i(x_A) + Phi_g z_v(x_B))     (the model's one swap, gla/autoencoder.py)

A perfect split gives ``reference = paint(T_g digit_B, block_A)``: A's block (which does
not move) on B's digit (turned by ``g``). Reported per ``g`` as MSEs pooled over all pixels
of a region and all pairs (images in [-1, 1]):

* ``a_block_mse``: inside A's block, against the block intensity (low: the block came
  with ``z_i``, as it should);
* ``b_block_mse``: inside B's block (outside A's), against the block intensity (low: the
  block came with ``z_v``, the wrong way);
* ``digit_b_mse``: outside both blocks, against ``T_g`` of B's clean digit (low: the digit
  came with ``z_v``, as it should);
* ``digit_a_mse``: outside both blocks, against ``T_g`` of A's clean digit (low: the digit
  came with ``z_i``, the wrong way);
* ``reference_psnr_db``: the whole image against ``reference``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gla import metrics
from gla import models
from gla.settings.blocked import blocks

REGION_TERMS = ('a_block', 'b_block', 'digit_b', 'digit_a')


def swap_arrays(params: Any, images_a: jax.Array, images_b: jax.Array, g: Any,
                key: jax.Array, *, model: models.GroupLatentAutoencoder, size: int,
                intensity: float) -> dict:
    """The swapped decodings for clean images ``images_a``, ``images_b`` ``(B, H, W, C)``
    and group elements ``g`` (one per pair): returns the blocked inputs ``x_a``, ``x_b``,
    ``swapped = D(combine(Phi_g z_v(x_b), z_i(x_a)))`` and the block masks ``mask_a``, ``mask_b``
    ``(B, H, W, 1)`` (drawn from ``fold_in(key, 0)`` and ``fold_in(key, 1)``).
    """
    variables = {'params': params}
    spatial = tuple(images_a.shape[1:3])
    mask_a = blocks.block_masks(jax.random.fold_in(key, 0), images_a.shape[0], spatial, size)
    mask_b = blocks.block_masks(jax.random.fold_in(key, 1), images_b.shape[0], spatial, size)
    x_a = blocks.paint(images_a, mask_a, intensity)
    x_b = blocks.paint(images_b, mask_b, intensity)
    swapped = model.apply(variables, x_a, x_b, g, method=model.swap)
    return dict(x_a=x_a, x_b=x_b, swapped=swapped, mask_a=mask_a, mask_b=mask_b)


def _region_sums(swapped, mask_a, mask_b, turned_a, turned_b, intensity) -> dict:
    """Per pair ``(B,)``: ``<term>_err`` (sum of squared errors over the region) and
    ``<term>_count`` (its pixels times channels) for the terms of the module docstring."""
    channels = swapped.shape[-1]
    only_b = mask_b * (1 - mask_a)
    outside = (1 - mask_a) * (1 - mask_b)
    block = jnp.full_like(swapped, intensity)
    regions = {'a_block': (mask_a, block), 'b_block': (only_b, block),
               'digit_b': (outside, turned_b), 'digit_a': (outside, turned_a)}
    out = {}
    for name, (region, ref) in regions.items():
        out[f'{name}_err'] = jnp.sum(region * jnp.square(swapped - ref), axis=(1, 2, 3))
        out[f'{name}_count'] = jnp.sum(region, axis=(1, 2, 3)) * channels
    return out


def swap_outputs(params: Any, images_a: jax.Array, images_b: jax.Array, g: Any,
                 key: jax.Array, *, model: models.GroupLatentAutoencoder, act_images,
                 size: int, intensity: float) -> dict:
    """:func:`swap_arrays` plus ``turned_*`` (``T_g`` of the clean digits), ``reference``,
    the region sums and ``psnr`` ``(B,)`` against the reference. ``act_images`` is the
    group's action on images (``group.act``)."""
    out = swap_arrays(params, images_a, images_b, g, key, model=model, size=size,
                      intensity=intensity)
    turned_a, turned_b = act_images(g, images_a), act_images(g, images_b)
    reference = blocks.paint(turned_b, out['mask_a'], intensity)
    out.update(_region_sums(out['swapped'], out['mask_a'], out['mask_b'], turned_a,
                            turned_b, intensity))
    out.update(reference=reference, psnr=metrics.psnr(out['swapped'], reference))
    return out


def swap_elements(group) -> Any:
    """The elements the swap test runs under: the identity and a quarter of the evaluation
    elements in (90° for C4 and for SO(2)'s 15° grid)."""
    elements = np.asarray(group.eval_elements())
    return elements[np.array([0, len(elements) // 4])]


def _swap_fn(run):
    return jax.jit(functools.partial(swap_outputs, model=run.model, act_images=run.group.act,
                                     size=int(run.config.blocks.size),
                                     intensity=float(run.config.blocks.intensity)))


def _pairs(images: np.ndarray, seed: int) -> tuple:
    """``(A, B) = (images[p], images[roll(p, 1)])`` for a permutation ``p`` seeded by
    ``seed``."""
    order = np.random.default_rng(seed).permutation(len(images))
    return images[order], images[np.roll(order, 1)]


def swap_test(run, images: np.ndarray, seed: int, batch_size: int) -> dict:
    """Swap metrics ``{element name: {a_block_mse, b_block_mse, digit_b_mse, digit_a_mse,
    reference_psnr_db}}`` over the pairs of :func:`_pairs` under every evaluation element
    of the group (24 angles for SO(2)); blocks drawn from ``key(seed)``."""
    fn, (images_a, images_b) = _swap_fn(run), _pairs(images, seed)
    elements = jax.tree.map(np.asarray, run.group.eval_elements())
    key = jax.random.key(seed)
    results = {}
    for e, name in enumerate(run.group.describe(elements)):
        sums, psnr = {}, []
        for start in range(0, len(images), batch_size):
            sl = slice(start, start + batch_size)
            g = np.repeat(elements[e:e + 1], len(images_a[sl]), axis=0)
            out = fn(run.params, images_a[sl], images_b[sl], g,
                     jax.random.fold_in(jax.random.fold_in(key, e), start))
            for k in out:
                if k.endswith(('_err', '_count')):
                    sums[k] = sums.get(k, 0.0) + float(np.sum(np.asarray(out[k])))
            psnr.append(np.asarray(out['psnr']))
        row = {f'{t}_mse': sums[f'{t}_err'] / max(sums[f'{t}_count'], 1.0)
               for t in REGION_TERMS}
        row['reference_psnr_db'] = float(np.mean(np.concatenate(psnr)))
        results[name] = row
    return results


def figure_arrays(run, images: np.ndarray, seed: int, num: int) -> dict:
    """``{row: (n_elements, num, H, W, C)}`` for the swap figure: ``x_a``, ``x_b``,
    ``swapped``, ``reference``, under each element of :func:`swap_elements`."""
    fn, (images_a, images_b) = _swap_fn(run), _pairs(images, seed)
    elements = swap_elements(run.group)
    rows = [fn(run.params, images_a[:num], images_b[:num],
               np.repeat(elements[e:e + 1], num, axis=0),
               jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), e), 0))
            for e in range(len(elements))]
    return {k: np.stack([np.asarray(r[k]) for r in rows])
            for k in ('x_a', 'x_b', 'swapped', 'reference')}
