"""A tiny planes run for tests and smoke checks (seconds on a CPU).

    python launch.py --config configs/planes_test.py --workdir /tmp/gla_planes_test

24 training objects of 32x32 pixels, 8 yaw views (C8 is not registered: the group is yaw4,
2 views per step), a narrow network, 2 epochs. Numbers mean nothing; it exercises the
planes path: rendering and caching, view pairs, train, checkpoint, resume, evaluate with the
background swap, the orbit and swap figures.
"""

from configs import planes


def get_config():
    config = planes.get_config()
    config.data.planes.num_train = 24
    config.data.planes.num_val = 8
    config.data.planes.num_test = 8
    config.data.planes.num_views = 8
    config.data.planes.image_size = 32
    config.group.name = 'yaw4'
    config.model.encoder_features = (8, 16)  # 32x32 -> 8x8x16 latent (16 = 8 depth x 2)
    config.batch_size = 8
    config.num_epochs = 2
    config.log_every_steps = 2
    config.eval.batch_size = 16
    config.eval.probe_steps = 10
    config.eval.num_figure_images = 1
    return config
