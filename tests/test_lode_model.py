"""LodeTensorModel: local + LODE features in a TensorModel (concatenation = weighted kernel sum)."""
import numpy as np
import pytest

from sagpr import settings
from sagpr.datasets import lto
from sagpr.models import TensorModel, load
from sagpr.models.lode_tensor import LodeTensorModel
from symmetry import random_rotation, rotated

SMALL = dict(center_species="Li", cutoff=4.0, max_radial=3, max_angular=2, n_sparse=20, regularizer=1e-6,
             progress=False)
LODE_SMALL = dict(lode_cutoff=3.0, lode_max_radial=2, lode_max_angular=2, lode_atomic_gaussian_width=1.0)


@pytest.fixture(scope="module")
def frames():
    return lto.generate(8, progress=False)


@pytest.mark.parametrize("kind", ["potential", pytest.param("product", marks=pytest.mark.slow)])
def test_zero_weight_is_the_local_model(frames, kind):
    # a regularizer of 1e-4 keeps the solve well conditioned: at 1e-6 the rounding of the extra
    # (zero-weighted) columns' summation order reached 1.6e-8 of the largest component
    hypers = dict(SMALL, regularizer=1e-4)
    local = TensorModel(**hypers).fit(frames[:6]).predict(frames[6:])
    lode = LodeTensorModel(**hypers, **LODE_SMALL, lode_weight=0.0, lode_features=kind).fit(frames[:6]).predict(frames[6:])
    np.testing.assert_allclose(lode, local, rtol=0, atol=1e-8 * np.abs(local).max())


@pytest.mark.parametrize("kind", ["potential", pytest.param("product", marks=pytest.mark.slow)])
def test_fits_rotates_and_round_trips_through_its_file(frames, tmp_path, kind):
    model = LodeTensorModel(**SMALL, **LODE_SMALL, lode_weight=0.6, lode_features=kind).fit(frames[:6])
    assert set(settings.LODE) <= set(model.get_params())
    pred = model.predict(frames[6:])
    rotation = random_rotation(np.random.default_rng(4))
    turned = model.predict([rotated(a, rotation) for a in frames[6:]])
    np.testing.assert_allclose(turned, rotation @ pred @ rotation.T, rtol=0, atol=1e-9 * np.abs(pred).max())
    model.save(tmp_path / "m.sagpr")
    again = load(tmp_path / "m.sagpr")
    assert isinstance(again, LodeTensorModel) and again.lode_weight == 0.6
    if kind == "potential":
        assert again.lode_scales_ == model.lode_scales_ and model.lode_scales_[3][2] > 0
    np.testing.assert_allclose(again.predict(frames[6:]), pred, rtol=0, atol=1e-12 * np.abs(pred).max())


def test_lode_settings_are_validated():
    with pytest.raises(ValueError, match="lode_weight"):
        LodeTensorModel(lode_weight=1.5)
    with pytest.raises(ValueError, match="lode_max_radial"):
        LodeTensorModel(lode_max_radial=0)
    with pytest.raises(ValueError, match="lode_features"):
        LodeTensorModel(lode_features="both")
