"""TensorBoard event files of a run, written beside ``metrics.jsonl`` where a writer exists.

Optional: uses ``tensorboardX`` (a small pure-Python package, ``pip install tensorboardX``
or ``pip install -e '.[tensorboard]'``) when it is importable, and does nothing otherwise;
``metrics.jsonl`` is always written. View with ``tensorboard --logdir WORKDIR/tensorboard``.

Each numeric field of a metrics row becomes the scalar ``<split>/<field>`` at its step. On
resume the writer purges events past the restored step, so TensorBoard shows the run as if
it had never stopped (as ``metrics.jsonl`` does).
"""

from __future__ import annotations

import numbers
import os
from typing import Optional

SUBDIR = 'tensorboard'


def _writer_class():
    try:
        import tensorboardX
    except ImportError:
        return None
    return tensorboardX.SummaryWriter


def available() -> bool:
    return _writer_class() is not None


class ScalarWriter:
    """``write(row)`` for rows of ``metrics.jsonl`` (``step``, ``split`` and numbers)."""

    def __init__(self, workdir: str, resume_step: int, enabled: bool = True):
        cls = _writer_class() if enabled else None
        self._writer: Optional[object] = None
        if cls is not None:
            # purge_step: TensorBoard drops events at or after it written by a killed run.
            self._writer = cls(os.path.join(workdir, SUBDIR), purge_step=resume_step + 1,
                               flush_secs=30)

    @property
    def active(self) -> bool:
        return self._writer is not None

    def write(self, row: dict) -> None:
        if self._writer is None:
            return
        split, step = row.get('split', 'train'), int(row['step'])
        for name, value in row.items():
            if name in ('step', 'split') or isinstance(value, bool) or \
                    not isinstance(value, numbers.Real):
                continue
            self._writer.add_scalar(f'{split}/{name}', float(value), step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
