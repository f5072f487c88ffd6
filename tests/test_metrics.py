"""Image metrics against values computed by hand."""

import numpy as np
import pytest

from gla import metrics


def test_psnr_known_value():
    a = np.zeros((2, 4, 4, 1), np.float32)
    b = a.copy()
    b[0] += 0.1  # mse 0.01 -> 10 log10(4 / 0.01)
    b[1, 0, 0, 0] = 2.0  # mse 4/16 -> 10 log10(16)
    np.testing.assert_allclose(metrics.psnr(b, a), [10 * np.log10(400.0),
                                                    10 * np.log10(16.0)], rtol=1e-5)


def test_ssim_identical_is_one():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(metrics.ssim(x, x), 1.0, atol=1e-5)


@pytest.mark.parametrize('shape', [(1, 16, 16, 1), (1, 12, 12, 12, 1)], ids=['2d', '3d'])
def test_ssim_of_constant_images(shape):
    # Constant a and b: variances and covariance vanish, so
    # SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 2)^2.
    a, b = 0.3, -0.2
    c1 = (0.01 * 2.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = metrics.ssim(np.full(shape, a, np.float32), np.full(shape, b, np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_ssim_matches_direct_formula_on_random_images():
    # With an 11x11 window on an 11x11 image, 'valid' SSIM has one position: the weighted
    # statistics over the whole image, which we compute directly here.
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 11, 11, 1))
    y = np.clip(x + rng.normal(0, 0.3, x.shape), -1, 1)
    w1 = metrics.gaussian_window(11, 1.5).astype(np.float64)
    w = np.outer(w1, w1)[None, :, :, None]
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * x * x).sum() - mx ** 2, (w * y * y).sum() - my ** 2
    cxy = (w * x * y).sum() - mx * my
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2
    expected = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) *
                                                        (vx + vy + c2))
    got = metrics.ssim(x.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(got, [expected], rtol=1e-4)


def test_ssim_map_matches_windowed_sums_at_every_position_and_channel():
    # 3D, two channels, a 13^3 grid under a 11^3 window: 3^3 'valid' positions per channel,
    # each computed here from its own window of weighted sums, then averaged.
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 13, 13, 13, 2))
    y = np.clip(x + rng.normal(0, 0.4, x.shape), -1, 1)
    w1 = metrics.gaussian_window(11, 1.5).astype(np.float64)
    w = np.einsum('i,j,k->ijk', w1, w1, w1)
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2

    def mean(v):
        return np.einsum('nijk,ijk->n', v, w)

    expected = np.zeros(2)
    for i, j, k, c in np.ndindex(3, 3, 3, 2):
        a, b = x[:, i:i + 11, j:j + 11, k:k + 11, c], y[:, i:i + 11, j:j + 11, k:k + 11, c]
        ma, mb = mean(a), mean(b)
        va, vb, cab = mean(a * a) - ma ** 2, mean(b * b) - mb ** 2, mean(a * b) - ma * mb
        expected += ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma ** 2 + mb ** 2 + c1) *
                                                            (va + vb + c2)) / 54
    got = metrics.ssim(x.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_relative_error_parts():
    pred = np.ones((2, 3, 3, 2), np.float32)
    target = np.zeros_like(pred)
    target[1] = 2.0
    err, norm = metrics.squared_error_and_norm(pred, target)
    np.testing.assert_allclose(err, [18.0, 18.0])
    np.testing.assert_allclose(norm, [0.0, 72.0])
