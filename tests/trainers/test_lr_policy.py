import numpy as np
import pytest

from zssr_deploy.trainers.config import ZSSRConfig
from zssr_deploy.trainers.lr_policy import LearningRatePolicy, slope_and_std


def run(curve, max_iters=3000):
    """Feed the policy a synthetic reconstruction-error curve; return (drops, iterations run)."""
    p = LearningRatePolicy.from_config(ZSSRConfig())
    for i in range(max_iters):
        if i % p.test_every == 0:
            p.record(i, curve(i))
        p.update(i)
        if p.finished:
            return p.changes[1:], i + 1
    return p.changes[1:], max_iters


def test_flat_noisy_curve_drops_at_first_eligible_checks():
    rng = np.random.default_rng(0)
    drops, iters = run(lambda i: 1e-3 + 1e-6 * rng.standard_normal())
    # eligible: (i + 1) % 60 == 0 and more than 256 iterations since the last change (start counts as 0)
    assert drops == [299, 599, 899]
    assert iters == 900  # 1e-3 -> 1e-4 -> 1e-5 -> 1e-6 < 9e-6: stop right after the third drop


def test_steadily_improving_curve_never_drops():
    drops, iters = run(lambda i: 1.0 - 1e-4 * i)
    assert drops == [] and iters == 3000


def test_slope_std_matches_old_numpy_scaling():
    x = np.arange(0, 250, 50, dtype=float)
    y = np.array([5.0, 4.1, 3.3, 2.2, 1.4])
    slope, std = slope_and_std(x, y)
    (ref_slope, _), cov = np.polyfit(x, y, 1, cov=True)  # current numpy: residuals / (n - 2)
    assert slope == pytest.approx(ref_slope, rel=1e-12)
    assert std == pytest.approx(np.sqrt(cov[0, 0] * (5 - 2) / (5 - 4)), rel=1e-12)


def test_rule_matches_closed_form():
    # Errors at 5 test points with slope -1e-5 and noise: the rule compares -1.5 * slope with std(slope).
    p = LearningRatePolicy.from_config(ZSSRConfig())
    x = np.arange(0, 250, 50)
    y = np.array([5.0, 4.0, 3.2, 1.5, 1.1]) * 1e-3
    for xi, yi in zip(x, y):
        p.record(int(xi), float(yi))
    p.changes = [-100]  # make iteration 299 eligible
    slope, std = slope_and_std(x, y)
    expected = -1.5 * slope < std
    assert p.update(299) == expected
    assert not expected  # this curve improves clearly: no drop
    assert p.lr == 1e-3


def test_only_checks_on_the_period():
    p = LearningRatePolicy.from_config(ZSSRConfig())
    for i, e in zip(range(0, 300, 50), [1.0, 1.1, 0.9, 1.05, 0.95, 1.0]):
        p.record(i, e)
    assert not p.update(298)  # (298 + 1) % 60 != 0
    assert p.update(299)


def test_from_config_carries_every_setting_by_name():
    from zssr_deploy.trainers.config import ZSSRConfig

    cfg = ZSSRConfig(learning_rate=2e-3, min_learning_rate=1e-7, lr_change_ratio=2.5, lr_check_every=70,
                     min_iters=100, lr_slope_range=300, test_every=30)
    p = LearningRatePolicy.from_config(cfg)
    assert (p.lr, p.min_lr, p.ratio, p.check_every, p.min_iters, p.slope_range, p.test_every) == (
        2e-3, 1e-7, 2.5, 70, 100, 300, 30)
    assert p.steps == [] and p.errors == [] and p.changes == [0]
