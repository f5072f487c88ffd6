"""Rotated MNIST under C4 with the invariant-part recipe of issue 10 (beyond the paper).

    python launch.py --config configs/rotated_mnist_invariant.py --workdir runs/rmi

The faithful network and data of ``rotated_mnist.py`` with four changes (docs/results.md,
"Issue 10", measures each alone and together, 3 seeds):

  ``lr``            Adam step 4x the setting's (4e-3 here): the paper's 1e-3 leaves the
                    network under-trained after 50 epochs.
  ``code``          ``z_i`` is a global code ``u = LayerNorm(W2 max_k LReLU(W1 Phi_k z_v))``
                    of 128 entries (``gla.models.InvariantCode``): a 512-wide hidden layer
                    on the flattened variant latent, max-pooled over its orbit under the
                    latent action (the four quarter turns), so ``u`` is exactly invariant
                    wherever ``z_v`` is equivariant. It fills the invariant channels of the
                    decoder's input; its losses do not reach the encoder (stop-gradient).
                    A channel of the convolutional latent sees a patch and cannot be
                    invariant to a rotation of the whole image; the code sees it all.
                    On 3D volumes the orbit layer reads 2x2x2 block means of the latent
                    (``model.invariant_code_block=2``): 8x smaller, still exactly invariant.
  ``vicreg``        VICReg variance (weight 1) and covariance (0.04) terms on the batch of
                    ``z_i``, so that ``L_inv`` cannot be met by a constant code.
  ``random_input``  training pairs ``(T_h x, T_g T_h x)`` with a random ``h``: the encoder
                    (trained only through ``x``; the target pass is under stop-gradient) sees
                    every orientation, not only upright digits.

Ablations: ``--config configs/rotated_mnist_invariant.py:PARTS`` with ``PARTS`` a
``+``-joined subset of ``lr, code, vicreg, random_input`` (``all``, the default, is the
recipe), e.g. ``configs/rotated_mnist_invariant.py:code+vicreg``. ``apply_recipe`` applies
the same changes to any setting's config (``blocked_mnist_invariant.py``,
``adrenal3d_invariant.py``).
"""

from typing import Sequence

import ml_collections

from configs import rotated_mnist

RECIPE_PARTS = ('lr', 'code', 'vicreg', 'random_input')


def parse_parts(parts: str) -> tuple:
    """``'all'`` or a ``+``-joined subset of :data:`RECIPE_PARTS` -> a tuple of parts."""
    if parts in ('all', ''):
        return RECIPE_PARTS
    chosen = tuple(parts.split('+'))
    unknown = [p for p in chosen if p not in RECIPE_PARTS]
    if unknown:
        raise ValueError(f'unknown recipe part(s) {unknown} in {parts!r}; use "all" or a '
                         f'"+"-joined subset of {list(RECIPE_PARTS)}')
    return chosen


def apply_recipe(config: ml_collections.ConfigDict,
                 parts: Sequence[str] = RECIPE_PARTS) -> ml_collections.ConfigDict:
    """The recipe's ``parts`` applied to a setting's ``config`` (changed in place). Every
    part was tuned and measured from Flax's initialisation, which the recipe keeps."""
    config.model.init = 'flax'
    if 'lr' in parts:
        config.optimizer.learning_rate *= 4
    if 'code' in parts:
        config.model.invariant_code_dim = 128
        config.model.invariant_code_hidden = 512
        config.model.invariant_code_orbit_pool = True
        config.model.invariant_code_stop_gradient = True
        if config.data.spatial_ndim == 3:
            # 8^3 x 32 latents: the orbit's first Dense on 2x2x2 block means, 8x smaller
            # and still exactly invariant (a 3D step at batch 8: 103 -> 56 ms).
            config.model.invariant_code_block = 2
    if 'vicreg' in parts:
        config.loss.lambda_var = 1.0
        config.loss.lambda_cov = 0.04
        config.micro_batch_size = 0  # its batch statistics need the whole batch
    if 'random_input' in parts:
        config.pairs.random_input_element = True
    return config


def get_config(parts: str = 'all') -> ml_collections.ConfigDict:
    return apply_recipe(rotated_mnist.get_config(), parse_parts(parts))
