"""Adapters: one small class per implementation, mapping a canonical case onto its API (see base.py)."""
