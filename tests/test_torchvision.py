"""Every torchvision classification model against its published figures: parameters exactly,
MACs within 0.5 % of weights.meta['_ops'] (GMACs, published to 3 decimals) at the crop size."""

from __future__ import annotations

import pytest

import netcost

models = pytest.importorskip("torchvision.models")
from netcost.sources import torchvision_crop, torchvision_model  # noqa: E402

NAMES = models.list_models(module=models)


@pytest.mark.parametrize("name", NAMES)
def test_published_params_and_macs(name):
    weights = models.get_model_weights(name).DEFAULT
    if name == "googlenet":  # the published weights drop the two auxiliary classifiers
        import torch

        with torch.device("meta"):
            model = models.googlenet(aux_logits=False, init_weights=False).eval()
    else:
        model = torchvision_model(name)
    size = torchvision_crop(name)
    report = netcost.analyze(model, input_size=(1, 3, size, size))
    assert report.complete, report.diagnostics
    assert report.total.params == weights.meta["num_params"]
    published = weights.meta["_ops"] * 1e9
    rounding = 0.0005e9  # the figure is given to 3 decimals of a GMAC
    assert abs(report.total.macs - published) <= max(0.005 * published, rounding)
