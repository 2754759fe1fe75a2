"""Pilot of the care manager: design it (power by simulation), then measure what it changed."""
from __future__ import annotations

from .groups import home_block, home_blocks

__all__ = ["home_block", "home_blocks"]
