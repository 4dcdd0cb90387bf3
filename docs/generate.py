"""Rewrite the docs made from the code and the benchmark files, or check them.

    python docs/generate.py           # rewrite the pages below
    python docs/generate.py --check   # exit 1 naming each stale page, writing nothing

Whole pages: the CLI, config and bad-input references. Regions of hand-written pages (and of README.md):
the text between `<!-- generated: NAME -->` and `<!-- /generated -->` is the table `NAME` of
`bench_tables.TABLES`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS)]  # the project's packages, and this folder's modules

from bench_tables import TABLES  # noqa: E402
from reference_pages import bad_inputs_page, cli_page, config_page  # noqa: E402

PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/config.md": config_page,
    "reliability/bad-inputs.md": bad_inputs_page,
}
REGION = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- /generated -->)", re.DOTALL)


def _fill_regions(text: str, page: Path) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise SystemExit(f"{page}: unknown generated region {name!r}; known: {', '.join(TABLES)}")
        return f"{match.group(1)}\n{TABLES[name]()}\n{match.group(4)}"

    return REGION.sub(fill, text)


def expected_pages() -> dict[Path, str]:
    """Every generated page, or page with generated regions, as it should read now."""
    pages = {DOCS / name: render() for name, render in PAGES.items()}
    for page in [*sorted(DOCS.rglob("*.md")), DOCS.parent / "README.md"]:
        if page not in pages:
            text = page.read_text()
            if REGION.search(text):
                pages[page] = _fill_regions(text, page)
    return pages


def stale_pages() -> list[str]:
    """Pages (relative to the repository) whose text differs from what the generator makes."""
    return [
        str(path.relative_to(DOCS.parent))
        for path, text in expected_pages().items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        stale = stale_pages()
        for name in stale:
            print(f"stale: {name} (run `python docs/generate.py`)", file=sys.stderr)
        return 1 if stale else 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for path, text in expected_pages().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
