"""AdrenalMNIST3D under the cube group with the recipe of ``rotated_mnist_invariant.py``
applied unchanged (issue 10).

    python launch.py --config configs/adrenal3d_invariant.py --workdir runs/a3i

``configs/adrenal3d_invariant.py:PARTS`` selects recipe parts as there.
"""

import ml_collections

from configs import adrenal3d
from configs import rotated_mnist_invariant as recipe


def get_config(parts: str = 'all') -> ml_collections.ConfigDict:
    config = adrenal3d.get_config()
    config.num_epochs = 40  # unchanged when configs/adrenal3d.py went to 60
    return recipe.apply_recipe(config, recipe.parse_parts(parts))
