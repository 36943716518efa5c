"""Figures (matplotlib, the optional `plot` extra; imported only when a figure is drawn)."""
