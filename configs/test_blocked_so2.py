"""A tiny Rotated & blocked MNIST SO(2) run (seconds on a CPU; tests and smoke checks).

    python launch.py --config configs/test_blocked_so2.py --workdir /tmp/gla_test_blocked

``configs/test.py`` with the group, latent action and blocks of ``blocked_mnist_so2.py``.
Numbers mean nothing; it exercises SO(2) resampling, blocked pairs and the swap test.
"""

import ml_collections

from configs import blocked_mnist_so2
from configs import test


def get_config() -> ml_collections.ConfigDict:
    config = test.get_config()
    blocked = blocked_mnist_so2.get_config()
    config.group = blocked.group  # SO(2), angles uniform in [0°, 360°), 'grid' action
    config.blocks = blocked.blocks  # 8x8 white block that does not rotate
    config.eval.swap_seed = blocked.eval.swap_seed  # pairs of the swap test
    return config
