"""Planes under C24 yaw, drawn from a feature volume that the code's own pose turns.

    python launch.py --config configs/planes_pose.py --workdir runs/planes_pose

As configs/planes.py (same data, encoder and pairs), but the latent is a global code
(gla/latent_code.py) whose ``z_v`` is one 2-vector, the pose, turned by ``Phi_g`` as a
rotation by the yaw angle (``'fourier'``, frequency 1: an exact representation of C24). The
decoder (gla/yaw_renderer.py) builds a 16^3 feature volume from the rest of the code, turns
it about its vertical axis by the pose's angle, projects it along the depth and draws the
image from it plus an unturned grid for the sky. Beyond the paper (issue 17).

Measured (docs/results.md, "a pose the decoder cannot ignore", seed 0): the pose does not
learn. Every view of a plane gets one pose (circular resultant 1.000 within a plane,
scripts/planes_pose_winding.py), with ``loss.lambda_const`` up to 1000,
``loss.lambda_pose_spread=1`` or ``model.yaw_pose='separate'``/``'detached'``; at 100
epochs (separate pose network) 20.01 dB on the turned views against 18.68 for the sky alone
and 20.87 for configs/planes.py; 17.5 minutes of training beside a second run.
"""

from configs import planes


def get_config():
    config = planes.get_config()
    config.model.latent = 'code'  # a global code, not the 8x8 grid
    config.model.code_dim = 256  # 2 pose entries (z_v) + 254 invariant entries (z_i)
    config.model.code_encoder = 'dense'
    config.model.code_decoder = 'yaw_volume'  # a 16^3 x 16 volume turned by the pose
    config.group.latent_action = 'fourier'  # z_v's pair turned by the yaw angle
    config.group.max_frequency = 1
    config.mask.kind = 'manual'
    config.mask.num_variant = 2  # the pose: one 2-vector
    config.optimizer.schedule = 'cosine'
    config.num_epochs = 100
    return config
