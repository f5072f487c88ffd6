"""Rotated MNIST under SO(2) with an invariant part that classifies (issue 15, beyond the paper).

    python launch.py --config configs/rotated_mnist_so2_invariant.py --workdir runs/so2_invariant

``rotated_mnist_so2.py`` (a global code, the Fourier action, Fourier-shear images) with two
parts of the invariant recipe of ``rotated_mnist_invariant.py``: training pairs whose input
is itself turned (``T_h x, T_g T_h x``, so the encoder sees every orientation) and VICReg's
variance (weight 1) and covariance (0.04) terms on the batch of ``z_i``. The code latent's
``z_i`` is already global, so the recipe's orbit-pooled code is not needed; its 4x step size
is replaced by the 2x of ``rotated_mnist_so2.py``.

Measured, seeds 0-2 (docs/results.md): linear probe on ``z_i`` 87.1 +- 0.6 % on turned
digits (87.3 % upright; the default config: 76 %), transformed PSNR 26.45 +- 0.02 dB,
relative equivariance error 0.0018, invariance error 0.012, 0 divergence warnings.
"""

import ml_collections

from configs import rotated_mnist_so2


def get_config() -> ml_collections.ConfigDict:
    config = rotated_mnist_so2.get_config()
    # as measured (docs/results.md): the published widths and batch size, not the wider
    # network and smaller batches the SO(2) default has had since
    config.model.encoder_features = (32, 64)
    config.batch_size = 64
    config.pairs.random_input_element = True  # train on (T_h x, T_g T_h x), random h
    config.loss.lambda_var = 1.0  # VICReg variance term on the batch of z_i
    config.loss.lambda_cov = 0.04  # VICReg covariance term
    config.micro_batch_size = 0  # those batch statistics need the whole batch
    return config
