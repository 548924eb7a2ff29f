"""Module `compute`: the compute marketplace and verified useful work."""
