"""The project's Markdown as a newcomer reads it: no placeholder left, no relative link to nowhere."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").rglob("README.md")])
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")  # a line such as ACCURACY_SECTION, left to be filled in
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_has_no_placeholder_line(page: Path):
    lines = [n for n, line in enumerate(page.read_text().splitlines(), 1) if PLACEHOLDER.match(line.strip())]
    assert lines == [], f"{page.name}: placeholder on line(s) {lines}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_pages_relative_links_reach_a_file(page: Path):
    targets = [t.split("#")[0] for t in LINK.findall(page.read_text())]
    missing = [t for t in targets if t and "://" not in t and not t.startswith("mailto:")
               and not (page.parent / t).exists()]
    assert missing == [], f"{page.name}: links to missing files {missing}"
