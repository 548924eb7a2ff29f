"""Consensus rules the node applies around the runtime: slots, the leader schedule, fork choice, finality."""
