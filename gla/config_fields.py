"""Which fields a config has: every field as a dotted name, and the command-line overrides
that name none (with the nearest valid fields), so that a misspelt ``--config.FIELD`` stops
before anything runs (``launch.py``)."""

from __future__ import annotations

import difflib

import ml_collections


def flat_fields(config: ml_collections.ConfigDict, prefix: str = '') -> list:
    """Every field of ``config`` as a dotted name (``'model.encoder_features'``)."""
    fields = []
    for name, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            fields += flat_fields(value, f'{prefix}{name}.')
        else:
            fields.append(prefix + name)
    return fields


def unknown_field_problems(config: ml_collections.ConfigDict, fields: list) -> list:
    """For each dotted name in ``fields`` (command-line overrides) that ``config`` lacks, a
    message naming it and the nearest valid fields."""
    known = flat_fields(config)
    sections = {f.rsplit('.', 1)[0] for f in known if '.' in f}
    problems = []
    for field in fields:
        if field in known or field in sections:
            continue
        near = difflib.get_close_matches(field, known, n=3, cutoff=0.5)
        problems.append(f'--config.{field}: no such config field'
                        + (f'; did you mean {", ".join(near)}?' if near else
                           '; the fields are listed in the README ("Config fields")'))
    return problems
