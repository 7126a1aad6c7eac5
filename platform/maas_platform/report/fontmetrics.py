"""How wide a line of the diagram's text is, measured without asking the machine's fonts.

Graphviz sizes a node by measuring its label with whatever font the machine resolves, so the
same plan drew a different diagram on a laptop, a CI runner and a container without fonts.
The diagram instead sizes every box from these advance widths and fixes the size in the DOT
(:mod:`.diagram`), so the layout is the same wherever ``dot`` runs, and the page asks the
browser for the font the widths were taken from.

The widths are per-character advances in thousandths of an em: for each printable ASCII
character the larger of DejaVu Sans and DejaVu Serif (2.37, the ``fonts-dejavu-core`` files
in /usr/share/fonts/truetype/dejavu, read from their ``hmtx`` and ``cmap`` tables on
2026-12-03), regular and bold. Taking the larger of the two families keeps a label inside its
box whichever of them the viewer's browser ends up using (tests/test_report.py renders the
page with each). A character outside the table counts as a full em, the widest a
Latin, Greek or Cyrillic glyph of these fonts is.
"""

from __future__ import annotations

FONT_FAMILY = "DejaVu Sans,DejaVu Serif,sans-serif"
# Characters 32 (space) to 126 (~), in order.
_REGULAR = (
    "318 402 460 838 636 950 890 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 636 636 636 636 337 337 "
    "838 838 838 536 1000 722 735 765 802 730 694 799 872 395 401 747 664 1024 875 820 673 820 753 685 667 843 722 1028 "
    "712 660 695 390 337 390 838 500 500 613 640 560 640 615 370 640 644 320 310 606 320 974 644 612 640 640 478 521 "
    "402 644 592 856 592 592 527 636 337 636 838"
)
_BOLD = (
    "348 456 521 838 696 1002 903 306 473 473 523 838 380 415 380 365 696 696 696 696 696 696 696 696 696 696 400 400 "
    "838 838 838 586 1000 776 845 796 867 762 710 854 945 468 473 869 703 1107 914 871 752 871 831 722 744 872 776 "
    "1123 776 724 730 473 365 473 838 500 500 675 716 609 716 678 435 716 727 380 362 693 380 1058 727 687 716 716 527 "
    "595 478 727 652 924 645 652 582 712 365 712 838"
)
# The few characters outside ASCII the diagram writes itself.
_EXTRA_REGULAR = {"–": 500, "—": 1000, "…": 1000, "·": 318, "×": 838, "→": 838, "≤": 838}
_EXTRA_BOLD = {"–": 500, "—": 1000, "…": 1000, "·": 380, "×": 838, "→": 838, "≤": 838}
_UNKNOWN = 1000


def _table(widths: str, extra: dict[str, int]) -> dict[str, int]:
    table = {chr(32 + i): int(w) for i, w in enumerate(widths.split())}
    return {**table, **extra}


_WIDTHS = {False: _table(_REGULAR, _EXTRA_REGULAR), True: _table(_BOLD, _EXTRA_BOLD)}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in points of ``text`` set at ``size`` points (regular or bold)."""
    widths = _WIDTHS[bold]
    return sum(widths.get(ch, _UNKNOWN) for ch in text) * size / 1000
