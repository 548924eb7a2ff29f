"""Module `params`: every bounded parameter with its range (from genesis); governance changes it inside the range."""
