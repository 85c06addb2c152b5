"""The report's table pages: constant settings said once, numbers to their precision, the selected
row marked, and — opened in headless Chromium with every network request refused — a table that
sorts and filters."""

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from decaylab import report_pages

SUMMARY = pd.DataFrame(
    {
        "experiment": ["grid"] * 4,
        "optimizer": ["sgd"] * 4,
        "regularization": ["l2", "l2", "decoupled", "decoupled"],
        "strength": [0.001, 0.1, 0.001, 0.1],
        "decay_rate": [0.5, float("nan"), 0.5, 0.5],  # a setting one row's kind does not have
        "validation_loss_mean": [0.123456, 0.654321, 0.2, 0.987654321],
        "validation_loss_std": [0.01, 0.02, 0.03, 0.04],
        "validation_loss_ci95": [0.004249, 0.0312, float("nan"), 0.5],
        "selected": [True, False, False, False],
        "indistinguishable": [True, False, True, pd.NA],
    }
)


def test_settings_that_never_change_are_listed_once_above_the_table():
    assert report_pages.constant_columns(SUMMARY) == ["experiment", "optimizer"]
    page = report_pages.table_page("t", "n", SUMMARY)
    assert "<dt>optimizer</dt><dd>sgd</dd>" in page
    assert report_pages.constant_columns(SUMMARY.head(1)) == []  # one row: nothing is "constant"


def test_a_mean_has_the_precision_of_its_interval():
    shown = report_pages.rounded(SUMMARY)
    # half-width 0.0042 → its second significant digit is at 1e-4: the mean to 4 decimals
    assert shown["validation_loss_mean"].tolist()[:2] == [0.1235, 0.654]  # 0.031: 3 decimals
    assert shown["validation_loss_mean"].iloc[2] == 0.2  # no interval: 4 significant digits
    assert shown["validation_loss_mean"].iloc[3] == 0.99  # half-width 0.5: two decimals
    assert shown["validation_loss_ci95"].tolist()[:2] == [0.0042, 0.031]
    assert shown["strength"].tolist() == [0.001, 0.1, 0.001, 0.1]


def test_the_selected_and_the_indistinguishable_rows_are_marked():
    marks = report_pages.marked(SUMMARY)
    assert list(marks.columns)[0] == "mark" and "selected" not in marks
    assert marks["mark"].tolist() == ["★ selected", "", "≈ indistinguishable", ""]


BROWSER_CHECK = """
<script>
function rows() {
  return [...document.querySelectorAll("table.dataTable tbody tr")].map(
    tr => [...tr.querySelectorAll("td")].map(td => td.textContent));
}
function report(result) {
  const out = document.createElement("pre"); out.id = "result";
  out.textContent = JSON.stringify(result); document.body.appendChild(out);
}
function check() {
  // a filter per column, in the header (the search box shows only above a page of rows)
  const box = document.querySelector("thead input[placeholder='regularization']");
  if (!box || !document.querySelector(".dt-container")) { setTimeout(check, 50); return; }
  const result = {loaded: rows()};
  const header = document.querySelector("thead input[placeholder='validation_loss ± 95 %']")
    .closest("th").querySelector(".dt-column-order");  // the sort arrow (filters take the rest)
  header.click();  // ascending
  setTimeout(() => {
    result.sorted = rows();
    box.value = "decoupled"; box.dispatchEvent(new Event("input", {bubbles: true}));
    box.dispatchEvent(new KeyboardEvent("keyup", {bubbles: true}));
    setTimeout(() => { result.filtered = rows(); report(result); }, 300);
  }, 300);
}
window.addEventListener("load", () => setTimeout(check, 50));
</script>
"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_page_sorts_and_filters_in_a_browser_without_a_network(tmp_path):
    page = report_pages.table_page("grid: summary", "One row per grid point.", SUMMARY)
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", page)
    (tmp_path / "page.html").write_text(page.replace("</body>", BROWSER_CHECK + "</body>"))
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--proxy-server=127.0.0.1:9",  # every network request fails
         "--virtual-time-budget=10000", "--dump-dom", (tmp_path / "page.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert len(result["loaded"]) == 4
    # mark, regularization, strength, decay rate, mean ± half-width (sorted by the mean)
    shown = [row[4] for row in result["sorted"]]
    assert shown == ["0.1235 ± 0.0042", "0.2", "0.654 ± 0.031", "0.99 ± 0.5"]
    assert [row[3] for row in result["loaded"]] == ["0.5", "—", "0.5", "0.5"]
    assert {row[1] for row in result["filtered"]} == {"decoupled"}
    assert len(result["filtered"]) == 2
