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


@pytest.mark.parametrize(
    "name", ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t"]
)
def test_video_models_get_a_clip_and_match_torchvision(name):
    """A 16-frame clip at the weights' crop: MACs equal torchvision's published `_ops`."""
    from netcost.sources import resolve

    resolved = resolve(f"torchvision:{name}")
    (spec,) = resolved.inputs
    shape = tuple(int(n) for n in spec.split("x"))
    assert shape[:3] == (1, 3, 16)
    r = netcost.analyze(resolved.model, input_size=shape)
    ops = models.get_model_weights(name).DEFAULT.meta["_ops"]
    assert round(r.total.macs / 1e9, 3) == ops


def test_optical_flow_gets_two_frames():
    from netcost.sources import resolve

    resolved = resolve("torchvision:raft_small")
    assert resolved.inputs == ("1x3x520x960", "1x3x520x960")
    r = netcost.analyze(resolved.model, input_size=[(1, 3, 520, 960), (1, 3, 520, 960)])
    assert r.complete
    assert r.total.params == models.get_model_weights("raft_small").DEFAULT.meta["num_params"]
