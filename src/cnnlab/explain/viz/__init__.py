"""Figures as matplotlib Figure objects (no pyplot, no backend switch), saved as PNG by save_figure, and what
notebook objects display (display.py)."""
