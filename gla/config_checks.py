"""Every check of config values, in one place, before any data is read or anything compiled.

``validate_config(config)`` raises :class:`gla.errors.ConfigError` listing each value that
cannot train as ``'config.field=value ...; fix'``. Data files are checked by the data source,
grids by the group, both still before the workdir is touched. Settings (``gla/settings/``)
add the checks of their own fields through their ``config_problems``.
"""

from __future__ import annotations

import math

import ml_collections

from gla import divergence
from gla import errors
from gla import groups
from gla import latent_actions
from gla import latent_code
from gla import mask as mask_lib
from gla import networks
from gla import parallel
from gla import settings
from gla import state as state_lib
from gla import tensor_moments
from gla import yaw_renderer
from gla.data import sources
from gla.latent_actions import tensor_rotation


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Raises :class:`ConfigError` naming every value of ``config`` that cannot train, and
    ``ValueError`` when the batch does not divide over the devices."""
    problems = config_problems(config)
    if problems:
        raise errors.ConfigError('invalid config: ' + '; '.join(problems))
    parallel.check_divisible(config.batch_size)


def config_problems(config: ml_collections.ConfigDict) -> list:
    """Every value of ``config`` that cannot train, as ``'field=value ...; fix'`` strings.
    Pure: reads nothing from disk and compiles nothing."""
    return (_training_problems(config) + _data_problems(config.data)
            + _group_problems(config) + _model_problems(config) + _loss_problems(config)
            + settings.for_config(config).config_problems(config))


def _choice(problems: list, field: str, value, choices) -> None:
    if value not in choices:
        problems.append(f'{field}={value!r} is unknown; use one of {sorted(choices)}')


def _positive(problems: list, field: str, value, integer: bool = False) -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f'{field}={value!r} must be a positive integer')
    elif not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        problems.append(f'{field}={value!r} must be a finite number > 0')


def _non_negative_int(problems: list, field: str, value, meaning: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f'config.{field}={value!r} must be an integer >= 0 ({meaning})')


def _training_problems(config) -> list:
    problems = []
    if not config.optimizer.learning_rate > 0:
        problems.append(f'optimizer.learning_rate={config.optimizer.learning_rate} must be > 0')
    for field in ('batch_size', 'num_epochs', 'log_every_steps', 'steps_per_dispatch',
                  'num_seeds'):
        if not config[field] > 0:
            problems.append(f'{field}={config[field]} must be > 0')
    _positive(problems, 'config.eval.batch_size', config.eval.batch_size, integer=True)
    problems += _micro_batch_problems(config)
    _choice(problems, 'config.optimizer.schedule', config.optimizer.schedule,
            state_lib.LR_SCHEDULES)
    _choice(problems, 'config.divergence_action', config.divergence_action, divergence.ACTIONS)
    if not (isinstance(config.divergence_factor, (int, float)) and config.divergence_factor > 1):
        problems.append(f'config.divergence_factor={config.divergence_factor!r} must be > 1')
    if not (isinstance(config.divergence_floor, (int, float)) and config.divergence_floor >= 0):
        problems.append(f'config.divergence_floor={config.divergence_floor!r} must be >= 0')
    return problems


def _micro_batch_problems(config) -> list:
    """``micro_batch_size`` below ``batch_size`` must divide it, and cannot split a batch
    whose loss has batch statistics (VICReg's variance and covariance of ``z_i``)."""
    size, batch = config.get('micro_batch_size', 0), config.batch_size
    problems = []
    _non_negative_int(problems, 'micro_batch_size', size, '0 takes the whole batch at once')
    if problems or not 0 < size < batch:
        return problems
    if batch % size:
        problems.append(f'config.micro_batch_size={size} does not divide batch_size={batch}; '
                        f'choose a divisor of {batch}, or 0 for the whole batch at once')
    if config.loss.lambda_var or config.loss.lambda_cov:
        problems.append(f'config.micro_batch_size={size} would split the batch that '
                        'loss.lambda_var / loss.lambda_cov take their statistics over; set '
                        '--config.micro_batch_size=0 with them')
    return problems


def _data_problems(data) -> list:
    problems = []
    _choice(problems, 'config.data.source', data.source, sources.available_sources())
    if data.source == 'bundled':
        _choice(problems, 'config.data.name', data.name, sources.BUNDLED)
    if data.source == 'npz' and not data.path:
        problems.append("config.data.source='npz' needs config.data.path=FILE.npz")
    if data.spatial_ndim not in (2, 3):
        problems.append(f'config.data.spatial_ndim={data.spatial_ndim!r} must be 2 (images) '
                        'or 3 (volumes)')
    for name in ('max_train_examples', 'max_val_examples', 'max_test_examples'):
        _non_negative_int(problems, f'data.{name}', data[name], '0 keeps all')
    return problems


def _group_problems(config) -> list:
    problems = []
    name, ndim = config.group.name, config.data.spatial_ndim
    _choice(problems, 'config.group.name', name, groups.available_groups())
    _choice(problems, 'config.group.latent_action', config.group.latent_action,
            latent_actions.available_latent_actions())
    if name in groups.available_groups() and ndim in (2, 3):
        group_ndim = groups.get_group(name).spatial_ndim
        if group_ndim != ndim:
            problems.append(
                f'config.group.name={name!r} acts on {group_ndim}D grids but '
                f'config.data.spatial_ndim={ndim}; pick a group for {ndim}D data or '
                f'{group_ndim}D data')
        if (config.group.latent_action in latent_actions.NEEDS_MATRIX
                and groups.get_group(name).matrix is None):
            problems.append(f'config.group.latent_action={config.group.latent_action!r} turns '
                            'tensors by a 3D rotation matrix, but config.group.name='
                            f"{name!r} has none: use group 'so3' or 'cube'")
    tilt = config.group.get('volume_tilt', 0.0)
    if (isinstance(tilt, bool) or not isinstance(tilt, (int, float))
            or not abs(tilt) < math.pi / 2):
        problems.append(f'config.group.volume_tilt={tilt!r} must be a number of radians '
                        'strictly between -pi/2 and pi/2 (the camera above the horizon)')
    elif tilt and config.group.latent_action != 'volumetric':
        problems.append(f'config.group.volume_tilt={tilt!r} tilts the volumetric action, but '
                        f'config.group.latent_action={config.group.latent_action!r}: set it '
                        "to 'volumetric' or the tilt to 0")
    problems.extend(_cell_copy_problems(config))
    so2_options = config.group.get('so2') or {}
    if (so2_options.get('interpolation') == 'fourier'
            and config.group.latent_action not in latent_actions.CHANNEL_ACTIONS):
        problems.append("config.group.so2.interpolation='fourier' rotates images only (it "
                        'clips to [-1, 1]), but config.group.latent_action='
                        f"{config.group.latent_action!r} rotates the latent grid with it: use "
                        f"'bilinear', or one of {list(latent_actions.CHANNEL_ACTIONS)}")
    return problems


def _cell_copy_problems(config) -> list:
    """``group.subcells`` and ``'grid_regular'``: copies of each cell's channels that the
    action moves, on a grid latent whose width they divide."""
    subcells, action = config.group.get('subcells', 1), config.group.latent_action
    name, ndim = config.group.name, config.data.spatial_ndim
    if isinstance(subcells, bool) or not isinstance(subcells, int) or subcells < 1:
        return [f'config.group.subcells={subcells!r} must be a positive integer (1 = the '
                "paper's grid action)"]
    if subcells > 1 and action not in latent_actions.SUBCELL_ACTIONS:
        return [f'config.group.subcells={subcells} refines the grid actions '
                f'{list(latent_actions.SUBCELL_ACTIONS)}, not {action!r}: set it to 1']
    regular = action == 'grid_regular'
    if regular and name not in latent_actions.FINITE_MATRICES:
        return [f"config.group.latent_action='grid_regular' needs one of the groups "
                f'{sorted(latent_actions.FINITE_MATRICES)}, not {name!r}']
    if ndim not in (2, 3) or (subcells == 1 and not regular):
        return []
    what = (f'config.group.latent_action={action!r}' if regular
            else f'config.group.subcells={subcells}')
    copies = latent_actions.channel_copies(action, name, subcells, ndim)
    width, problems = tuple(config.model.encoder_features)[-1], []
    if width % copies:
        problems.append(f'{what} moves {copies} copies of each latent channel, so the latent '
                        f'width {width} (model.encoder_features[-1]) must be a multiple of it')
    elif config.mask.kind == 'manual' and config.mask.num_variant > width // copies:
        problems.append(f'config.mask.num_variant={config.mask.num_variant} counts the variant '
                        f'channels of each of the {copies} copies that {what} moves, so it '
                        f'must be at most {width // copies} (0 = half)')
    if config.model.latent not in ('grid', 'grid_unit_rms'):
        problems.append(f'{what} needs a grid latent, not {config.model.latent!r}')
    if regular and config.model.get('invariant_code_cell_pool'):
        problems.append(f'{what} permutes each cell\'s channels, which a cell-pooled code '
                        'reads in order: use config.model.invariant_code_orbit_pool=True')
    return problems


def _code_problems(config) -> list:
    """The global latent code (``config.model.latent='code'``) and how it is read."""
    problems, model = [], config.model
    if model.latent == 'code' and config.group.latent_action not in (
            latent_actions.CHANNEL_ACTIONS):
        problems.append(f"config.model.latent='code' is a vector without a grid, but "
                        f'config.group.latent_action={config.group.latent_action!r} moves grid '
                        f'cells: use one of {list(latent_actions.CHANNEL_ACTIONS)}')
    if (config.group.latent_action == 'tensors' and model.latent == 'code'
            and config.mask.kind == 'manual' and isinstance(model.code_dim, int)):
        variant = config.mask.num_variant or model.code_dim // 2
        size = tensor_rotation.block_size(config.group.max_frequency)
        if variant % size:
            problems.append(f'the tensor action turns blocks of {size} entries (ranks 1..'
                            f'{config.group.max_frequency}), but z_v has {variant} entries '
                            '(config.mask.num_variant, 0 = half of config.model.code_dim): a '
                            'block across the split would mix z_v into z_i; use a multiple of '
                            f'{size}')
    _choice(problems, 'config.model.code_encoder', model.code_encoder,
            latent_code.CODE_ENCODERS)
    if model.code_encoder in tensor_moments.ENCODERS and not (
            model.latent == 'code' and config.group.latent_action == 'tensors'
            and config.mask.kind == 'manual' and config.data.spatial_ndim == 3
            and config.group.max_frequency <= tensor_moments.MAX_RANK):
        problems.append(f'config.model.code_encoder={model.code_encoder!r} makes z_v the '
                        "tensor moments of a 3D grid, which needs config.model.latent='code', "
                        "config.group.latent_action='tensors', config.mask.kind='manual', "
                        f'3D data and config.group.max_frequency <= {tensor_moments.MAX_RANK}; '
                        f'got latent={model.latent!r}, latent_action='
                        f'{config.group.latent_action!r}, mask.kind={config.mask.kind!r}, '
                        f'spatial_ndim={config.data.spatial_ndim}, max_frequency='
                        f"{config.group.max_frequency}: or use code_encoder='dense'")
    return problems + _code_decoder_problems(config)


def _code_decoder_problems(config) -> list:
    """How the code is drawn (``config.model.code_decoder``)."""
    problems, model = [], config.model
    _choice(problems, 'config.model.code_decoder', model.code_decoder,
            latent_code.CODE_DECODERS)
    if model.code_decoder == 'frame' and model.code_encoder not in tensor_moments.ENCODERS:
        problems.append("config.model.code_decoder='frame' reads a frame off the vectors of "
                        'z_v, which needs a tensor-moment code: config.model.code_encoder in '
                        f'{sorted(tensor_moments.ENCODERS)}, got {model.code_encoder!r}; or '
                        "use code_decoder='dense'")
    if model.code_decoder == 'yaw_volume' and not (
            model.latent == 'code' and config.group.name.startswith('yaw')
            and config.group.latent_action == 'fourier' and config.mask.kind == 'manual'
            and len(model.encoder_features) >= 2):
        problems.append("config.model.code_decoder='yaw_volume' turns a feature volume by the "
                        'angle of the first pair of z_v, which needs a yaw group, '
                        "config.model.latent='code', config.group.latent_action='fourier', "
                        "config.mask.kind='manual' and at least two encoder layers; got "
                        f'group {config.group.name!r}, latent {model.latent!r}, latent_action '
                        f'{config.group.latent_action!r}, mask.kind {config.mask.kind!r}, '
                        f'encoder_features {tuple(model.encoder_features)}: or use '
                        "code_decoder='dense'")
    _choice(problems, 'config.model.yaw_pose', model.yaw_pose, yaw_renderer.POSE_SOURCES)
    if config.loss.lambda_pose and not (
            model.code_decoder == 'yaw_volume' and config.data.source == 'planes'
            and config.data.planes.get('canonical_views', False)):
        problems.append(f'config.loss.lambda_pose={config.loss.lambda_pose} supervises the pose '
                        "that config.model.code_decoder='yaw_volume' reads off z_v with the "
                        'heading of each training view, which needs the planes data with '
                        'config.data.planes.canonical_views=True (view k faces 360k/V); got '
                        f'code_decoder {model.code_decoder!r}, source {config.data.source!r}: '
                        'set those, or loss.lambda_pose=0')
    return problems


def _model_problems(config) -> list:
    problems, model = [], config.model
    _choice(problems, 'config.mask.kind', config.mask.kind, mask_lib.MASK_KINDS)
    _choice(problems, 'config.model.conv_transpose', model.conv_transpose,
            networks.CONV_TRANSPOSE_KINDS)
    _choice(problems, 'config.model.strided_conv', model.strided_conv,
            networks.STRIDED_CONV_KINDS)
    _choice(problems, 'config.model.init', model.init, networks.INITS)
    _choice(problems, 'config.model.latent', model.latent, latent_code.LATENT_KINDS)
    _positive(problems, 'config.model.code_dim', model.code_dim, integer=True)
    problems += _code_problems(config)
    if model.latent == 'code' and model.invariant_code_dim:
        problems.append("config.model.latent='code' already makes z_i a global code: set "
                        'config.model.invariant_code_dim=0')
    if model.latent == 'grid_unit_rms' and model.invariant_code_dim:
        problems.append("config.model.latent='grid_unit_rms' rescales the paper's z_i, which "
                        'config.model.invariant_code_dim > 0 replaces by a code: choose one')
    features = tuple(model.encoder_features)
    if not features or not all(isinstance(f, int) and f > 0 for f in features):
        problems.append(f'config.model.encoder_features={features!r} must be one or more '
                        'positive integers (conv widths)')
    elif config.mask.kind == 'manual' and not 0 <= config.mask.num_variant <= (
            model.code_dim if model.latent == 'code' else features[-1]):
        problems.append(f'config.mask.num_variant={config.mask.num_variant} must be at most '
                        'the latent width (the last encoder feature, or config.model.code_dim '
                        "with latent='code'; 0 = half)")
    for name in ('encoder_context_dilations', 'decoder_context_dilations',
                 'latent_volume_dilations'):
        dilations = tuple(model.get(name, ()))
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                   for d in dilations):
            problems.append(f'config.model.{name}={dilations!r} must be positive integers '
                            '(one dilation per block; () = none)')
    if tuple(model.latent_volume_dilations) and (config.data.spatial_ndim != 2
                                                 or model.latent == 'code'):
        problems.append('config.model.latent_volume_dilations reads a 2D grid latent as a '
                        "volume; with 3D data or latent='code' set it to ()")
    _positive(problems, 'config.model.kernel_size', model.kernel_size, integer=True)
    _positive(problems, 'config.model.stride', model.stride, integer=True)
    if not (isinstance(config.mask.tau, (int, float)) and 0.0 < config.mask.tau < 1.0):
        problems.append(f'config.mask.tau={config.mask.tau!r} must lie in (0, 1) (the mask '
                        'threshold on sigmoid(alpha); the paper uses 0.5)')
    _choice(problems, 'config.model.invariant_code_fills', model.invariant_code_fills,
            ('invariant', 'all'))
    for name in ('invariant_code_dim', 'invariant_code_hidden'):
        _non_negative_int(problems, f'model.{name}', model[name], '0 = off')
    _positive(problems, 'config.model.invariant_code_block', model.invariant_code_block,
              integer=True)
    for pool in ('orbit_pool', 'cell_pool'):
        if model[f'invariant_code_{pool}'] and not model.invariant_code_hidden:
            problems.append(f'config.model.invariant_code_{pool} needs '
                            'config.model.invariant_code_hidden > 0 (the pooled hidden layer)')
    if model.invariant_code_orbit_pool and model.invariant_code_cell_pool:
        problems.append('config.model.invariant_code_orbit_pool and '
                        'config.model.invariant_code_cell_pool are two ways to pool the code: '
                        'set one of them to False')
    return problems


def _loss_problems(config) -> list:
    problems = []
    for section, name in (('loss', 'lambda_inv'), ('loss', 'lambda_const'),
                          ('mask', 'init_std'), ('loss', 'lambda_var'), ('loss', 'lambda_cov'),
                          ('loss', 'lambda_ssim'), ('loss', 'lambda_pose')):
        value = config[section][name]
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            problems.append(f'config.{section}.{name}={value!r} must be a finite number >= 0')
    _non_negative_int(problems, 'loss.inv_target_shift', config.loss.inv_target_shift,
                      '0 = off')
    return problems
