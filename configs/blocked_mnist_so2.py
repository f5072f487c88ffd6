"""Rotated & blocked MNIST under continuous rotations, SO(2).

    python launch.py --config configs/blocked_mnist_so2.py --workdir runs/blocked_mnist_so2

``blocked_mnist.py`` (8x8 block that does not rotate, swap test) with the group, model and
schedule of ``rotated_mnist_so2.py`` (angles uniform in [0°, 360°), images turned by Fourier
shears, a global code turned by the Fourier action). Measured numbers: docs/results.md.
"""

import ml_collections

from configs import blocked_mnist
from configs import rotated_mnist_so2


def get_config() -> ml_collections.ConfigDict:
    return rotated_mnist_so2.continuous_rotations(blocked_mnist.get_config())
