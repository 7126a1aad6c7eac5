"""Rules: stack (being written)."""

from __future__ import annotations
