"""The commands the docs show, read as the tests run or check them: the fenced block after a marker such as
`<!-- commands: tour -->`, and every command of a page's `bash` blocks as an argv list (continuation lines
and quotes over several lines joined; comments, `VAR=value` prefixes and `.venv/bin/` dropped; `&&`
splits commands)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
ASSIGNMENT = re.compile(r"[A-Z_]+=\S*")
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def marked_block(page: Path, marker: str) -> str:
    """The fenced block right after `<!-- marker -->` on `page`."""
    block = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)```", page.read_text(), re.DOTALL)
    assert block, f"{page} has no block marked <!-- {marker} -->"
    return block.group(1)


def bash_blocks(page: Path) -> list[str]:
    return re.findall(r"^ *```bash\n(.*?)^ *```", page.read_text(), re.DOTALL | re.MULTILINE)


def command_lines(block: str) -> Iterator[list[str]]:
    """Each command of a shell block, as argv; `$NAME` of a variable the block sets is expanded."""
    pending, variables = "", {}
    for line in block.replace("\\\n", " ").splitlines():
        line = re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)), pending + line)
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # a quote that closes on a later line
            pending = line + "\n"
            continue
        pending = ""
        if words and all(ASSIGNMENT.fullmatch(word) for word in words):
            variables.update(word.split("=", 1) for word in words)
            continue
        command: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", "||"):
                if command:
                    yield command
                command = []
            elif command or not ASSIGNMENT.fullmatch(word):
                command.append(word.removeprefix(".venv/bin/"))
