"""Encoding at write time (wire/prewarm.py): the new version of a record a client was sent is
encoded right after the commit, on the loop, before anyone reads it; records no client read are
not encoded ahead."""
from __future__ import annotations

import asyncio

from xenapi_impl.store import ClassSpec, MemoryStore, new_ref, new_uuid
from xenapi_impl.wire import jsonrpc, xmlenc, xmlrpc
from xenapi_impl.wire.prewarm import Prewarmer

SPECS = [ClassSpec("VM", ("uuid", "name_label", "other_config"))]


async def _scenario() -> None:
    store = MemoryStore(SPECS)
    warm = Prewarmer()
    store.replaced_listeners.append(warm.replaced)
    read, unread = new_ref(), new_ref()
    async with store.transaction() as t:
        for ref in (read, unread):
            t.create("VM", ref, {"uuid": new_uuid(), "name_label": "a", "other_config": {}})
    xmlrpc.encode_success({read: store.get("VM", read)})        # a client reads one, in XML
    async with store.transaction() as t:
        for ref in (read, unread):
            t.update("VM", ref, {"name_label": "b & c"})
    new_read, new_unread = store.get("VM", read), store.get("VM", unread)
    await asyncio.sleep(0)          # the loop runs once: the slice after the commit
    encoded = xmlenc._MEMO.get(new_read)
    assert encoded is not None, "the new version of a read record was not encoded ahead"
    assert b"<value>b &amp; c</value>" in encoded
    assert xmlenc._MEMO.get(new_unread) is None            # nobody read it: not encoded
    assert jsonrpc._MEMO.get(new_read) is None             # read in XML only: not in JSON
    # what a read now sends is what encoding it fresh gives
    reply = xmlrpc.encode_success({read: new_read})
    xmlrpc.clear_memo()
    assert xmlrpc.encode_success({read: dict(new_read)}) == reply
    assert len(warm) == 0


def test_new_versions_of_read_records_are_encoded_ahead() -> None:
    asyncio.run(_scenario())


async def _many() -> None:
    store = MemoryStore(SPECS)
    warm = Prewarmer()
    store.replaced_listeners.append(warm.replaced)
    refs = [new_ref() for _ in range(3000)]
    async with store.transaction() as t:
        for ref in refs:
            t.create("VM", ref, {"uuid": new_uuid(), "name_label": "a",
                                 "other_config": {"k": "v" * 200}})
    jsonrpc.encode_success(jsonrpc.JsonRequest("VM.get_all_records", [], 1, "2.0"),
                           dict(store.records("VM")))
    async with store.transaction() as t:
        for ref in refs:
            t.update("VM", ref, {"name_label": "b"})
    # a big commit is encoded in slices: the loop gets control back in between
    await asyncio.sleep(0)
    assert len(warm) > 0
    while len(warm):
        await asyncio.sleep(0)
    assert all(jsonrpc._MEMO.get(store.get("VM", ref)) is not None for ref in refs)


def test_a_big_commit_is_encoded_in_slices() -> None:
    asyncio.run(_many())
