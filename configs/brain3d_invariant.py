"""Head phantoms under the cube group with the invariant-code recipe of
``rotated_mnist_invariant.py`` (issue 16): the lesion count is a property of the whole head
that no rotation changes, so it belongs in a global invariant code, not in a channel of the
convolutional latent.

    python launch.py --config configs/brain3d_invariant.py --workdir runs/b3i

The recipe of ``adrenal3d_invariant.py`` on the paper's grid latent (the invariant part is
the LayerNorm-ed code, so the L_inv that diverged with the paper's latent on these phantoms
is bounded here), with one change: the code pools over the latent's cells, not over the
orbit (``model.invariant_code_cell_pool``: one hidden layer applied to each cell of ``z_v``,
its mean and maximum over the 8^3 cells). A lesion is a local thing that may be anywhere;
the cells' maximum says whether one is there. ``configs/brain3d_invariant.py:PARTS`` selects
recipe parts. The orbit-pooled code of the earlier rounds:
``--config.model.invariant_code_cell_pool=False``
``--config.model.invariant_code_orbit_pool=True --config.model.invariant_code_block=2``.
Measured (docs/results.md, "A code pooled over the latent's cells"), seeds 0-2 at 40 epochs:
the lesion-count probe on the code 41.8 +- 4.0 % upright, 42.1 +- 2.6 % turned (chance 27 %;
the orbit-pooled code 23 %, the default config 27 %), 29.6 dB, SSIM 0.857, no divergence;
the lesions themselves stay faint (19 % of their true contrast). 17-19 minutes of training,
20-25 for the whole command, beside a second run on a 2-core CPU.
"""

import ml_collections

from configs import brain3d
from configs import rotated_mnist_invariant as recipe


def get_config(parts: str = 'all') -> ml_collections.ConfigDict:
    config = brain3d.get_config('grid')
    config.model.latent = 'grid'  # the code replaces the invariant channels (not unit RMS)
    parts = recipe.parse_parts(parts)
    config = recipe.apply_recipe(config, parts)
    if 'code' in parts:
        # pooled over the cells (a lesion anywhere), not over the orbit (probe 23 %)
        config.model.invariant_code_orbit_pool = False
        config.model.invariant_code_cell_pool = True
        config.model.invariant_code_block = 1
    return config
