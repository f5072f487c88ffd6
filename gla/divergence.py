"""Watching a run for divergence: NaN/Inf stops it, a loss term far above its best warns.

:func:`check_finite` raises :class:`gla.errors.NonFiniteError` naming the step and the term
(no checkpoint is written from a non-finite state); :class:`DivergenceMonitor` keeps each
term's best value and warns when a term exceeds ``config.divergence_factor`` times
``max(best, config.divergence_floor)`` (the floor keeps a term that falls to 1e-9 and comes
back to 1e-3 from counting as a blow-up). What the run then does is
``config.divergence_action`` (:data:`ACTIONS`, carried out in ``gla/train.py``).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from gla import errors

LOSS_TERMS = ('loss', 'recon', 'inv', 'const')
# 'warn': log and record only; 'stop': end training at the first diverging validation and
# evaluate the best checkpoint; 'rollback': go back to the best checkpoint and train on with
# Adam's steps halved, at most MAX_ROLLBACKS times, then stop.
ACTIONS = ('warn', 'stop', 'rollback')
MAX_ROLLBACKS = 3


class DivergenceMonitor:
    """Warns when a loss term grows far above its best value so far (the paper's objective
    can blow up on small data, docs/results.md). Its state is saved with every checkpoint."""

    def __init__(self, factor: float, floor: float, progress: Optional[dict] = None):
        self.factor, self.floor = factor, floor
        self.best = dict((progress or {}).get('best_terms', {}))
        self.warnings = list((progress or {}).get('warnings', []))
        self.announced = list((progress or {}).get('announced', []))  # terms already logged

    def update(self, step: int, split: str, terms: dict) -> list:
        """The new warnings (each goes to ``metrics.jsonl``) for the terms of ``split``."""
        new = []
        for name, value in terms.items():
            key = f'{split}/{name}'
            best = self.best.get(key, math.inf)
            reference = max(best, self.floor)  # a best of exactly 0 (a collapsed term) too
            if value > self.factor * reference:
                ratio = f'{value / reference:.3g}x' if reference > 0 else 'infinitely far above'
                new.append(f'step {step}: {key} = {value:.4g} is {ratio} its best '
                           f'({best:.4g}); the run may be diverging (best-by-validation '
                           'selection keeps the earlier good model)')
            self.best[key] = min(best, value)
        self.warnings.extend(new)
        return new

    def announce(self, warnings: list) -> list:
        """The warnings worth a log line: the first of each term (later ones of that term go
        to ``metrics.jsonl`` only)."""
        lines = []
        for warning in warnings:
            key = warning.split(': ', 1)[1].split(' = ', 1)[0]
            if key not in self.announced:
                self.announced.append(key)
                lines.append(warning + f' [later warnings of {key}: metrics.jsonl only]')
        return lines

    def state(self) -> dict:
        return {'best_terms': self.best, 'warnings': self.warnings,
                'announced': self.announced}


def check_finite(step0: int, rows: list) -> None:
    """Raises :class:`NonFiniteError` at the first non-finite loss term or gradient norm of
    the training rows of steps ``step0 + 1, step0 + 2, ...``."""
    for offset, row in enumerate(rows):
        for name in LOSS_TERMS + ('grad_norm',):
            _require_finite(f'step {step0 + offset + 1}: {name}', row[name])


def check_finite_validation(step: int, terms: dict) -> None:
    """Raises :class:`NonFiniteError` at the first non-finite validation term."""
    for name, value in terms.items():
        _require_finite(f'step {step}: validation {name}', value)


def _require_finite(what: str, value: float) -> None:
    if not np.isfinite(value):
        raise errors.NonFiniteError(
            f'{what} is {value}; training stopped and no checkpoint was written from this '
            'state. Lower config.optimizer.learning_rate, or check the data for extreme '
            'values.')
