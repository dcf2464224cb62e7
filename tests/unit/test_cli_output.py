"""Text tables: user data printed as written, identifiers never cut (a narrow terminal)."""

from __future__ import annotations

import io

from rich.console import Console

from ingestry.entrypoints.cli.output import table

SRN = "srn:ingestry:record:order:harvest:customer_orders:%3Acar%3A-ORD-1001-" + "x" * 40


def test_a_narrow_terminal_folds_identifiers_instead_of_cutting_them() -> None:
    out = io.StringIO()
    narrow = Console(file=out, width=40, force_terminal=True, color_system=None,
                     highlight=False, markup=False, emoji=False)  # fmt: skip
    table("records [bold]", ["srn", "source"], [[SRN, "harvest::car:[red]x[/red]"]], out=narrow)
    text = out.getvalue()
    assert "…" not in text and "records [bold]" in text
    cells = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    assert "".join(c[0].strip() for c in cells) == SRN
    assert "".join(c[1].strip() for c in cells) == "harvest::car:[red]x[/red]"
