"""A XenAPI server (XML-RPC and JSON-RPC) over xenlight_py."""
