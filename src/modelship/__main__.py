"""``python -m modelship`` is the ``modelship`` command."""

from modelship.cli import main

main()
