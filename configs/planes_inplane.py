"""Planes under C24 yaw with the wrong prior, as a control: an in-plane rotation of z_v.

    python launch.py --config configs/planes_inplane.py --workdir runs/planes_inplane

As configs/planes.py, but Phi_g turns the 16x16 latent grid in the image plane by the yaw angle
(bilinear; rot90 at quarter turns), although the plane turns out of the image plane. Same
data, network (with its context blocks) and budget, no tilt; the volumetric action should
beat it. Measured (docs/results.md, "a turn about the tilted axis", 3 seeds): 21.34 +- 0.01
dB on the turned views (volumetric 21.73 +- 0.03), 24.91 +- 0.04 at 0 degrees, and the swap
fails (plane-region MSE 0.314 against B, 0.309 against A).
"""

from configs import planes


def get_config():
    config = planes.get_config()
    config.group.latent_action = 'inplane'  # the 2D latent grid turned in the image plane
    config.group.volume_tilt = 0.0  # the tilt is the volumetric action's
    return config
