"""The answer a run ends with: a few lines from ``eval.json`` that ``launch.py`` prints."""

from __future__ import annotations

import os

import numpy as np

from gla import evaluate


def _percent(value) -> str:
    return '—' if value is None else f'{100 * value:.1f}'


def summary_lines(results: dict, workdir: str) -> list:
    """Headline test metrics of ``results`` (an ``eval.json``), each beside its trivial
    baseline, and where the run's files are."""
    baselines = results.get('baselines', {})
    copy, black = baselines.get('copy_input_psnr_db'), baselines.get('black_image_psnr_db')
    training = results.get('training', {})
    probe = results['linear_probe']
    probes = ', '.join(f'{part} {_percent(probe[part]["upright"])} / '
                       f'{_percent(probe[part]["transformed"])} %' for part in ('z', 'z_v', 'z_i'))
    equivariance, invariance = (results['equivariance_error_relative'],
                                results['invariance_error_relative'])
    return [
        f'gla: {workdir} evaluated ({results["checkpoint"]} checkpoint, step {results["step"]}, '
        f'{results["num_test_images"]} test images x {len(results["group_elements"])} group '
        f'elements of {results["group"]})',
        f'  transformed PSNR {results[evaluate.PSNR_KEY]:.2f} dB (copying the input: '
        + (f'{copy:.2f} dB' if copy is not None else '—') + ', an all-black image: '
        + (f'{black:.2f} dB' if black is not None else '—')
        + f'), SSIM {results["transformed_ssim_mean"]:.3f}',
        '  equivariance error of z_v '
        + ('—' if equivariance is None else f'{equivariance:.2e}') + ', invariance error of '
        'z_i ' + ('—' if invariance is None else f'{invariance:.2e}')
        + f', variant channels {results["num_variant_channels"]} of '
        f'{results["num_channels"]}',
        f'  linear probe, upright / transformed: {probes}',
        f'  divergence warnings: {len(training.get("warnings") or [])}'
        + (f', rollbacks: {training["rollbacks"]}' if training.get('rollbacks') else '')
        + (f'; training {training["stopped_early"]}' if training.get('stopped_early') else ''),
        f'  files: {os.path.join(workdir, "eval.json")}, {os.path.join(workdir, "figures")}/, '
        f'{os.path.join(workdir, "checkpoints")}/',
        f'  report: python -m gla.analyze --workdir {workdir}',
    ]


def seeds_summary_lines(results: list, workdirs: list) -> list:
    """:func:`summary_lines` of each seed of a multi-seed run, then the mean ± sample std
    over the seeds of the headline numbers."""
    lines = []
    for result, workdir in zip(results, workdirs):
        lines += summary_lines(result, workdir)
    psnr = [r[evaluate.PSNR_KEY] for r in results]
    z_i = [100 * r['linear_probe']['z_i']['transformed'] for r in results]
    std = (lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)  # noqa: E731
    lines.append(f'gla: {len(results)} seeds: transformed PSNR {np.mean(psnr):.2f} ± '
                 f'{std(psnr):.2f} dB; probe z_i, transformed {np.mean(z_i):.1f} ± '
                 f'{std(z_i):.1f} %')
    return lines
