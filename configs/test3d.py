"""A tiny 3D run (head phantoms, 16^3, cube group) that finishes in seconds on a CPU.

    python launch.py --config configs/test3d.py --workdir /tmp/gla_test3d

32 training phantoms at 16^3, widths (4, 8), 2 epochs. Numbers mean nothing; it exercises
the 3D code paths end to end (data, cube / SO(3) actions, 3D figures). SO(3):
``--config.group.name=so3``; the real adrenal volumes: ``--config.data.source=bundled
--config.data.name=adrenal3d``.
"""

from configs import brain3d
from configs import tiny


def get_config():
    config = tiny.shrink(brain3d.get_config('grid'), examples=(32, 8, 8), features=(4, 8),
                         batch_size=8, log_every_steps=2, eval_batch_size=8, figure_images=1)
    config.data.resolution = 16  # 16^3 volumes, a 4^3 latent
    config.data.phantom.num_train = 32
    config.data.phantom.num_val = 8
    config.data.phantom.num_test = 8
    config.group.so3.num_eval_elements = 3
    return config
