"""How README code blocks and their not-run markers are found."""

from __future__ import annotations

from pathlib import Path

from tests.readme.blocks import read_blocks

MARKDOWN = """# Title

Indented:

    modelship serve \\
        --model_name mnist   # a comment
    # a comment line
    curl localhost:8501

<!-- not-run: needs a cluster -->
```sh
kubectl apply -k deploy/k8s
```

<!-- an ordinary comment -->
```python
print("hello")
```

<!-- not-run: only the next block -->

Some text between.

```text
plain
```
"""


def test_finds_indented_and_fenced_blocks_with_their_markers(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(MARKDOWN)
    indented, kubectl, python, text = read_blocks(path)
    assert (indented.line, indented.info, indented.not_run) == (5, "", None)
    assert indented.commands() == [
        "modelship serve --model_name mnist   # a comment",
        "curl localhost:8501",
    ]
    assert (kubectl.line, kubectl.info, kubectl.not_run) == (11, "sh", "needs a cluster")
    assert kubectl.first_line == "kubectl apply -k deploy/k8s"
    assert (python.info, python.not_run) == ("python", None)
    # a marker separated from the block by a paragraph does not mark it
    assert (text.first_line, text.not_run) == ("plain", None)


def test_the_readme_has_blocks() -> None:
    blocks = read_blocks()
    assert len(blocks) > 10
    assert all(block.first_line for block in blocks)
