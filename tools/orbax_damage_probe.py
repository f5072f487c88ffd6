"""Does orbax alone notice a damaged checkpoint? (why gla seals steps with checksums)

    PYTHONPATH=. python tools/orbax_damage_probe.py --workdir RUN

``RUN`` is a finished run (e.g. ``launch.py --config configs/test.py --config.num_epochs=3``).
On copies of it, the largest file of the newest ``latest`` step is truncated, deleted, or
has one byte flipped; the checksums are removed so only orbax judges; the raw train state
is restored without a target and compared with the original. Prints one line per damage.
"""

import os
import shutil
import sys
import tempfile

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import app
from absl import flags

flags.DEFINE_string('workdir', None, 'a finished gla run', required=True)


def _raw(step_dir):
    with ocp.StandardCheckpointer() as ckptr:
        return ckptr.restore(os.path.join(step_dir, 'state'))


def _damage(path, how):
    if how == 'truncated':
        with open(path, 'r+b') as f:
            f.truncate(os.path.getsize(path) // 2)
    elif how == 'deleted':
        os.remove(path)
    else:
        data = bytearray(open(path, 'rb').read())
        data[len(data) // 2] ^= 0xFF
        open(path, 'wb').write(bytes(data))


def main(argv):
    del argv
    latest = os.path.join(flags.FLAGS.workdir, 'checkpoints', 'latest')
    step = max(int(d) for d in os.listdir(latest) if d.isdigit())
    reference = jax.tree.leaves(_raw(os.path.join(latest, str(step))))
    for how in ('truncated', 'deleted', 'flipped'):
        with tempfile.TemporaryDirectory() as tmp:
            step_dir = os.path.join(tmp, str(step))
            shutil.copytree(os.path.join(latest, str(step)), step_dir)
            checksums = os.path.join(step_dir, 'gla_checksums.json')
            if os.path.exists(checksums):
                os.remove(checksums)
            files = [os.path.join(r, n) for r, _, ns in os.walk(os.path.join(step_dir, 'state'))
                     for n in ns]
            victim = max(files, key=os.path.getsize)
            _damage(victim, how)
            try:
                restored = jax.tree.leaves(_raw(step_dir))
            except Exception as e:  # pylint: disable=broad-except
                print(f'{how} {os.path.relpath(victim, step_dir)}: orbax raised '
                      f'{type(e).__name__}')
                continue
            wrong = sum(int(np.sum(np.asarray(a) != np.asarray(b)))
                        for a, b in zip(reference, restored))
            print(f'{how} {os.path.relpath(victim, step_dir)}: orbax restored without an '
                  f'error; {wrong} values differ from the original')


if __name__ == '__main__':
    sys.exit(app.run(main))
