"""`narrator voices`: the catalogue as a table."""

from __future__ import annotations

import voices


def run(args) -> int:
    catalogue = voices.load_catalogue()
    rows = [("ID", "NAME", "GENDER", "ENGINE", "LANG", "INSTALLED")]
    for voice in catalogue.voices:
        rows.append((voice.id, voice.name, voice.gender, voice.engine, voice.language,
                     "yes" if voice.installed else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for alias, target in sorted(catalogue.aliases.items()):
        print(f"alias {alias} -> {target}")
    return 0
