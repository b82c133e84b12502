"""Every main page at the bench tablet's two sizes: nothing wider than the screen, nothing clipped, axe-clean.

Each page is opened as the role that works on it, in portrait (768x1024) and landscape (1024x768), with every
<details> opened so that what it holds is checked too. A page fails if the document is wider than the screen,
or if an element reaches past the screen's edge outside a region that scrolls on its own; if a control is
smaller than 44x44 px (links within running text excepted); and if axe-core
(axe-playwright-python, which serves it from its package) finds any serious or critical violation.
Screenshots of every page are kept in test-artifacts/ for a person to look at.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from manufacturing.core import charts
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
VIEWPORTS = {"portrait": {"width": 768, "height": 1024}, "landscape": {"width": 1024, "height": 768}}
BLOCKING = ("serious", "critical")

# Elements past the right edge that do not sit in an element scrolling on its own; the document's own width.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (e) => { for (let a = e.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a).overflowX; if (s === 'auto' || s === 'scroll' || s === 'hidden') return true; }
    return false; };
  const offenders = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > width + 1 && !scrolls(e)) {
      offenders.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} right=${Math.round(r.right)}`);
    }
  }
  return {page: document.documentElement.scrollWidth, width, offenders: offenders.slice(0, 8)};
}"""


# Controls a gloved finger must hit, smaller than 44x44 px; links inside running text are exempt (as in WCAG).
SMALL_TARGETS = """() => {
  const controls = 'a[href], button, summary, select, input:not([type=hidden]), textarea, [role=button]';
  const inText = (e) => e.tagName === 'A' && e.closest('p, li.text, .hint, small, .flash, td.prose');
  const small = [];
  for (const e of document.querySelectorAll(controls)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || inText(e) || getComputedStyle(e).visibility === 'hidden') continue;
    if (r.width < 43.5 || r.height < 43.5) {
      small.push(`${e.tagName.toLowerCase()} "${(e.innerText || e.name || e.id || '').trim().slice(0, 24)}" ` +
                 `${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""


def _pages(ward) -> dict[str, list[str]]:
    lot, dose, subject = ward.lot.id, ward.fresh.id, ward.lot.subject_id
    return {
        "tech.one": ["/", "/lots/", f"/lots/{lot}", f"/qc/lots/{lot}", f"/lots/{lot}/qc/fcs", "/lots/receive",
                     "/materials/",
                     "/deviations/", "/find?code=nothing"],
        "qa.one": ["/", "/release/", f"/release/doses/{dose}", "/release/alerts/", "/audit/", "/specs/",
                   "/reports/"],
        "pharm.one": ["/", "/pharmacy/", "/pharmacy/history", f"/pharmacy/doses/{dose}", "/subjects/",
                      f"/subjects/{subject}"],
        "admin.one": ["/", "/admin/users/"],
    }


def _open_everything(page) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_every_main_page_fits_the_tablet_and_passes_axe(new_page, ward, admin, viewport):
    pages, problems, axe, seen = _pages(ward), [], Axe(), {}
    for username, paths in pages.items():
        page = new_page()
        page.set_viewport_size(VIEWPORTS[viewport])
        log_in(page, username, PASSWORD)
        for path in paths:
            response = page.goto(path)
            assert response.status < 400, (path, response.status)
            _open_everything(page)
            layout = page.evaluate(OVERFLOW)
            if layout["page"] > layout["width"] or layout["offenders"]:
                problems.append(f"{path} as {username}: {layout['page']} px wide on {layout['width']}: "
                                f"{layout['offenders']}")
            small = page.evaluate(SMALL_TARGETS)
            if small:
                problems.append(f"{path} as {username}: {len(small)} small targets: {small[:6]}")
            found = axe.run(page).response["violations"]
            seen[f"{username} {path}"] = sorted(f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in found)
            blocking = [f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in found if v["impact"] in BLOCKING]
            if blocking:
                problems.append(f"{path} as {username}: axe {blocking}")
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
            screenshot(page, f"tablet-{viewport}-{username}-{name}")
        page.context.close()
    print(f"\naxe at {viewport}, every violation by page:\n" + "\n".join(f"{where}: {', '.join(v) or 'none'}"
                                                                     for where, v in seen.items()))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_the_growth_curve_labels_are_legible_on_the_tablet(new_page, ward, viewport):
    username, lot_id = ward.bench.technician.username, ward.lot.id
    page = new_page()
    page.set_viewport_size(VIEWPORTS[viewport])
    log_in(page, username, PASSWORD)
    page.goto(f"/lots/{lot_id}")
    shown = page.evaluate("() => document.querySelector('img.growth').getBoundingClientRect().width")
    # The lot's chart (one line, no legend) writes its text at LABEL_PT in a figure WIDTH_IN inches (72 units an
    # inch) wide, scaled to the width shown: about 7 px before, when the chart shared a row at tablet size.
    smallest = charts.LABEL_PT * shown / (charts.WIDTH_IN * 72)
    assert smallest >= 12, (shown, smallest)
