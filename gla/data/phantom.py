"""A procedural 3D head phantom (Shepp–Logan style), the stand-in for brain MRI volumes.

No brain MRI set can be downloaded here, so volumes are drawn from nested, softly edged
ellipsoids in normalised coordinates ``[-1, 1]^3`` over the ``(d, h, w)`` grid:

  * scalp / skull: a bright ellipsoid (intensity 0.8..1.0);
  * brain: an ellipsoid 0.86..0.9 of the skull's size painted over it (0.35..0.5), so the
    skull shows as a shell; white matter inside it a little brighter;
  * ventricles: two dark, tilted, elongated ellipsoids either side of the midline and a
    small third one behind them;
  * lesions: 0..3 bright small ellipsoids (0.85..1.0) at random places inside the brain.

Size, position (a few voxels), orientation (up to 15° about a random axis) and every
intensity vary per volume. The label of a volume is **its number of lesions**, 0..3
(uniform): a rotation-invariant property that a probe on ``z_i`` should read.

Deterministic: volume ``i`` of split ``s`` depends only on ``(seed, s, i)``, not on how many
volumes are drawn. Intensities are in ``[0, 1]``; the data source scales them to ``[-1, 1]``.

Structure label maps (:func:`phantom_label_maps`, ``with_labels=True``): each voxel gets the
structure that contributes most to its final value (:data:`STRUCTURES`). They come from the
same draws as the volumes and do not change them: a seed gives bit-identical volumes with or
without labels.
"""

from __future__ import annotations

import numpy as np

MAX_LESIONS = 3
SPLIT_STREAMS = {'train': 0, 'val': 1, 'test': 2}
# Values of a label map; a voxel's label is the structure whose paint is most visible there.
STRUCTURES = ('background', 'skull', 'brain', 'white_matter', 'ventricles', 'lesions')


def _rotation(rng: np.random.Generator, max_degrees: float) -> np.ndarray:
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(-max_degrees, max_degrees))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _paint(volume: np.ndarray, points: np.ndarray, centre, semi_axes, rotation,
           value: float, size: int) -> np.ndarray:
    """Paints an ellipsoid (soft edge about one voxel wide) over ``volume`` in place;
    returns its weight ``(size**3,)`` in ``[0, 1]`` (1 inside, 0 outside)."""
    # Coordinates in the ellipsoid's frame, scaled so the surface is the unit sphere.
    frame = (rotation / np.asarray(semi_axes)[None, :]).astype(np.float32)
    local = points @ frame - (np.asarray(centre) @ frame).astype(np.float32)
    radius = np.sqrt(np.einsum('ij,ij->i', local, local))
    # (1 - radius) * semi-axis is ~ the distance to the surface; one voxel is 2 / size.
    weight = np.clip((1.0 - radius) * np.mean(semi_axes) * size / 2.0 + 0.5, 0.0, 1.0)
    volume += weight.reshape(volume.shape) * (value - volume)
    return weight


def _label_map(layers: list, size: int) -> np.ndarray:
    """The label map ``(size, size, size)`` uint8 of painted ``layers`` ``[(structure,
    weight)]`` in paint order. Painting ``w`` over ``v`` gives ``(1 - w) v + w value``, so a
    layer's share of the final value is its weight times ``1 - w`` of every later layer;
    each voxel takes the structure with the largest share (background: what no layer
    covers)."""
    share = np.zeros((len(STRUCTURES), size ** 3), np.float32)
    uncovered = np.ones(size ** 3, np.float32)
    for name, weight in reversed(layers):
        share[STRUCTURES.index(name)] += weight * uncovered
        uncovered *= 1.0 - weight
    share[0] = uncovered
    return np.argmax(share, axis=0).astype(np.uint8).reshape((size,) * 3)


def head_phantom(rng: np.random.Generator, size: int = 32, with_labels: bool = False) -> tuple:
    """One phantom: ``(volume (size, size, size) float32 in [0, 1], number of lesions)``,
    and with ``with_labels`` its label map ``(size, size, size)`` uint8 (indices into
    :data:`STRUCTURES`) third; the volume is the same either way."""
    axes = [(np.arange(size) + 0.5) / size * 2.0 - 1.0] * 3
    points = np.stack(np.meshgrid(*axes, indexing='ij'), -1).reshape(-1, 3)
    pose = _rotation(rng, 15.0)
    shift = rng.uniform(-0.06, 0.06, 3)
    scale = rng.uniform(0.82, 1.0)
    # Work in the head's frame: p_head = pose^T (p - shift) / scale.
    points = ((points - shift) @ pose / scale).astype(np.float32)
    eye = np.eye(3)
    volume = np.zeros((size, size, size), np.float32)

    head = np.array([0.72, 0.9, 0.8]) * rng.uniform(0.95, 1.05, 3)
    layers = [('skull', _paint(volume, points, (0, 0, 0), head * scale, eye,
                               rng.uniform(0.8, 1.0), size))]
    brain = head * rng.uniform(0.86, 0.9)
    brain_value = rng.uniform(0.35, 0.5)
    layers.append(('brain', _paint(volume, points, (0, 0, 0), brain * scale, eye,
                                   brain_value, size)))
    layers.append(('white_matter', _paint(volume, points, (0.05, 0.0, 0.0), brain * 0.72 * scale,
                                          eye, brain_value + rng.uniform(0.05, 0.12), size)))

    dark = rng.uniform(0.05, 0.15)
    for side in (-1, 1):
        tilt = _rotation(np.random.default_rng(rng.integers(1 << 31)), 8.0)
        centre = np.array([0.05, 0.08, side * rng.uniform(0.1, 0.14)])
        layers.append(('ventricles', _paint(
            volume, points, centre, np.array([0.16, 0.3, 0.07]) * rng.uniform(0.85, 1.15)
            * scale, tilt, dark, size)))
    layers.append(('ventricles', _paint(volume, points, (-0.15, -0.3, 0.0),
                                        np.array([0.07, 0.08, 0.05]) * scale, eye, dark, size)))

    num_lesions = int(rng.integers(0, MAX_LESIONS + 1))
    for _ in range(num_lesions):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        centre = direction * rng.uniform(0.25, 0.7) * brain
        radius = rng.uniform(0.09, 0.15, 3)
        layers.append(('lesions', _paint(volume, points, centre, radius * scale,
                                         _rotation(rng, 90.0), rng.uniform(0.85, 1.0), size)))
    volume = np.clip(volume, 0.0, 1.0)
    if with_labels:
        return volume, num_lesions, _label_map(layers, size)
    return volume, num_lesions


def _check_request(split: str, count: int, size: int) -> None:
    if split not in SPLIT_STREAMS:
        raise ValueError(f'unknown split {split!r}; one of {sorted(SPLIT_STREAMS)}')
    if count <= 0 or size < 4:
        raise ValueError(f'phantom count={count} must be > 0 and size={size} >= 4')


def phantom_split(split: str, count: int, size: int = 32, seed: int = 0) -> tuple:
    """``count`` phantoms of ``split`` (``'train' | 'val' | 'test'``): ``(volumes (count,
    size, size, size) float32 in [0, 1], labels (count,) int32 = number of lesions)``."""
    _check_request(split, count, size)
    volumes = np.empty((count, size, size, size), np.float32)
    labels = np.empty((count,), np.int32)
    for i in range(count):
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], i])
        volumes[i], labels[i] = head_phantom(rng, size)
    return volumes, labels


def phantom_label_maps(split: str, count: int, size: int = 32, seed: int = 0) -> tuple:
    """The phantoms of :func:`phantom_split` with their structure label maps: ``(volumes
    (count, size, size, size) float32, label maps (count, size, size, size) uint8, indices
    into STRUCTURES)``; the volumes equal :func:`phantom_split`'s bit for bit."""
    _check_request(split, count, size)
    volumes = np.empty((count, size, size, size), np.float32)
    maps = np.empty((count, size, size, size), np.uint8)
    for i in range(count):
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], i])
        volumes[i], _, maps[i] = head_phantom(rng, size, with_labels=True)
    return volumes, maps
