"""The SVR router's closed form equals liblinear's primal L2-loss LinearSVR at convergence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import LinearSVR

from routerbench.routers.quality.svr import squared_svr as _squared_svr


@pytest.mark.parametrize("c", [0.1, 1.0, 10.0])
def test_closed_form_matches_liblinear(c: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    y = (rng.random((300, 3)) < 0.5).astype(float)
    y[5, 1] = np.nan  # a missing cell takes the per-model path for that model
    coef, intercept = _squared_svr(x, y, c)
    for j in range(3):
        ok = ~np.isnan(y[:, j])
        ref = LinearSVR(
            C=c, loss="squared_epsilon_insensitive", dual=False, tol=1e-10, max_iter=100_000
        ).fit(x[ok], y[ok, j])
        np.testing.assert_allclose(coef[:, j], ref.coef_, rtol=1e-4, atol=1e-6)
        assert intercept[j] == pytest.approx(float(np.ravel(ref.intercept_)[0]), abs=1e-6)
