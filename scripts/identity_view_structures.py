"""Does a run draw the phantoms' small structures when nothing turns? The structure metrics
of eval.json at the identity alone.

    PYTHONPATH=. python scripts/identity_view_structures.py WORKDIR [WORKDIR ...] [--which latest]

eval.json averages the PSNR inside the head and the ventricle and lesion contrasts over all
24 cube elements; a plain autoencoder (``--config.mask.kind=none``) is trained on identity
pairs only and cannot turn, so its average says nothing of what it draws. This scores the
identity view alone with the same functions (``gla.settings.volumes.evaluate``), next to the
average over the turned elements, on the ``which`` checkpoint (default ``best``, as
eval.json). Used in docs/results.md (issue 16).
"""

import dataclasses
import functools
import sys

import jax
import numpy as np

from gla import run as run_lib
from gla.data import sources
from gla.settings.volumes import evaluate as volume_eval


def _only(group, elements):
    """``group`` whose evaluation elements are ``elements`` (host arrays)."""
    return dataclasses.replace(group, eval_elements=lambda: elements)


def structures(workdir: str, which: str) -> dict:
    run = run_lib.load_run(workdir, which)
    dataset = sources.load_dataset(run.config.data, cache_dir=workdir)
    test = dataset.test.images
    regions = volume_eval.STRUCTURE_SOURCES[run.config.data.source](run.config.data, test)
    predict = functools.partial(volume_eval.model_prediction, model=run.model)
    elements = np.asarray(run.group.eval_elements())
    out = {}
    for name, chosen in (('identity', elements[:1]), ('turned', elements[1:])):
        m = volume_eval.structure_metrics(predict, run.params, _only(run.group, chosen), test,
                                          regions, run.config.eval.batch_size)
        out[name] = {'head_psnr_db': m['head_psnr_db']['model'],
                     'lesions': m['lesions_contrast']['model'],
                     'ventricles': m['ventricles_contrast']['model'],
                     'lesions_true': m['lesions_contrast']['true'],
                     'ventricles_true': m['ventricles_contrast']['true']}
    return out


def main(args: list) -> None:
    which = 'best'
    if '--which' in args:
        i = args.index('--which')
        which = args[i + 1]
        args = args[:i] + args[i + 2:]
    for workdir in args:
        out = structures(workdir, which)
        for view, m in out.items():
            print(f"{workdir} ({which}) {view}: PSNR in the head {m['head_psnr_db']:.2f} dB, "
                  f"lesion contrast {m['lesions']:.3f} (true {m['lesions_true']:.3f}), "
                  f"ventricle contrast {m['ventricles']:.3f} (true "
                  f"{m['ventricles_true']:.3f})", flush=True)


if __name__ == '__main__':
    jax.config.update('jax_platforms', 'cpu')
    main(sys.argv[1:])
