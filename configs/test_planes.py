"""A tiny planes run for tests and smoke checks (seconds on a CPU).

    python launch.py --config configs/test_planes.py --workdir /tmp/gla_planes_test

24 training objects of 32x32 pixels, 8 yaw views (C8 is not registered: the group is yaw4,
2 views per step), a narrow network, 2 epochs. Numbers mean nothing; it exercises the
planes path: rendering and caching, view pairs, train, checkpoint, resume, evaluate with the
background swap, the orbit and swap figures.
"""

from configs import planes
from configs import tiny


def get_config():
    config = tiny.shrink(planes.get_config(), examples=(24, 8, 8), features=(8, 16),
                         batch_size=8, log_every_steps=2, eval_batch_size=16, figure_images=1)
    config.data.planes.num_train = 24
    config.data.planes.num_val = 8
    config.data.planes.num_test = 8
    config.data.planes.num_views = 8
    config.data.planes.image_size = 32  # with widths (8, 16): an 8x8x16 latent (8 depth x 2)
    config.group.name = 'yaw4'
    return config
