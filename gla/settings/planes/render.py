"""Procedural airplanes in the sky: a numpy z-buffer renderer, seeded and cached as .npz.

Every object (one airplane over one sky) is rendered at ``num_views`` yaw angles
``2*pi*k/num_views``, ``k = 0..num_views-1``: the plane turns about its own vertical axis
(out of the image plane, counter-clockwise seen from above), the camera and the sky stay put.
``views[k + g]`` is therefore exactly ``T_g views[k]`` for the yaw group ``C_num_views``
(``gla/groups/yaw.py``).

Per object the seed draws: the fuselage length and radius, wing span, chord and position,
tail size (proportions), one of :data:`COLOURS` (the label: colour class), the overall size,
the pitch of the plane (nose up / down, about its wing axis, applied before the yaw), the
camera elevation (the plane is seen from slightly above), a small offset from the centre,
and the sky: a vertical gradient plus 2-5 soft cloud blobs, identical in every view.

Projection is orthographic (screen x right, screen y up), shading Lambert ``|n . l|`` (both
faces of the thin wings light up) plus an ambient term. Images are uint8 ``(H, W, 3)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

import numpy as np

# Colour classes of the planes (RGB in [0, 1]); the label of an object is its index here.
COLOURS = (
    ('red', (0.85, 0.12, 0.10)),
    ('yellow', (0.95, 0.80, 0.10)),
    ('green', (0.15, 0.65, 0.20)),
    ('white', (0.93, 0.93, 0.93)),
    ('dark grey', (0.25, 0.25, 0.28)),
    ('purple', (0.55, 0.20, 0.70)),
)
LIGHT = np.array([0.35, 0.80, 0.50]) / np.linalg.norm([0.35, 0.80, 0.50])  # from above, front
AMBIENT = 0.30
RING = 6  # sides of the fuselage's cross-section


def plane_mesh(shape: dict) -> tuple:
    """Triangles ``(T, 3, 3)`` of one airplane in its body frame (x: nose, y: up, z: right
    wing; unit ~ half the fuselage length) and the part of each triangle ``(T,)``
    (0 fuselage, 1 wings, 2 tail planes), from the proportions in ``shape``."""
    length, radius = shape['length'], shape['radius']
    xs = np.array([-length, -0.45 * length, 0.45 * length, length])  # tail .. nose stations
    radii = np.array([0.35, 1.0, 1.0, 0.0]) * radius
    angles = 2 * np.pi * np.arange(RING) / RING
    rings = np.stack([np.stack([np.full(RING, x), r * np.cos(angles), r * np.sin(angles)], -1)
                      for x, r in zip(xs, radii)])  # (4, RING, 3)
    tris, parts = [], []
    for s in range(3):
        for j in range(RING):
            a, b = rings[s, j], rings[s, (j + 1) % RING]
            c, d = rings[s + 1, j], rings[s + 1, (j + 1) % RING]
            tris += [(a, b, c), (b, d, c)]
            parts += [0, 0]
    tail_centre = np.array([xs[0], 0.0, 0.0])
    for j in range(RING):  # the flat end behind the tail
        tris.append((tail_centre, rings[0, j], rings[0, (j + 1) % RING]))
        parts.append(0)

    def quad(p0, p1, p2, p3, part):
        tris.extend([(p0, p1, p2), (p0, p2, p3)])
        parts.extend([part, part])

    # Wings: a trapezoid with a slight dihedral, its root at wing_x along the fuselage.
    span, chord, wx = shape['span'], shape['chord'], shape['wing_x'] * length
    tip_chord, dihedral = 0.45 * chord, 0.12 * span
    for side in (-1.0, 1.0):
        quad(np.array([wx + 0.5 * chord, -0.2 * radius, 0.0]),
             np.array([wx - 0.5 * chord, -0.2 * radius, 0.0]),
             np.array([wx - 0.35 * chord - 0.5 * tip_chord, dihedral, side * span]),
             np.array([wx - 0.35 * chord + 0.5 * tip_chord, dihedral, side * span]), 1)
    # Horizontal tail plane and vertical fin at the tail.
    tail = shape['tail']
    tx = xs[0] + 0.35 * tail
    quad(np.array([tx + 0.3 * tail, 0.1 * radius, 0.0]), np.array([xs[0], 0.1 * radius, 0.0]),
         np.array([xs[0] - 0.05 * tail, 0.1 * radius, 0.75 * tail]),
         np.array([tx, 0.1 * radius, 0.75 * tail]), 2)
    quad(np.array([tx, 0.1 * radius, 0.0]), np.array([tx + 0.3 * tail, 0.1 * radius, 0.0]),
         np.array([xs[0], 0.1 * radius, -0.75 * tail]),
         np.array([xs[0] - 0.05 * tail, 0.1 * radius, -0.75 * tail]), 2)
    tris.append((np.array([tx + 0.45 * tail, 0.5 * radius, 0.0]),
                 np.array([xs[0], 0.3 * radius, 0.0]),
                 np.array([xs[0] - 0.1 * tail, 1.1 * tail, 0.0])))
    parts.append(2)
    return np.asarray(tris, np.float64), np.asarray(parts, np.int32)


def _rotation(axis: str, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    if axis == 'y':  # yaw: +angle turns x (nose) towards -z, counter-clockwise seen from +y
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if axis == 'z':  # pitch: +angle lifts the nose (x towards +y)
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    if axis == 'x':  # camera elevation: tilts the scene towards the viewer (+y towards +z)
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    raise ValueError(axis)


def sample_object(rng: np.random.Generator) -> dict:
    """The random parameters of one object (plane and sky); see the module docstring."""
    return dict(
        length=rng.uniform(0.85, 1.15), radius=rng.uniform(0.09, 0.15),
        span=rng.uniform(0.65, 1.05), chord=rng.uniform(0.25, 0.40),
        wing_x=rng.uniform(-0.05, 0.20), tail=rng.uniform(0.25, 0.38),
        colour=int(rng.integers(len(COLOURS))), brightness=rng.uniform(0.85, 1.1),
        size=rng.uniform(0.70, 0.95), pitch=rng.uniform(-0.35, 0.35),
        elevation=rng.uniform(0.25, 0.60), yaw0=rng.uniform(0, 2 * np.pi),
        offset=rng.uniform(-0.08, 0.08, size=2),
        sky_top=rng.uniform([0.10, 0.25, 0.55], [0.30, 0.50, 0.85]),
        sky_bottom=rng.uniform([0.60, 0.75, 0.85], [0.85, 0.90, 1.00]),
        clouds=[dict(centre=rng.uniform(-1.0, 1.0, size=2), radius=rng.uniform(0.12, 0.35),
                     stretch=rng.uniform(1.5, 3.0), strength=rng.uniform(0.4, 0.9))
                for _ in range(int(rng.integers(2, 6)))],
    )


def render_sky(obj: dict, size: int) -> np.ndarray:
    """``(size, size, 3)`` float in [0, 1]: a vertical gradient and soft, wide cloud blobs."""
    t = (np.arange(size) + 0.5) / size  # 0 at the top row
    sky = (1 - t)[:, None, None] * obj['sky_top'] + t[:, None, None] * obj['sky_bottom']
    sky = np.broadcast_to(sky, (size, size, 3)).copy()
    yy, xx = np.meshgrid(1 - 2 * t, 2 * t - 1, indexing='ij')  # screen coords, y up
    for cloud in obj['clouds']:
        cx, cy = cloud['centre']
        d2 = ((xx - cx) / cloud['stretch']) ** 2 + (yy - cy) ** 2
        alpha = cloud['strength'] * np.exp(-d2 / (2 * cloud['radius'] ** 2))
        sky = sky * (1 - alpha[..., None]) + 0.97 * alpha[..., None]
    return sky


def _project(obj: dict, triangles: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Screen coordinates ``(V, T, 3, 3)`` (x right, y up, depth towards the viewer) of the
    body-frame ``triangles`` at each yaw angle of ``yaw`` ``(V,)``."""
    pitch, camera = _rotation('z', obj['pitch']), _rotation('x', obj['elevation'])
    out = []
    for angle in yaw:
        r = camera @ _rotation('y', angle + obj['yaw0']) @ pitch
        out.append(triangles @ r.T)
    screen = np.stack(out) * obj['size']
    screen[..., :2] += obj['offset']
    return screen


def _rasterise(screen: np.ndarray, size: int) -> np.ndarray:
    """Index of the nearest triangle at every pixel ``(B, size, size)`` (-1: sky) for
    triangles ``(B, T, 3, 3)`` in screen coordinates ([-1, 1]^2 is the image)."""
    b, t = screen.shape[:2]
    centres = 2 * (np.arange(size) + 0.5) / size - 1
    py = np.repeat(centres[::-1], size)[None].astype(np.float32)  # row 0 is the top: y = +1
    px = np.tile(centres, size)[None].astype(np.float32)
    depth = np.full((b, size * size), -np.inf, np.float32)
    index = np.full((b, size * size), -1, np.int32)
    screen = screen.astype(np.float32)
    for i in range(t):
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = [
            [screen[:, i, v, j][:, None] for j in range(3)] for v in range(3)]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        valid = np.abs(area) > 1e-9  # edge-on or degenerate (the nose tip): covers nothing
        area = np.where(valid, area, 1.0)
        l0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) / area
        l1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) / area
        l2 = 1 - l0 - l1
        z = l0 * az + l1 * bz + l2 * cz
        nearer = valid & (l0 >= 0) & (l1 >= 0) & (l2 >= 0) & (z > depth)
        depth = np.where(nearer, z, depth)
        index = np.where(nearer, i, index)
    return index.reshape(b, size, size)


def _shade(obj: dict, screen: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Lambert colour ``(V, T, 3)`` in [0, 1] of every triangle of ``screen`` ``(V, T, 3, 3)``."""
    normals = np.cross(screen[:, :, 1] - screen[:, :, 0], screen[:, :, 2] - screen[:, :, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    lambert = AMBIENT + (1 - AMBIENT) * np.abs(normals @ LIGHT)  # (V, T)
    base = np.asarray(COLOURS[obj['colour']][1]) * obj['brightness']
    part_tint = np.array([1.0, 0.80, 0.65])[parts]  # wings and tail a shade darker
    return np.clip(lambert[..., None] * part_tint[None, :, None] * base, 0, 1)


def render_objects(objects: list, num_views: int, size: int) -> tuple:
    """All ``num_views`` yaw views of each object: uint8 ``(N, num_views, size, size, 3)``,
    and the skies alone, uint8 ``(N, size, size, 3)``. The objects are rasterised together
    (every mesh has the same triangle count), which keeps numpy's arrays large."""
    yaw = 2 * np.pi * np.arange(num_views) / num_views
    screens, shades = [], []
    for obj in objects:
        triangles, parts = plane_mesh(obj)
        screen = _project(obj, triangles, yaw)  # (V, T, 3, 3)
        screens.append(screen)
        shades.append(_shade(obj, screen, parts))
    index = _rasterise(np.concatenate(screens), size).reshape(len(objects), num_views, -1, 1)
    shades = np.stack(shades)  # (N, V, T, 3)
    skies = np.stack([render_sky(obj, size) for obj in objects]).reshape(len(objects), 1, -1, 3)
    colour = np.take_along_axis(shades, np.maximum(index, 0), axis=2)
    views = np.where(index >= 0, colour, skies)
    as_uint8 = lambda a: np.round(a * 255).astype(np.uint8)  # noqa: E731
    return (as_uint8(views.reshape(len(objects), num_views, size, size, 3)),
            as_uint8(skies.reshape(len(objects), size, size, 3)))


def object_at(seed: int, index: int) -> dict:
    """The parameters of object ``index`` of the set drawn with ``seed``: it depends only on
    ``(seed, index)``, which is how a larger set extends a smaller one."""
    return sample_object(np.random.default_rng([seed, index]))


def render_planes(num_objects: int, num_views: int = 24, size: int = 64,
                  seed: int = 0, chunk: int = 8) -> dict:
    """``{'images': uint8 (N, num_views, size, size, 3), 'labels': int32 (N,) colour class,
    'sky': uint8 (N, size, size, 3), 'plane_mask': bool (N, num_views, size, size)}``.

    Object ``i`` depends only on ``(seed, i)``, so a larger set extends a smaller one;
    ``chunk`` objects are rasterised at a time (any value gives the same images).
    """
    if num_views < 1 or size < 8 or num_objects < 1:
        raise ValueError(f'render_planes needs num_objects >= 1, num_views >= 1, size >= 8; '
                         f'got {num_objects}, {num_views}, {size}')
    objects = [object_at(seed, i) for i in range(num_objects)]
    images = np.empty((num_objects, num_views, size, size, 3), np.uint8)
    skies = np.empty((num_objects, size, size, 3), np.uint8)
    for start in range(0, num_objects, chunk):
        stop = min(start + chunk, num_objects)
        images[start:stop], skies[start:stop] = render_objects(objects[start:stop],
                                                               num_views, size)
    labels = np.array([obj['colour'] for obj in objects], np.int32)
    plane_mask = np.any(images != skies[:, None], axis=-1)
    return dict(images=images, labels=labels, sky=skies, plane_mask=plane_mask)


def cache_path(directory: str, num_objects: int, num_views: int, size: int, seed: int) -> str:
    """Where the set with these parameters is cached: the name holds the parameters and a
    hash of this module's rendering code, so a changed renderer never reads a stale file."""
    with open(os.path.abspath(__file__), 'rb') as f:
        code = hashlib.sha256(f.read()).hexdigest()[:10]
    name = f'planes_n{num_objects}_v{num_views}_s{size}_seed{seed}_{code}.npz'
    return os.path.join(directory, name)


def load_or_render(directory: str, num_objects: int, num_views: int = 24, size: int = 64,
                   seed: int = 0) -> dict:
    """The arrays of :func:`render_planes`, read from the cache in ``directory`` or rendered
    and written there (atomically) on first use."""
    path = cache_path(directory, num_objects, num_views, size, seed)
    if os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            pass  # a broken cache file is rendered again and replaced
    data = render_planes(num_objects, num_views, size, seed)
    os.makedirs(directory, exist_ok=True)
    tmp = path + f'.tmp{os.getpid()}.npz'
    np.savez(tmp, **data)
    os.replace(tmp, path)
    with open(path + '.json', 'w') as f:
        json.dump(dict(num_objects=num_objects, num_views=num_views, size=size, seed=seed,
                       colours=[name for name, _ in COLOURS]), f)
    return data
