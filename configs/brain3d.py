"""Brain-like 3D volumes: procedural head phantoms under the 24 rotations of the cube.

    python launch.py --config configs/brain3d.py --workdir runs/brain3d
    python launch.py --config configs/brain3d.py:grid --workdir runs/brain3d_grid

No brain MRI set is reachable offline, so this trains on Shepp–Logan-style head phantoms
(gla/data/phantom.py: skull, brain, white matter, ventricles and 0..3 random lesions;
random size, pose and intensities; seeded): 800 train / 100 val / 200 test at 32^3.
The label is the number of lesions (0..3), which the linear probe reads from z, z_v and z_i.
The network and batch of configs/adrenal3d.py (widths below), each latent part at RMS 1
(``model.latent='grid_unit_rms'``).

``ACTION`` (after the colon):

* ``regular`` (the default): ``group.latent_action='grid_regular'``, each latent cell's 48
  channels are 24 copies of two, permuted by the cube group's regular representation as
  the cells move, so what lies inside a cell turns with it; widths (24, 48); every channel
  variant (``mask.kind='all_variant'``: with the learned mask, 1 seed of 3 chose that
  itself, and only that seed drew the structures); 60 epochs. Measured (docs/results.md,
  "The regular action with every channel variant", 3 seeds): 33.11 +- 0.21 dB (all-background
  12.53), SSIM 0.945, lesions at 60 % and ventricles at 56 % of their true
  contrast (the ``grid`` model: 13 % / 22 %); 21-27 minutes of training beside a second run
  on a 2-core CPU (40 epochs: 32.12 dB, 53 % / 47 %, 16 minutes). With the learned mask:
  ``--config.mask.kind=learned`` (the structures then in 1 seed of 3).
* ``grid``: the paper's grid action (cells move, a cell's channels stay as they are), the
  learned (ALD) mask, widths (8, 32), 40 epochs; the default until 2026-12-03: 29.0 dB,
  SSIM 0.86, the ventricles and lesions drawn as blobs; 12 minutes. ``brain3d_invariant.py`` and
  ``test3d.py`` build on it.

SO(3) instead of the cube group: ``configs/brain3d.py:grid --config.group.name=so3`` (the
regular action needs a finite group). Your own volumes: ``--config.data.source=npz
--config.data.path=FILE.npz`` (images (N, D, H, W), (N, D, H, W, C) or (N, C, D, H, W) +
labels, or the MedMNIST layout).
"""

import ml_collections

from configs import adrenal3d


ACTIONS = ('regular', 'grid')  # the argument after the colon


def get_config(action: str = 'regular') -> ml_collections.ConfigDict:
    if action not in ACTIONS:
        raise ValueError(f'configs/brain3d.py:{action}: the action must be one of {ACTIONS}')
    config = adrenal3d.get_config()
    config.data.source = 'phantom'  # procedural head phantoms (gla.data.phantom)
    config.data.name = 'phantom'  # unused by this source; names the data in reports
    config.data.phantom = ml_collections.ConfigDict()
    config.data.phantom.num_train = 800  # training volumes
    config.data.phantom.num_val = 100  # validation volumes
    config.data.phantom.num_test = 200  # test volumes
    config.data.phantom.seed = 0  # volume i of a split depends only on (seed, split, i)
    # The paper's latent diverges here (L_inv: val loss 0.05 -> 560 by epoch 3, and again
    # after three rollbacks to x0.125 steps); each part rescaled to RMS 1 trains stably.
    # The paper's form: --config.model.latent=grid.
    config.model.latent = 'grid_unit_rms'
    config.num_epochs = 40  # passes over the 800 training volumes (4,000 steps)
    if action == 'regular':
        config.group.latent_action = 'grid_regular'  # 24 copies of each channel, permuted
        config.model.encoder_features = (24, 48)  # 48 = 24 copies x 2; 24 in the first layer
        config.mask.kind = 'all_variant'  # every channel turns: the structures are drawn
        config.num_epochs = 60  # 6,000 steps; 40 epochs: 1 dB less, 7-9 points less contrast
    return config
