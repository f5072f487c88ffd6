"""Rotated & blocked MNIST under C4 with the recipe of ``rotated_mnist_invariant.py``
applied unchanged (issue 10).

    python launch.py --config configs/blocked_mnist_invariant.py --workdir runs/bmi

``configs/blocked_mnist_invariant.py:PARTS`` selects recipe parts as there.
"""

import ml_collections

from configs import blocked_mnist
from configs import rotated_mnist_invariant as recipe


def get_config(parts: str = 'all') -> ml_collections.ConfigDict:
    return recipe.apply_recipe(blocked_mnist.get_config(), recipe.parse_parts(parts))
