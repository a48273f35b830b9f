"""The adapter onto xenlight_py (the only user of the binding)."""
