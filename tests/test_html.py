"""The HTML report in a real headless browser (Debian's chromium), the notebook view and pandas."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import netcost
from netcost.cli import run
from netcost.examples import nin

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
REQUIRED = os.environ.get("NETCOST_REQUIRE_BROWSER") == "1"  # `make test` installs them


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if REQUIRED:
            pytest.fail("chromium and chromedriver are missing: `make browser` installs them")
        pytest.skip("no chromium here; `make test` installs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "nin.html"
    run(["examples:nin", "--html", str(path)])
    return path


def test_the_page_is_self_contained(page):
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from anywhere
    assert "<script>" in text and "<style>" in text and "<svg" in text


def test_it_renders_sorts_and_logs_no_errors(browser, page):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    assert browser.title == "netcost: Sequential"
    rows = browser.find_elements(By.CSS_SELECTOR, "#layers tbody tr")
    assert len(rows) == len(netcost.analyze(nin().eval(), input_size=(1, 1, 224, 224)).modules) - 1
    macs_column = list(h.text for h in browser.find_elements(By.CSS_SELECTOR, "#layers th")).index(
        "MACs"
    )

    def column_values() -> list[int]:
        cells = browser.find_elements(
            By.CSS_SELECTOR, f"#layers tbody tr td:nth-child({macs_column + 1})"
        )
        return [int(c.get_attribute("data-value")) for c in cells]

    before = column_values()
    header = browser.find_elements(By.CSS_SELECTOR, "#layers th")[macs_column]
    header.click()
    assert column_values() == sorted(before, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert column_values() == sorted(before)
    # the heaviest row is NiN's second block: its 5x5 conv and two 1x1 convs at 26x26
    assert max(before) == (256 * 96 * 5 * 5 + 2 * 256 * 256) * 26 * 26
    plot = browser.find_element(By.CSS_SELECTOR, ".plot svg")
    assert plot.size["width"] > 300 and plot.size["height"] > 300
    stage_total = browser.find_element(By.CSS_SELECTOR, "#stages tfoot td").text
    assert stage_total == "total"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_notebook_view_and_pandas():
    with torch.no_grad():
        report = netcost.analyze(nin().eval(), input_size=(1, 1, 224, 224))
    html = report._repr_html_()
    assert html.startswith("<h2>Sequential</h2>") and 'id="layers"' in html
    frame = report.to_pandas()
    assert list(frame.columns)[:3] == ["path", "type", "depth"]
    first_conv = frame[frame.path == "0.0"].iloc[0]
    assert first_conv.macs == 96 * 11 * 11 * 54 * 54
    assert first_conv.params == 96 * 11 * 11 + 96
    assert frame.params[frame.depth == 1].sum() == report.total.params


def test_plots_are_images(tmp_path):
    png, svg = tmp_path / "nin.png", tmp_path / "nin.svg"
    run(["examples:nin", "--plot", str(png)])
    run(["examples:nin", "--plot", str(svg)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert b"<svg" in svg.read_bytes()[:1000]
    from PIL import Image

    width, height = Image.open(png).size
    assert width > 1000 and height > 600
    with pytest.raises(netcost.NetcostError, match=r"name a \.png or \.svg file"):
        run(["examples:nin", "--plot", str(tmp_path / "nin.gif")])


def test_the_python_api_gives_the_same_views(tmp_path):
    from netcost.examples import simple_cnn

    with torch.no_grad():
        a = netcost.analyze(simple_cnn().eval(), input_size=(64, 1, 28, 28))
        b = netcost.analyze(simple_cnn().eval(), input_size=(128, 1, 28, 28))
    assert a.stages().total.macs == a.total.macs
    a.plot(tmp_path / "a.svg")
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:1000]
    page = a.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    comparison = netcost.compare([a, b])
    assert comparison.labels == ("Sequential", "Sequential")
    assert {r.measure: r.ratio(1) for r in comparison.totals}["MACs"] == 2.0
    assert "2.000×" in str(comparison)


def test_the_plots_totals_are_the_reports():
    """A model with arithmetic and a parameter of its own, outside any leaf layer: the panels'
    titles give the report's totals, and the remainder has its own bar."""
    pytest.importorskip("matplotlib")
    from netcost.render.plots import figure

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(8, 8)
            self.scale = nn.Parameter(torch.ones(8))

        def forward(self, x):
            return self.linear(x) @ torch.diag(self.scale)  # 4·8·8 MACs outside the Linear

    report = netcost.analyze(Scaled(), input_size=(4, 8))
    fig = figure(report)
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles[0] == f"MACs (total {report.total.cost.macs:,})" == "MACs (total 512)"
    assert titles[1] == f"Parameters (total {8 * 8 + 8 + 8})"
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "(outside the leaf layers)"
    import matplotlib.pyplot as plt

    plt.close(fig)
