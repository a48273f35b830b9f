"""XML-RPC in xapi's dialect: the interface docs/CONTRACTS.md promises (decoder and encoder live
in xmldec.py and xmlenc.py)."""
from __future__ import annotations

from .xmldec import parse_request
from .xmlenc import clear_memo, encode_bare, encode_failure, encode_success, escape, value_fragment

__all__ = ["parse_request", "encode_success", "encode_failure", "encode_bare", "value_fragment",
           "escape", "clear_memo"]
