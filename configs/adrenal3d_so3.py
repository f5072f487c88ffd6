"""AdrenalMNIST3D under continuous 3D rotations (SO(3), uniform), by trilinear resampling.

    python launch.py --config configs/adrenal3d_so3.py --workdir runs/adrenal3d_so3

As configs/adrenal3d.py, but the training rotations are drawn uniformly from all of SO(3)
(unit-quaternion / Haar measure) and applied to the 32^3 volumes and to the 8^3 latent
``z_v`` by trilinear resampling about the centre (edge values outside). Evaluated under the
identity and 7 fixed seeded rotations. Restrict the range with
``--config.group.so3.max_angle_degrees=30`` or the axis with ``--config.group.so3.axes=w``.
Sized to finish within 20 minutes on a quiet 2-core CPU (docs/results.md: 13.5 min under
load; 23.6 dB; L_const diverges after epoch 2, best-by-validation keeps epoch 2).
"""

import ml_collections

from configs import adrenal3d


def get_config() -> ml_collections.ConfigDict:
    config = adrenal3d.get_config()
    config.group.name = 'so3'  # continuous rotations; options in config.group.so3
    return config
