"""Planes under C24 yaw with the wrong prior, as a control: an in-plane rotation of z_v.

    python launch.py --config configs/planes_inplane.py --workdir runs/planes_inplane

As configs/planes.py, but Phi_g turns the 8x8 latent grid in the image plane by the yaw angle
(bilinear; rot90 at quarter turns), although the plane turns out of the image plane. Same
data, network and budget; it should lose to the volumetric and learned actions.
"""

from configs import planes


def get_config():
    config = planes.get_config()
    config.group.latent_action = 'inplane'  # the 2D latent grid turned in the image plane
    return config
