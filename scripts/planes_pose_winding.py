"""Does a yaw-volume run's pose wind with the yaw? (configs/planes_pose.py, issue 17)

    python scripts/planes_pose_winding.py runs/pose/RUN [...] [--objects 64] [--test]

Encodes all 24 views of the first ``--objects`` training planes (``--test``: test planes) of
the run's own data (``gla.data.sources.load_dataset``) and reads the pose
``theta_k`` off the first pair of each code (gla/yaw_renderer.py). Prints, averaged over the
objects, the length of the circular mean of ``theta_k - k * 15°`` (1: the pose winds once
with the yaw, as an exact C24 action needs), of ``theta_k + k * 15°`` (1: it winds the other
way) and of ``theta_k`` itself (1: one pose for every view); about ``1/sqrt(24) = 0.2`` for
angles without relation. For a run whose views are in heading order
(``config.data.planes.canonical_views``), also the error of ``theta_k`` against the heading
``k * 15°`` (within 7.5° of the true yaw). Not part of the library; nothing imports it.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from gla import run as run_lib  # noqa: E402
from gla.data import sources  # noqa: E402
from gla.settings.planes import evaluate as planes_evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('workdirs', nargs='+')
    parser.add_argument('--objects', type=int, default=64)
    parser.add_argument('--test', action='store_true',
                        help='the first --objects test planes instead of training planes')
    args = parser.parse_args()
    for workdir in args.workdirs:
        run = run_lib.load_run(workdir)
        dataset = sources.load_dataset(run.config.data, cache_dir=workdir)  # the run's order
        views = (dataset.test if args.test else dataset.train).images[:args.objects]
        metrics = planes_evaluate.pose_metrics(run, views)
        line = '  '.join(f'{k}: {x:.3f}' for k, x in metrics.items() if k != 'heading_error_deg')
        if 'heading_error_deg' in metrics:  # views in heading order: the error, in degrees
            error = metrics['heading_error_deg']
            line += f"  heading error: median {error['median']:.1f}°, mean {error['mean']:.1f}°"
        print(workdir, line)


if __name__ == '__main__':
    main()
