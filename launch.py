"""Launches a gla run: ``python launch.py --config configs/<x>.py --workdir DIR``.

Override any config field on the command line, e.g. ``--config.num_epochs=10``; a misspelt
field is an error (the config is locked).

Several processes (one per host of a TPU pod slice or multi-node GPU job, or several local
CPU processes) join JAX's distributed runtime first, see ``gla/distributed.py`` and the
README's "Multi-host" section:

    python launch.py ... --coordinator_address=HOST0:PORT --num_processes=N --process_id=I
    python launch.py ... --multihost=on      # Cloud TPU pod slice: JAX finds the rest
    srun python launch.py ...                # SLURM with several tasks: detected
"""

import importlib.util
import logging as pylogging
import os
import sys

import jax
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from gla import config_fields
from gla import distributed
from gla import errors
from gla import run_summary
from gla import stopping
from gla import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Path to a config file (configs/*.py).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics, eval.json and '
                    'figures; an existing run there is resumed.')
flags.mark_flags_as_required(['config', 'workdir'])
flags.DEFINE_enum('multihost', 'auto', distributed.MODES,
                  'auto: join jax.distributed when the three flags below are given or SLURM / '
                  'Open MPI announce several processes; on: always (Cloud TPU pod slices: JAX '
                  'detects the coordinator); off: never.')
flags.DEFINE_string('coordinator_address', None, 'HOST:PORT of process 0 for a multi-process '
                    'run, the same on every process (e.g. 127.0.0.1:12345 on one machine).')
flags.DEFINE_integer('num_processes', None, 'Number of processes of a multi-process run.')
flags.DEFINE_integer('process_id', None, 'This process: 0 .. num_processes - 1.')
flags.DEFINE_integer('multihost_timeout_s', 300, 'How long a process waits for the others '
                     'to join before it gives up.')


class _QuietLibraries(pylogging.Filter):
    """Drops orbax's per-save INFO chatter; its warnings and errors still show."""

    def filter(self, record: pylogging.LogRecord) -> bool:
        return record.levelno >= pylogging.WARNING or '/orbax/' not in record.pathname


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'unexpected arguments: {argv[1:]}')
    for handler in pylogging.getLogger().handlers + logging.get_absl_logger().handlers:
        handler.addFilter(_QuietLibraries())
    distributed.initialize(FLAGS.multihost, FLAGS.coordinator_address, FLAGS.num_processes,
                           FLAGS.process_id, FLAGS.multihost_timeout_s)
    logging.info('JAX %s, process %d/%d, %d local / %d global devices: %s', jax.__version__,
                 jax.process_index(), jax.process_count(), jax.local_device_count(),
                 jax.device_count(), jax.devices())
    if not distributed.is_main_process():
        # One copy of the progress log: the other processes report warnings and errors only.
        logging.set_verbosity(logging.WARNING)
    try:
        results = train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except stopping.StopRequested as e:
        logging.warning('%s', e)
        sys.exit(e.exit_code)
    except errors.UserError as e:  # the message says what is wrong and what to change
        logging.error('%s: %s', type(e).__name__, e)
        sys.exit(1)
    if not distributed.is_main_process():
        return
    if isinstance(results, list):  # config.num_seeds > 1: one run per seed
        seeds = [FLAGS.config.seed + k for k in range(len(results))]
        lines = run_summary.seeds_summary_lines(
            results, [os.path.join(FLAGS.workdir, f'seed{s}') for s in seeds])
    else:
        lines = run_summary.summary_lines(results, FLAGS.workdir)
    print('\n'.join(lines), flush=True)


def _config_from_file(spec: str):
    """The config of ``--config PATH[:ARG]`` loaded on its own (to name a bad override)."""
    path, _, arg = spec.partition(':')
    module_spec = importlib.util.spec_from_file_location('launched_config', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(arg) if arg else module.get_config()


def parse_flags(argv: list) -> list:
    """absl's flag parsing, with a one-line error (the field and the nearest valid ones)
    for a misspelt ``--config.FIELD`` override instead of ml_collections' traceback."""
    try:
        return FLAGS(argv)
    except (AttributeError, KeyError):
        overrides = [a[len('--config.'):].split('=')[0] for a in argv
                     if a.startswith('--config.')]
        spec = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == '--config'),
                    next((a.split('=', 1)[1] for a in argv if a.startswith('--config=')), None))
        if spec is None or not overrides:
            raise
        problems = config_fields.unknown_field_problems(_config_from_file(spec), overrides)
        if not problems:
            raise
        print(f'ConfigError: {"; ".join(problems)} (in {spec})', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    app.run(main, flags_parser=parse_flags)
