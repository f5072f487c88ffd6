"""Brain-like 3D volumes: procedural head phantoms under the 24 rotations of the cube.

    python launch.py --config configs/brain3d.py --workdir runs/brain3d

No brain MRI set is reachable offline, so this trains on Shepp–Logan-style head phantoms
(gla/data/phantom.py: skull, brain, white matter, ventricles and 0..3 random lesions;
random size, pose and intensities; seeded): 800 train / 100 val / 200 test at 32^3.
The label is the number of lesions (0..3), which the linear probe reads from z, z_v, z_i.
Same network and batch as configs/adrenal3d.py, 5 epochs; SO(3) instead of the cube group:
``--config.group.name=so3``. Your own volumes: ``--config.data.source=npz
--config.data.path=FILE.npz`` (images (N, D, H, W), (N, D, H, W, C) or (N, C, D, H, W) +
labels, or the MedMNIST layout).
Sized to finish within 20 minutes on a quiet 2-core CPU (docs/results.md: 9 min under
load; 21.3 dB against 12.5 dB all-background; L_inv diverges after epoch 2, the small-data
blow-up of the paper's objective, and best-by-validation keeps epoch 2).
"""

import ml_collections

from configs import adrenal3d


def get_config() -> ml_collections.ConfigDict:
    config = adrenal3d.get_config()
    config.data.source = 'phantom'  # procedural head phantoms (gla.data.phantom)
    config.data.name = 'phantom'  # unused by this source; names the data in reports
    config.data.phantom = ml_collections.ConfigDict()
    config.data.phantom.num_train = 800  # training volumes
    config.data.phantom.num_val = 100  # validation volumes
    config.data.phantom.num_test = 200  # test volumes
    config.data.phantom.seed = 0  # volume i of a split depends only on (seed, split, i)
    config.num_epochs = 5  # passes over the 800 training volumes (500 steps)
    return config
