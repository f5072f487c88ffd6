"""AdrenalMNIST3D under the cube group with the recipe of ``rotated_mnist_invariant.py``
(issue 10), its code's orbit layer on 2x2x2 block means of the latent (issue 16), 60 epochs
as ``adrenal3d.py``. 3 seeds (docs/results.md, "The invariant-code recipe in 3D"): z_i probe
79.6 +- 0.3 % on turned volumes (majority 76.8 %; the paper's objective 69 %), Dice 0.865,
29.4 dB, equivariance error 0.002; 18-20 minutes beside a second run on a 2-core CPU.

    python launch.py --config configs/adrenal3d_invariant.py --workdir runs/a3i

``configs/adrenal3d_invariant.py:PARTS`` selects recipe parts as there.
"""

import ml_collections

from configs import adrenal3d
from configs import rotated_mnist_invariant as recipe


def get_config(parts: str = 'all') -> ml_collections.ConfigDict:
    return recipe.apply_recipe(adrenal3d.get_config(), recipe.parse_parts(parts))
