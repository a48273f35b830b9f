"""XML-RPC in xapi's dialect: the interface docs/CONTRACTS.md promises (decoder and encoder live
in xmldec.py and xmlenc.py)."""
from __future__ import annotations

from .xmldec import parse_request
from .xmlenc import (clear_memo, encode_bare, encode_failure, encode_success,
                     encode_success_chunks, escape, value_fragment)

__all__ = [
           "clear_memo",
           "encode_bare",
           "encode_failure",
           "encode_success",
           "encode_success_chunks",
           "escape",
           "parse_request",
           "value_fragment",
]
