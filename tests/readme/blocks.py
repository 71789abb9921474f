"""The code blocks of README.md, with the ``<!-- not-run: reason -->`` marker that may precede one.

Indented and fenced blocks are both found (markdown-it-py, CommonMark), so an example cannot
escape the tests by its formatting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

README = Path(__file__).resolve().parents[2] / "README.md"

_NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.*?)\s*-->", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One code block: where it starts, its language and text, and why it is not run (if so)."""

    line: int  # 1-based line of the opening fence (or first indented line)
    info: str  # the fence's language, "" for an indented block
    text: str
    not_run: str | None

    @property
    def first_line(self) -> str:
        return self.text.lstrip("\n").splitlines()[0] if self.text.strip() else ""

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"

    def commands(self) -> list[str]:
        """Shell commands of the block: continuation lines joined, blank and comment lines out."""
        commands: list[str] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.rstrip()
            if pending:
                line = pending + " " + line.lstrip()
                pending = ""
            elif not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
                continue
            commands.append(line.strip())
        assert not pending, f"{self.id}: a command ends with a backslash"
        return commands


def read_blocks(path: Path = README) -> list[Block]:
    """Every code block of the Markdown file at ``path``, in order."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    blocks: list[Block] = []
    for i, token in enumerate(tokens):
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        previous = tokens[i - 1] if i else None
        marker = None
        if previous is not None and previous.type == "html_block":
            found = _NOT_RUN.search(previous.content)
            marker = found.group("reason") if found else None
        info = token.info.strip().split(" ")[0] if token.type == "fence" else ""
        blocks.append(Block(token.map[0] + 1, info, token.content, marker))
    return blocks
