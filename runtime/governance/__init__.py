"""Module `governance`: referenda carrying one runtime call, voted by four houses, enacted after a delay."""
