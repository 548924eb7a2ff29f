"""JSON-RPC server tests."""
