"""The node: chain (block import and authoring), transaction pool, signature checks, service wiring."""
