"""Value types shared by the layers above the C line (see docs/CONTRACTS.md)."""
from __future__ import annotations

from typing import Any, Iterable


class Record(dict):
    """A record as the store hands it out: treat as immutable.

    A modified object is given a new Record, never changed in place, so a Record's identity
    stands for one version of the object and encoders may memoize its encoded form
    (Records accept weak references for that).
    """

    __slots__ = ("__weakref__",)


def _refuse(self: Any, *_args: Any, **_kwargs: Any) -> Any:
    raise TypeError("a Record's values are not changed in place: copy it, then write the copy")


class FrozenEmptyMap(dict):
    """The empty map every stored Record shares (a VM has about 9 empty maps and 14 empty
    lists: one object each instead of 23 per VM saves 1.3 KB a VM). Changing it raises:
    Records are never changed in place, so nothing should try. A copy is a plain dict."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse

    def __init__(self) -> None:         # empty, always
        super().__init__()

    def __copy__(self) -> dict[Any, Any]:
        return {}

    def __deepcopy__(self, _memo: Any) -> dict[Any, Any]:
        return {}


class FrozenEmptyList(list):
    """The empty list every stored Record shares (see FrozenEmptyMap)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __init__(self) -> None:         # empty, always
        super().__init__()

    def __copy__(self) -> list[Any]:
        return []

    def __deepcopy__(self, _memo: Any) -> list[Any]:
        return []


EMPTY_MAP = FrozenEmptyMap()
EMPTY_LIST = FrozenEmptyList()


def share_empties(rec: dict[str, Any], keys: Iterable[str] | None = None) -> None:
    """Put the shared frozen empties in place of `rec`'s empty maps and lists (of `keys`
    only, if given); `rec` is new, not yet handed out."""
    for k in rec if keys is None else keys:
        v = rec[k]
        if not v:
            t = type(v)
            if t is dict:
                rec[k] = EMPTY_MAP
            elif t is list:
                rec[k] = EMPTY_LIST


class Bare:
    """A result the transport must send without the Status envelope (system.listMethods)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value
