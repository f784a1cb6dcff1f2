"""Figures (matplotlib, written to PNG files)."""
