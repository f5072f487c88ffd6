"""A tiny Rotated & blocked MNIST SO(2) run (seconds on a CPU; tests and smoke checks).

    python launch.py --config configs/test_blocked_so2.py --workdir /tmp/gla_test_blocked

``configs/test.py`` (the paper's grid latent) with the group and blocks of
``blocked_mnist_so2.py``, bilinear turns and the grid-and-learned-channels action. Numbers
mean nothing; it exercises SO(2) resampling, blocked pairs and the swap test.
"""

import ml_collections

from configs import blocked_mnist_so2
from configs import test


def get_config() -> ml_collections.ConfigDict:
    config = test.get_config()
    blocked = blocked_mnist_so2.get_config()
    config.group = blocked.group  # SO(2), angles uniform in [0°, 360°)
    # The paper's grid latent (test.py), so bilinear turns and a grid action: a 64-step run
    # of it learns the swap; the code model of blocked_mnist_so2.py needs longer.
    config.group.so2.interpolation = 'bilinear'
    config.group.latent_action = 'grid_and_learned_channels'
    config.blocks = blocked.blocks  # 8x8 white block that does not rotate
    config.eval.swap_seed = blocked.eval.swap_seed  # pairs of the swap test
    return config
