"""The one table format every benchmark prints: a Markdown table, numbers right-aligned."""

from __future__ import annotations


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...], right: tuple[bool, ...] | list[bool]) -> None:
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]

    def line(cells):   # strict: a row with a cell more than the header is a benchmark's bug, not a column to drop
        return "| " + " | ".join(c.rjust(w) if right[i] else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
