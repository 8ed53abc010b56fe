"""Detection costed at the model's configured maxima (the keep-all scenario), by hand."""

from __future__ import annotations

import pytest

import netcost
from netcost.sources import resolve

pytest.importorskip("torchvision")

#: Per proposal: TwoMLPHead fc6 (256·7·7 → 1024) and fc7 (1024 → 1024).
TWO_MLP = 256 * 7 * 7 * 1024 + 1024 * 1024
#: v2's FastRCNNConvFCHead: four 3×3 convs 256 → 256 on 7×7, then 256·7·7 → 1024.
CONV_FC = 4 * 256 * 256 * 3 * 3 * 7 * 7 + 256 * 7 * 7 * 1024
#: FastRCNNPredictor: class scores and 4 box coordinates per class.
PREDICTOR_91 = 1024 * 91 + 1024 * 91 * 4
PREDICTOR_2 = 1024 * 2 + 1024 * 2 * 4
#: Per detection: four 3×3 convs 256 → 256 on 14×14, a 2×2 stride-2 transposed conv to 28×28,
#: then a 1×1 conv to 91 class masks.
MASK = 4 * 256 * 256 * 9 * 14 * 14 + 256 * 14 * 14 * 256 * 2 * 2 + 256 * 91 * 28 * 28
#: Per detection: eight 3×3 convs (256 → 512, then 512 → 512) on 14×14, then a 4×4 stride-2
#: transposed conv to 17 keypoint maps.
KEYPOINT = (256 * 512 + 7 * 512 * 512) * 9 * 14 * 14 + 512 * 14 * 14 * 17 * 4 * 4

# name: (proposals = rpn_post_nms_top_n_test, box head, predictor, extra head per detection)
DETECTORS = {
    "fasterrcnn_resnet50_fpn": (1000, TWO_MLP, PREDICTOR_91, None),
    "fasterrcnn_resnet50_fpn_v2": (1000, CONV_FC, PREDICTOR_91, None),
    "fasterrcnn_mobilenet_v3_large_fpn": (1000, TWO_MLP, PREDICTOR_91, None),
    "fasterrcnn_mobilenet_v3_large_320_fpn": (150, TWO_MLP, PREDICTOR_91, None),
    "maskrcnn_resnet50_fpn": (1000, TWO_MLP, PREDICTOR_91, ("mask", MASK)),
    "maskrcnn_resnet50_fpn_v2": (1000, CONV_FC, PREDICTOR_91, ("mask", MASK)),
    "keypointrcnn_resnet50_fpn": (1000, TWO_MLP, PREDICTOR_2, ("keypoint", KEYPOINT)),
}


def test_hand_constants():
    assert TWO_MLP + PREDICTOR_91 == 14_359_552  # issue 9's box head, per proposal
    assert MASK == 532_066_304  # issue 9's mask head, per detection


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_two_stage_detector_heads_at_configured_maxima(name):
    proposals, box_head, predictor, extra = DETECTORS[name]
    resolved = resolve(f"torchvision:{name}")
    model = resolved.model
    # the heads' counts follow the configured maxima, not the image: the transform's 800-pixel
    # resize is cut to 320 so that the backbone runs on less (anchors still far outnumber 1,000)
    model.transform.min_size, model.transform.max_size = (320,), 320
    assert model.rpn.post_nms_top_n() == proposals
    assert model.roi_heads.detections_per_img == 100  # torchvision's default maximum
    # configured to 10, which the per-detection heads follow (the run is real: a tenth of the
    # mask and keypoint heads' arithmetic)
    detections = model.roi_heads.detections_per_img = 10
    r = netcost.analyze(model, input_size=(1, 3, 224, 224))  # the CLI's default input
    assert r.layer("roi_heads.box_head").cost.macs == proposals * box_head
    assert r.layer("roi_heads.box_predictor").cost.macs == proposals * predictor
    heads = proposals * (box_head + predictor)
    if extra is not None:
        kind, per_detection = extra
        head = r.layer(f"roi_heads.{kind}_head").cost.macs
        head += r.layer(f"roi_heads.{kind}_predictor").cost.macs
        assert head == detections * per_detection
        heads += detections * per_detection
    assert r.layer("roi_heads").cost.macs == heads
    (scenario, *lines) = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert "keep-all" in scenario
    assert any("roi_heads.box_roi_pool" in line and f"kept {proposals:,}" in line for line in lines)
    assert r.total.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "gmacs"), [("fasterrcnn_resnet50_fpn", 134.38), ("maskrcnn_resnet50_fpn", 187.59)]
)
def test_totals_match_a_normally_initialised_real_run(name, gmacs):
    """Issue 9's figures, measured on real models with torchvision's own initialisation."""
    r = netcost.analyze(resolve(f"torchvision:{name}").model, input_size=(1, 3, 224, 224))
    assert round(r.total.macs / 1e9, 2) == gmacs


def test_real_fallback_initialises_like_the_model():
    """Mask R-CNN reads box sizes into Python, so it runs on real tensors: they come from the
    model's own initialisers (BatchNorm variance 1), never NaN."""
    from netcost.capture.state import initialised_state, named_state

    model = resolve("torchvision:maskrcnn_resnet50_fpn").model
    state = named_state(model)
    values = initialised_state(model, state)
    var = values[id(state["backbone.body.bn1.running_var"])]
    assert bool((var == 1).all())
    assert all(bool(v.isfinite().all()) for v in values.values() if v.is_floating_point())


def test_the_report_lists_each_value_dependent_op_with_its_sizes():
    """Faster R-CNN MobileNetV3 320: 3 feature levels give 150 anchors each (top-k,
    `rpn_pre_nms_top_n_test`), 450 candidates survive the filters and NMS, 150 proposals
    (`rpn_post_nms_top_n_test`) reach the heads, and 150 × 90 classes = 13,500 boxes the final
    score filter and NMS."""
    r = netcost.analyze(
        resolve("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn").model,
        input_size=(1, 3, 224, 224),
    )
    lines = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert lines[1:] == [
        "rpn: 3× aten.topk.default (indices round-robin) kept 150, 150, 150",
        "rpn: 2× aten.nonzero.default kept 450, 450",
        "rpn: torchvision.nms.default kept 450",
        "roi_heads.box_roi_pool: 2× aten.nonzero.default kept 150, 150",
        "roi_heads: 2× aten.nonzero.default kept 13,500, 13,500",
        "roi_heads: torchvision.nms.default kept 13,500",
    ]
