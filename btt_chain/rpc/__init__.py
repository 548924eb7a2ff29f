"""The JSON-RPC 2.0 server: HTTP and WebSocket on one port, Substrate method names plus a `btt_` namespace."""
