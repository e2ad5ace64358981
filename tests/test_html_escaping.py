"""Stored XSS: a partner's data (customer names, charger brand and model, its own display name) holding
markup is shown as text in every HTML page we write (the quarter report, the year overview, customer
statements, the MID scan, payout emails), rendered in headless Chromium, and no script of it runs.

Each payload would mark the page's <html> element if it ran, so a page is safe when Chromium's DOM has no
mark, no <script> and no on* handler, and its text shows the payload as typed."""

from __future__ import annotations

import csv
import email
import email.policy
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import joulo_pipelines
from joulo_pipelines import cli
from joulo_pipelines.lib import templating
from joulo_pipelines.lib.demo.world import generate_demo
from joulo_pipelines.lib.paths import DataDir
from payouts_world import issue
from test_reports import dump_dom

QUARTER, PARTNER = "2026-Q1", "voltnet"


def _payload(name: str, markup: str) -> str:
    return markup.replace("RUN", f"document.documentElement.setAttribute('data-pwned','{name}')")


NAMES = [_payload("script", "<script>RUN</script>"),
         _payload("img", '"><img src=x onerror="RUN">'),
         _payload("svg", "'><svg onload=RUN>"),
         _payload("style", "</style></title><script>RUN</script>")]
BRAND = _payload("brand", "</title><script>RUN</script>")
MODEL = _payload("model", '<img src=x onerror="RUN">')
DISPLAY_NAME = _payload("display", '</title></style>"><script>RUN</script>')
POISONED = {10: NAMES[0], 11: NAMES[1], 12: NAMES[2], 13: NAMES[3]}  # rows of the partner's customers.csv


class Page(HTMLParser):
    """What Chromium's DOM holds: every element's tag and attributes, and the text."""

    def __init__(self, dom: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self.feed(dom)
        self.text = "".join(self.chunks)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)


def assert_inert(html: Path, profile: Path, *shown: str) -> None:
    page = Page(dump_dom(html, profile))
    assert page.elements and page.elements[0][0] == "html", f"{html} did not render"
    assert "data-pwned" not in page.elements[0][1], f"a script ran in {html}: {page.elements[0][1]}"
    assert not [tag for tag, _ in page.elements if tag == "script"], f"{html} holds a <script>"
    handlers = [(tag, name) for tag, attrs in page.elements for name in attrs if name.startswith("on")]
    assert not handlers, f"{html} holds event handlers {handlers}"
    for text in shown:
        assert text in page.text, f"{html} does not show {text!r} as text"


def _rewrite_csv(path: Path, change) -> None:
    """Change rows of a dropped CSV, keeping its delivery time."""
    stat = path.stat()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        change(i, row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.utime(path, (stat.st_atime, stat.st_mtime))


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory, definitions) -> DataDir:
    """A small demo world whose partner voltnet calls itself, its customers and two chargers by markup;
    ingested, its 2026-Q1 run, booked and issued by the register, voltnet's Q1 payouts approved and its Q1
    reports written with every customer's statement (`joulo reports Q --partner P`)."""
    root = tmp_path_factory.mktemp("hostile_html") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JOULO_DATA_DIR", str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
        data_dir = DataDir(root)
        generate_demo(data_dir, scale=0.06)
        registry = yaml.safe_load(data_dir.partners_file.read_text())
        for partner in registry["partners"]:
            if partner["id"] == PARTNER:
                partner["brand"]["display_name"] = DISPLAY_NAME
        data_dir.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False, allow_unicode=True))
        inbox = data_dir.inbox / PARTNER
        _rewrite_csv(inbox / "customers.csv", lambda i, row: row.update(name=POISONED.get(i, row["name"])))
        _rewrite_csv(inbox / "charge_points.csv",
                     lambda i, row: row.update(brand=BRAND, model=MODEL) if i in POISONED else None)
        assert cli.main(["ingest"]) == 0
        assert cli.main(["run", "--quarter", QUARTER]) == 0
        issue(data_dir, QUARTER)  # only issued units are paid
        assert cli.main(["payouts", "prepare", "--partner", PARTNER, QUARTER, "--by", "preparer"]) == 0
        assert cli.main(["payouts", "approve", "--partner", PARTNER, QUARTER, "--by", "approver"]) == 0
        # the quarter run leaves statements to the dashboard: these files, and the customer table, on demand
        assert cli.main(["reports", QUARTER, "--partner", PARTNER]) == 0
        yield data_dir


def test_the_quarter_report_and_the_year_overview_show_markup_as_text(hostile_world, tmp_path):
    folder = hostile_world.exports / QUARTER / "reports" / PARTNER
    assert_inert(folder / "index.html", tmp_path / "profile", DISPLAY_NAME, *NAMES)
    assert_inert(folder / "year.html", tmp_path / "profile", DISPLAY_NAME)


def test_customer_statements_show_markup_as_text(hostile_world, tmp_path):
    folder = hostile_world.exports / QUARTER / "reports" / PARTNER / "customers"
    for i, name in POISONED.items():
        assert_inert(folder / f"VOL-C{i + 1:05d}.html", tmp_path / "profile", DISPLAY_NAME, name)


def test_the_mid_scan_shows_brand_and_model_as_text(hostile_world, tmp_path):
    page = hostile_world.exports / QUARTER / "mid_scan" / PARTNER / "mid_scan.html"
    assert_inert(page, tmp_path / "profile", f"{BRAND} {MODEL}", BRAND, MODEL)


def test_payout_emails_show_markup_as_text(hostile_world, tmp_path):
    emails = hostile_world.exports / QUARTER / "payouts" / PARTNER / "emails"
    sent = {path.stem: path for path in emails.glob("*.eml")}
    poisoned = {f"VOL-C{i + 1:05d}": name for i, name in POISONED.items() if f"VOL-C{i + 1:05d}" in sent}
    assert poisoned, "no poisoned customer got a payout email"
    for ref, name in poisoned.items():
        message = email.message_from_bytes(sent[ref].read_bytes(), policy=email.policy.default)
        page = tmp_path / f"{ref}.html"
        page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
        assert_inert(page, tmp_path / "profile", DISPLAY_NAME, name)


def test_every_jinja_environment_is_built_by_the_one_that_escapes():
    """A second way of building one is how the MID scan's template went out unescaped."""
    package = Path(joulo_pipelines.__file__).parent
    builders = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                      if re.search(r"\b(Environment|select_autoescape|Template)\(", path.read_text(encoding="utf-8")))
    assert builders == ["lib/templating.py"]
    templates = [path.name for path in package.rglob("*.j2")]
    assert {name for name in templates if not templating.environment(package).autoescape(name)} == \
        {name for name in templates if name.endswith(".txt.j2")} == {"payout_email.txt.j2", "mandate_document.txt.j2"}
