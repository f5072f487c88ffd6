"""What a run writes while it trains: ``metrics.jsonl`` (and TensorBoard event files), and
the small formatting helpers of the progress log."""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from gla import summaries


class MetricsLog:
    """``workdir/metrics.jsonl``: one JSON object per row, written by process 0 only; the
    same rows go to TensorBoard event files where tensorboardX is installed (gla.summaries).

    On resume the rows past the restored step are dropped, so the file reads as if the run
    had never stopped.
    """

    def __init__(self, workdir: str, resume_step: int):
        self.path = os.path.join(workdir, 'metrics.jsonl')
        self.enabled = jax.process_index() == 0
        if self.enabled and os.path.exists(self.path):
            with open(self.path) as f:
                rows = [line for line in f if line.strip()
                        and json.loads(line).get('step', 0) <= resume_step]
            with open(self.path, 'w') as f:
                f.writelines(rows)
        self.tensorboard = summaries.ScalarWriter(workdir, resume_step, enabled=self.enabled)

    def write(self, row: dict) -> None:
        if self.enabled:
            with open(self.path, 'a') as f:
                f.write(json.dumps(row) + '\n')
            self.tensorboard.write(row)

    def close(self) -> None:
        self.tensorboard.close()


def format_duration(seconds: float) -> str:
    """``1m05s`` or ``1h02m03s``."""
    seconds = int(max(seconds, 0))
    return f'{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s' if seconds >= 3600 \
        else f'{seconds // 60}m{seconds % 60:02d}s'


def unstack_rows(host_metrics: list) -> list:
    """Host metrics of single steps (scalars) and fused steps (``(K,)`` arrays) -> one
    dict of floats per step, in order."""
    rows = []
    for metrics in host_metrics:
        if np.ndim(metrics['loss']) == 0:
            rows.append({k: float(v) for k, v in metrics.items()})
        else:
            rows.extend({k: float(v[j]) for k, v in metrics.items()}
                        for j in range(len(metrics['loss'])))
    return rows
