"""Walk the dashboard in Chromium: sweeps list -> sweep -> run -> compare, submit, workers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from dashboard_seed import complete_run
from liveapi import LiveApi
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, update

from api.models import Run

pytestmark = pytest.mark.e2e

BAD_SPEC = """name: bad
task: digits-mlp
recipes:
  - name: agp
    prune: {granularity: unstructured}
    schedule: {kind: agp, final_sparsity: 1.5}
"""
GOOD_SPEC = """name: e2e-submitted
task: digits-mlp
seeds: [0, 1]
baseline: {epochs: 1}
recipes:
  - name: agp
    prune: {granularity: unstructured}
    schedule: {kind: agp, final_sparsity: [0.5, 0.9], end_epoch: 1}
    finetune: {epochs: 1}
"""


# The pixel position of the first point on the front (the chart element keeps its ECharts
# instance as __chart for this).
FRONT_POINT_JS = """el => {
  const chart = el.__chart;
  const front = chart.getOption().series.find(s => s.id === 'front');
  return chart.convertToPixel({seriesId: 'front'}, front.data[0].slice(0, 2));
}"""


def _pareto_variants(results: dict[str, Any], x: str) -> int:
    """Variants the Pareto chart must show: succeeded runs with the primary metric and ``x``
    (the metric is ``accuracy`` in summaries written before ``metric`` existed)."""
    summaries = [run.get("summary") or {} for run in results["runs"]]
    y = "metric" if any("metric" in s for s in summaries) else "accuracy"
    variants = set()
    for run, summary in zip(results["runs"], summaries, strict=True):
        value: Any = summary
        for key in x.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if run["status"] == "succeeded" and y in summary and value is not None:
            variants.add(run["name"].rsplit("@seed", 1)[0])
    return len(variants)


# Visible controls without an accessible name: no aria-label(ledby), <label>, text or title.
UNLABELLED_JS = """() => [...document.querySelectorAll(
    'a[href], button, input, select, textarea, [role=grid], [tabindex]:not([tabindex="-1"])')]
  .filter(el => el.getClientRects().length > 0 && el.type !== 'hidden')
  .filter(el => {
    const byIds = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .map(id => document.getElementById(id)?.textContent || '').join('');
    const labels = [...(el.labels || [])].map(l => l.textContent).join('');
    const own = ['A', 'BUTTON'].includes(el.tagName) ? el.textContent : '';
    const name = (el.getAttribute('aria-label') || '') + byIds + labels + own
      + (el.getAttribute('title') || '');
    return !name.trim();
  })
  .map(el => el.outerHTML.slice(0, 160))"""


def _every_control_is_labelled(page: Page) -> None:
    unlabelled: list[str] = page.evaluate(UNLABELLED_JS)
    assert not unlabelled, f"controls without a label on {page.url}: {unlabelled}"


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"], width


def test_list_sweep_run_compare(page: Page, seeded: dict[str, Any], results: dict[str, Any],
                                api: httpx.Client, screenshots: Path) -> None:
    sweep_id = seeded["id"]
    page.goto("/")
    row = page.locator(f"[data-sweep-id='{sweep_id}']")
    expect(row).to_contain_text("quick")
    expect(row).to_contain_text(f"{len(results['runs'])} succeeded")
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "sweeps.png")

    row.get_by_role("link", name="quick").click()
    expect(page).to_have_url(re.compile(rf"/sweeps/{sweep_id}$"))
    chart = page.get_by_test_id("pareto-chart")
    expect(chart).to_have_attribute("data-points",
                                    str(_pareto_variants(results, "sparsity")))
    front = int(chart.get_attribute("data-front") or 0)
    assert 1 <= front <= int(chart.get_attribute("data-points") or 0)
    expect(page.get_by_test_id("runs-table")).to_have_attribute("data-rows",
                                                                str(len(results["runs"])))
    expect(page.get_by_test_id("sweep-page")).to_have_attribute("data-interactive", "true")
    expect(page.get_by_test_id("sensitivity-heatmap")).to_be_visible()
    gates = page.get_by_test_id("gates")
    if api.get(f"/api/v1/sweeps/{sweep_id}").json().get("gates"):
        expect(gates).to_contain_text("Best variant")
    else:  # the API does not report gates (yet)
        expect(gates).to_contain_text("evaluated when the sweep ends")
    _no_horizontal_overflow(page)

    # hovering a point on the front shows the variant; clicking it opens its run
    x, y = chart.evaluate(FRONT_POINT_JS)
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(page.get_by_text("(on the front)")).to_be_visible()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.get_by_test_id("run-page")).to_be_visible()
    page.go_back()
    expect(chart).to_have_attribute("data-points", re.compile(r"\d+"))

    # another x axis, held in the URL
    page.get_by_label("x axis").select_option(label="stored size")
    expect(page).to_have_url(re.compile(r"x=summary\.size_bytes\.stored"))
    expect(chart).to_have_attribute("data-points",
                                    str(_pareto_variants(results, "size_bytes.stored")))

    # the runs table from the keyboard: move, select two runs with Space
    grid = page.get_by_role("grid", name="runs of this sweep")
    grid.focus()
    grid.press("ArrowDown")
    grid.press(" ")
    grid.press("ArrowDown")
    grid.press(" ")
    expect(page).to_have_url(re.compile(r"sel=\d+,\d+"))
    expect(page.get_by_test_id("selected-curves")).to_have_attribute("data-lines", "2")
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "sweep.png", full_page=True)

    # sort by the primary metric (accuracy here) via the header button; the URL keeps it
    page.get_by_test_id("runs-table").get_by_role("button", name="accuracy", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=-summary\.(metric\.value|accuracy)"))

    page.get_by_role("button", name=re.compile(r"Compare 2 runs")).click()
    expect(page).to_have_url(re.compile(r"/compare\?runs=\d+,\d+"))
    expect(page.get_by_test_id("compare-summary").locator("thead th")).to_have_count(3)
    expect(page.locator("[data-testid=config-diff] tr[data-differs=true]").first).to_be_visible()
    expect(page.get_by_test_id("compare-curves")).to_have_attribute("data-lines", "2")
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "compare.png", full_page=True)

    # a run page, reached from the sweep's table
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/sweeps/{sweep_id}\?"))
    agp = next(rid for rid, rec in seeded["runs"].items() if rec["name"].startswith("agp@"))
    page.get_by_test_id("runs-table").get_by_role("link", name="agp").click()
    expect(page).to_have_url(re.compile(rf"/runs/{agp}$"))
    cards = page.get_by_test_id("summary-cards")
    expect(cards).to_contain_text("accuracy")
    accuracy = seeded["runs"][agp]["summary"]["accuracy"]
    expect(cards).to_contain_text(f"{accuracy * 100:.2f}%")
    # the code that produced the figures, from the summary's versions
    version = seeded["runs"][agp]["summary"]["versions"]["squeezelab"]
    expect(cards).to_contain_text(f"squeezelab {version}")
    expect(page.get_by_test_id("curve-train/loss")).to_have_attribute("data-lines", "1")
    expect(page.get_by_test_id("curve-sparsity/target")).to_have_attribute("data-lines", "2")
    expect(page.get_by_test_id("layer-sparsity")).to_be_visible()
    expect(page.get_by_test_id("run-config")).to_contain_text("final_sparsity: 0.9")
    expect(page.get_by_test_id("artifacts")).to_contain_text("model.safetensors")
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "run.png", full_page=True)


def test_layout_at_1920(page: Page, seeded: dict[str, Any], screenshots: Path) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"/sweeps/{seeded['id']}")
    expect(page.get_by_test_id("sweep-page")).to_have_attribute("data-interactive", "true")
    _no_horizontal_overflow(page)
    page.screenshot(path=screenshots / "sweep-1920.png", full_page=True)


def test_workers_page(page: Page, seeded: dict[str, Any], api: httpx.Client,
                      screenshots: Path) -> None:
    page.goto("/workers")
    table = page.get_by_test_id("workers-table")
    expect(table).to_contain_text("e2e-host")
    expect(table).to_contain_text("alive")
    version = api.get("/healthz").json()["version"]
    expect(table.locator("tr", has_text="e2e-host")).not_to_contain_text("differs from API")
    expect(page.get_by_test_id("version-warning")).to_have_count(0)
    expect(page.get_by_text("live", exact=True)).to_be_visible()
    # A worker that registers, then takes a run, shows up without a reload (SSE, not the
    # 30 s refresh).
    worker = "e2e-late:7"
    registered = api.post("/api/v1/workers", json={
        "id": worker, "hostname": "e2e-late-host", "queues": ["gpu"], "tasks": ["digits-mlp"],
        "hardware": {"cpu": "test CPU", "gpu": "none"}, "version": "0.0.1"})
    assert registered.status_code == 200, registered.text
    row = table.locator("tr", has_text="e2e-late-host")
    expect(row).to_contain_text("idle")
    # ... on other code than the API's: flagged in its row and above the table
    expect(row).to_contain_text("0.0.1 differs from API")
    expect(page.get_by_test_id("version-warning")).to_contain_text(
        f"1 live worker runs a squeezelab version other than the API's ({version})")
    run_id = min(seeded["runs"])
    beat = api.post(f"/api/v1/workers/{worker}/heartbeat", json={"current_run_id": run_id})
    assert beat.status_code == 200, beat.text
    expect(row).to_contain_text(f"run {run_id}")
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "workers.png")


def test_submit_rejects_bad_spec_then_submits_and_updates_live(
        page: Page, seeded: dict[str, Any], api: httpx.Client, screenshots: Path) -> None:
    page.goto("/submit")
    spec = page.get_by_label("Sweep spec (YAML or JSON)")
    spec.fill(BAD_SPEC)
    page.get_by_role("button", name="Validate (dry run)").click()
    errors = page.get_by_test_id("spec-errors")
    expect(errors).to_contain_text("/recipes/0/schedule/final_sparsity")
    expect(page.get_by_role("button", name="Submit sweep")).to_be_disabled()
    _every_control_is_labelled(page)
    page.screenshot(path=screenshots / "submit-invalid.png")

    spec.fill(GOOD_SPEC)
    page.get_by_role("button", name="Validate (dry run)").click()
    # 2 seeds x (1 baseline + 2 sparsities)
    expect(page.get_by_test_id("run-count")).to_have_text("6")
    page.screenshot(path=screenshots / "submit.png")
    page.get_by_role("button", name="Submit sweep").click()
    expect(page).to_have_url(re.compile(r"/sweeps/\d+$"))
    sweep_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("h1")).to_have_text("e2e-submitted")
    expect(page.get_by_test_id("runs-table")).to_have_attribute("data-rows", "6")
    expect(page.get_by_text("live", exact=True)).to_be_visible()

    # a worker claims a baseline: the open page hears it over SSE, without a reload
    baseline = api.get("/api/v1/runs", params={"sweep_id": sweep_id, "kind": "baseline"})
    run_id = baseline.json()["items"][0]["id"]
    claimed = api.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": "e2e-live:1"})
    assert claimed.status_code == 200, claimed.text
    expect(page.locator(".meta .counts")).to_contain_text("1 running")
    api.post(f"/api/v1/sweeps/{sweep_id}/cancel")
    expect(page.locator(".meta .counts")).to_contain_text("cancelled")


def test_live_updates_reconnect_after_an_api_restart(
        page: Page, seeded: dict[str, Any], server: LiveApi, api: httpx.Client) -> None:
    spec = {**yaml.safe_load(GOOD_SPEC), "name": "e2e-reconnect"}
    created = api.post("/api/v1/sweeps", json=spec)
    assert created.status_code == 201, created.text
    sweep_id, (first, second) = created.json()["id"], created.json()["baseline_run_ids"]
    page.goto(f"/sweeps/{sweep_id}")
    live = page.get_by_role("status").filter(has_text=re.compile("live|connecting"))
    expect(live).to_have_text("live")

    server.stop()
    expect(live).to_have_text("reconnecting…")
    # A change made while the page could not hear about it (as another API replica would):
    engine = create_engine(server.settings.database_url)
    with engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == first).values(status="cancelled"))
    engine.dispose()
    server.start()
    expect(live).to_have_text("live", timeout=20_000)
    # ... is picked up by the refetch on reconnect, and later events arrive on the new stream.
    expect(page.locator(".meta .counts")).to_contain_text("1 cancelled")
    claimed = api.post(f"/api/v1/runs/{second}/claim", json={"worker_id": "e2e-live:2"})
    assert claimed.status_code == 200, claimed.text
    expect(page.locator(".meta .counts")).to_contain_text("1 running")
    api.post(f"/api/v1/sweeps/{sweep_id}/cancel")


# Zoom the chart the way a mouse wheel does, through ECharts' own action.
ZOOM_JS = "el => el.__chart.dispatchAction({type: 'dataZoom', start: 40, end: 42})"
POINTS_IN_JS = """([el, lo, hi]) => el.__chart.getOption().series
  .flatMap(s => s.data).filter(p => p[0] >= lo && p[0] <= hi).length"""


def test_zooming_into_a_long_curve_reads_that_window_at_full_resolution(
        page: Page, seeded: dict[str, Any], api: httpx.Client) -> None:
    spec = {**yaml.safe_load(GOOD_SPEC), "name": "e2e-zoom", "seeds": [0], "recipes": []}
    created = api.post("/api/v1/sweeps", json=spec)
    assert created.status_code == 201, created.text
    run_id = created.json()["run_ids"][0]
    assert api.post(f"/api/v1/runs/{run_id}/claim",
                    json={"worker_id": "e2e-zoom:1"}).status_code == 200
    steps = 20_000
    points = [{"key": "train/loss", "step": s, "value": 1.0 + (s % 97) / 97}
              for s in range(steps)]
    for start in range(0, steps, 10_000):
        posted = api.post(f"/api/v1/runs/{run_id}/metrics",
                          json={"points": points[start:start + 10_000]})
        assert posted.status_code == 200, posted.text

    page.goto(f"/runs/{run_id}")
    chart = page.get_by_test_id("curve-train/loss")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    expect(chart).to_have_attribute("data-detail", "0")
    overview = int(chart.get_attribute("data-points") or 0)
    assert 0 < overview <= 1000  # 20,000 steps downsampled
    lo, hi = 8_000, 8_400  # 40 % .. 42 % of steps 0 .. 19,999
    coarse = page.evaluate(POINTS_IN_JS, [chart.element_handle(), lo, hi])
    assert coarse < 30

    chart.element_handle().evaluate(ZOOM_JS)
    expect(chart).to_have_attribute("data-detail", "1")
    fine = page.evaluate(POINTS_IN_JS, [chart.element_handle(), lo, hi])
    assert fine >= 395  # every step of the window: 400 raw points
    api.post(f"/api/v1/sweeps/{created.json()['id']}/cancel")


def _perplexity_summary(value: float, sparsity: float, **extra: Any) -> dict[str, Any]:
    """A summary whose primary metric is perplexity (lower is better) against a 10.0 baseline."""
    return {
        "metric": {"name": "perplexity", "goal": "min", "value": value, "baseline": 10.0,
                   "drop": value - 10.0},
        "metrics": {"perplexity": value, "loss": round(value / 10, 4)},
        "baseline_metrics": {"perplexity": 10.0, "loss": 1.0},
        "sparsity": sparsity, "params_total": 1000, "params_nonzero": round(1000 * (1 - sparsity)),
        "size_bytes": {"dense_fp32": 4000, "stored": round(4000 * (1 - sparsity)) + 100},
        "macs": {"dense": 1000, "effective": round(1000 * (1 - sparsity))},
        **extra,
    }


def test_a_sweep_judged_by_perplexity_names_it_on_the_sweep_and_run_pages(
        page: Page, seeded: dict[str, Any], api: httpx.Client) -> None:
    spec = {**yaml.safe_load(GOOD_SPEC), "name": "e2e-perplexity", "seeds": [0]}
    created = api.post("/api/v1/sweeps", json=spec)
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]
    runs = api.get("/api/v1/runs", params={"sweep_id": sweep_id}).json()["items"]
    baseline = next(r for r in runs if r["kind"] == "baseline")
    low, high = sorted((r for r in runs if r["kind"] != "baseline"),
                       key=lambda r: "0.9" in r["variant"])

    # Opened while every run is queued: no summary says which metric there is yet.
    page.goto(f"/sweeps/{sweep_id}")
    table = page.get_by_test_id("runs-table")
    expect(table).to_have_attribute("data-rows", "3")
    expect(page.get_by_text("live", exact=True)).to_be_visible()

    # A failed cancel is shown, not dropped.
    page.route(f"**/api/v1/sweeps/{sweep_id}/cancel", lambda route: route.fulfill(
        status=409, content_type="application/problem+json",
        body=json.dumps({"type": "about:blank", "title": "Conflict", "status": 409,
                         "detail": "the sweep is ending"})))
    page.get_by_role("button", name="Cancel sweep").click()
    expect(page.get_by_role("alert").filter(has_text="Cancel failed")).to_contain_text(
        "the sweep is ending")
    page.unroute(f"**/api/v1/sweeps/{sweep_id}/cancel")

    sensitivity = {"levels": [0.5, 0.9], "layers": {"fc1": [10.2, 13.0], "fc2": [10.1, 11.0]},
                   "dense_value": 10.0, "metric": "perplexity", "goal": "min"}
    complete_run(api, baseline["id"], _perplexity_summary(10.0, 0.0))
    complete_run(api, low["id"], _perplexity_summary(10.5, 0.5))
    # A quantization block of the new kind: fp32 metrics, no fp32_accuracy.
    quantization = {"mode": "ptq_static", "runtime": "onnxruntime",
                    "fp32_metrics": {"perplexity": 13.5, "loss": 1.35}}
    complete_run(api, high["id"], _perplexity_summary(14.25, 0.9, sensitivity=sensitivity,
                                                      quantization=quantization),
                 curves={"val/perplexity": [(0, 20.0), (1, 14.25)],
                         "train/loss": [(0, 3.0), (1, 2.6)]})

    # The summaries arrive over live updates: the axes and columns follow, without a reload.
    chart = page.get_by_test_id("pareto-chart")
    expect(chart).to_have_attribute("data-y", "perplexity")
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Pareto chart: perplexity against"))
    expect(chart).to_have_attribute("data-points", "3")
    header = table.get_by_role("button", name="perplexity", exact=True)
    expect(header).to_be_visible()
    expect(table).to_contain_text("14.25")  # a plain number, not a percentage
    expect(table).to_contain_text("+4.25")
    expect(page.get_by_test_id("sensitivity-metric")).to_contain_text("lower is better")
    # lower is better: the first click sorts best (lowest) first
    header.click()
    expect(page).to_have_url(re.compile(r"sort=summary\.metric\.value"))
    expect(table.get_by_role("row").first).to_contain_text(baseline["variant"])

    page.goto(f"/runs/{high['id']}")
    cards = page.get_by_test_id("summary-cards")
    expect(cards).to_contain_text("perplexity drop")
    expect(cards).to_contain_text("14.25")
    expect(cards).to_contain_text("lower is better")
    expect(page.get_by_test_id("metrics-table")).to_contain_text("loss")
    quantized = page.get_by_test_id("quantization")
    expect(quantized).to_contain_text("perplexity (primary)")
    expect(quantized).to_contain_text("13.5")  # fp32
    expect(quantized).to_contain_text("+0.75")  # int8 against fp32, lower is better
    expect(page.get_by_test_id("curve-val/perplexity")).to_have_attribute("data-lines", "1")
    expect(page.get_by_test_id("curve-val/accuracy")).to_have_count(0)
    _every_control_is_labelled(page)
