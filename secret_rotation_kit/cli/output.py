"""How the CLI prints: a table on a terminal, plain tab-separated lines when piped (no box
characters for ``grep``/``awk``), JSON with ``--json``. Progress goes to stderr so stdout stays
parseable."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Output:
    as_json: bool = False

    def __post_init__(self) -> None:
        self._stdout = Console(highlight=False, soft_wrap=True)
        self._stderr = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def terminal(self) -> bool:
        return self._stdout.is_terminal

    def line(self, text: str) -> None:
        """A human sentence: stdout normally, stderr in JSON mode (stdout is the document)."""
        (self._stderr if self.as_json else self._stdout).print(text, markup=False)

    def progress(self, text: str) -> None:
        self._stderr.print(text, markup=False) if self.as_json else self._stdout.print(text, markup=False)

    def error(self, text: str) -> None:
        self._stderr.print(f"error: {text}", markup=False)

    def document(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
        sys.stdout.flush()

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if self.terminal:
            table = Table(*columns)
            for row in rows:
                table.add_row(*row)
            self._stdout.print(table)
            return
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join(cell.replace("\n", " ") for cell in row) + "\n")
        sys.stdout.flush()
