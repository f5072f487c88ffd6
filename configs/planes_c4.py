"""Planes under C4 yaw (quarter turns), volumetric action with exact rot90 of the volume.

    python launch.py --config configs/planes_c4.py --workdir runs/planes_c4

As configs/planes.py with group yaw4: the pairs are 0, 6, 12 or 18 views (0°/90°/180°/270°)
apart in the same 24-view renders (so the cache is shared). Switch the action with
--config.group.latent_action=learned_channels_integer or inplane.
"""

from configs import planes


def get_config():
    config = planes.get_config()
    config.group.name = 'yaw4'  # quarter turns of yaw
    config.group.volume_tilt = 0.0  # exact rot90 of the volume (a tilted turn resamples)
    config.eval.num_figure_images = 4  # 4 planes x 4 yaws in the transform grid
    return config
