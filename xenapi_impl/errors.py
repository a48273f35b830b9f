"""XenAPI failures: what a client receives as ErrorDescription [code, params...]."""
from __future__ import annotations


class XenAPIError(Exception):
    """A failure with a XenAPI error code and its string parameters (see xenapi-errors.json)."""

    def __init__(self, code: str, *params: object) -> None:
        self.code = code
        self.params = [p if isinstance(p, str) else str(p) for p in params]
        super().__init__(code, *self.params)

    @property
    def description(self) -> list[str]:
        """The ErrorDescription list sent on the wire."""
        return [self.code, *self.params]

    def __str__(self) -> str:
        return f"{self.code} {self.params}"
