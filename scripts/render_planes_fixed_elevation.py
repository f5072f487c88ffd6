"""The rendered planes with every camera at one elevation, as a views ``.npz`` (issue 17).

    python scripts/render_planes_fixed_elevation.py OUT.npz [--elevation 0.425] [--objects 512]

The renderer draws each object's camera elevation from 0.25-0.60 rad (``render.sample_object``),
so the volumetric action's fixed tilt (``config.group.volume_tilt = 0.425``, the mean) is off
by up to 0.175 rad for a given plane. This script renders the same objects (``render.object_at``
with the config's data seed, 0) with the elevation replaced by ``--elevation`` for all of
them: a set on which the fixed tilt is every plane's own axis, an upper bound for reading a
per-object tilt from the image. Train on it with

    python launch.py --config configs/planes.py --config.data.planes.path=OUT.npz ...

It writes ``views`` (N, 24, 64, 64, 3) uint8, ``yaws`` (N, 24) degrees, ``labels`` (the colour
class), ``sky`` and ``silhouettes``: the format of ``gla/settings/planes/views_npz.py``. Not
part of the library; nothing imports it.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from gla.settings.planes import render  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out')
    parser.add_argument('--elevation', type=float, default=0.425, help='radians above the horizon')
    parser.add_argument('--objects', type=int, default=512, help='train + val + test objects')
    parser.add_argument('--views', type=int, default=24)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0, help='config.data.planes.seed')
    args = parser.parse_args()

    objects = [dict(render.object_at(args.seed, i), elevation=args.elevation)
               for i in range(args.objects)]
    views, skies = [], []
    for start in range(0, len(objects), 8):  # as render.render_planes: 8 objects at a time
        v, s = render.render_objects(objects[start:start + 8], args.views, args.size)
        views.append(v)
        skies.append(s)
    views, skies = np.concatenate(views), np.concatenate(skies)
    steps = 360.0 * np.arange(args.views) / args.views
    yaws = np.degrees([o['yaw0'] for o in objects])[:, None] + steps
    np.savez(args.out, views=views, yaws=yaws,
             labels=np.array([o['colour'] for o in objects], np.int32), sky=skies,
             silhouettes=np.any(views != skies[:, None], axis=-1))
    print(f'{args.out}: {views.shape} views at elevation {args.elevation} rad')


if __name__ == '__main__':
    main()
