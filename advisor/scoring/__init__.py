"""Scoring: units (filters, scorers, stack checks, annotators) and recommendation types.

Sits between the knowledge layer (what is known) and the stack search (which orders
candidates by score and compares stacks).
"""

from __future__ import annotations

__all__: list[str] = []
