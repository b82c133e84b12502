"""Instrument exports: cell counter and flow cytometer files read into quantities of the one unit registry."""
