"""Does a yaw-volume run's pose wind with the yaw? (configs/planes_pose.py, issue 17)

    python scripts/planes_pose_winding.py runs/pose/RUN [...] [--objects 64]

Encodes all 24 rendered views of the first ``--objects`` training planes (the cached
``.npz`` of the run's config.data.planes.cache_dir, else its workdir) and reads the pose
``theta_k`` off the first pair of each code (gla/yaw_renderer.py). Prints, averaged over the
objects, the length of the circular mean of ``theta_k - k * 15°`` (1: the pose winds once
with the yaw, as an exact C24 action needs), of ``theta_k + k * 15°`` (1: it winds the other
way) and of ``theta_k`` itself (1: one pose for every view); about ``1/sqrt(24) = 0.2`` for
angles without relation. Not part of the library; nothing imports it.
"""

import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from gla import run as run_lib  # noqa: E402


def resultants(theta: np.ndarray) -> dict:
    """``theta`` ``(N, V)`` radians -> mean resultant lengths of the three hypotheses."""
    steps = np.arange(theta.shape[1]) * 2 * np.pi / theta.shape[1]
    length = lambda a: float(np.abs(np.exp(1j * a).mean(axis=1)).mean())  # noqa: E731
    return {'winds +1': length(theta - steps), 'winds -1': length(theta + steps),
            'constant': length(theta)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('workdirs', nargs='+')
    parser.add_argument('--objects', type=int, default=64)
    args = parser.parse_args()
    for workdir in args.workdirs:
        run = run_lib.load_run(workdir)
        cache = run.config.data.planes.cache_dir or workdir
        views = np.load(sorted(glob.glob(os.path.join(cache, 'planes_n*.npz')))[0])['images']
        views = views[:args.objects].astype(np.float32) / 127.5 - 1.0
        n, v = views.shape[:2]
        z = np.asarray(run.encode(views.reshape((n * v,) + views.shape[2:])))
        theta = np.arctan2(z[:, 1], z[:, 0]).reshape(n, v)
        print(workdir, '  '.join(f'{k}: {x:.3f}' for k, x in resultants(theta).items()))


if __name__ == '__main__':
    main()
