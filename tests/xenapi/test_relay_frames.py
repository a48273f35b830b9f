"""The RPC workers' relay framing (server/relay.py): frames of any size, read in any pieces,
come out whole and in order; large payloads are read into a buffer of their own."""
from __future__ import annotations

import random

from xenapi_impl.server import relay


def framed(frames: list[tuple[int, int, bytes]]) -> bytes:
    return b"".join(relay.HEAD.pack(k, i, len(p)) + p for k, i, p in frames)


def feed(protocol: relay.FrameProtocol, data: bytes, rng: random.Random) -> None:
    """As the event loop does: into the buffer the protocol lends, in pieces of random size."""
    at = 0
    while at < len(data):
        view = protocol.get_buffer(-1)
        assert len(view) > 0
        n = min(len(view), len(data) - at, rng.choice([1, 7, 13, 4096, 70_000, 1 << 20]))
        view[:n] = data[at:at + n]
        protocol.buffer_updated(n)
        at += n


def test_frames_of_every_size_in_any_pieces_come_out_whole_and_in_order():
    rng = random.Random(7)
    sizes = [0, 1, 12, 13, 100, relay.LARGE - 1, relay.LARGE, relay.LARGE + 1,
             relay.SCRATCH - 13, relay.SCRATCH, 3 * relay.SCRATCH + 5, 5_000_000]
    frames = [(relay.REPLY, n, rng.randbytes(size)) for n, size in enumerate(sizes * 3)]
    rng.shuffle(frames)
    for seed in range(5):
        got: list[tuple[int, int, bytes]] = []
        protocol = relay.FrameProtocol(lambda k, i, p: got.append((k, i, p)), lambda: None)
        feed(protocol, framed(frames), random.Random(seed))
        assert [(k, i, bytes(p)) for k, i, p in got] == frames
        # larger than the scratch buffer: read into a buffer of its own, handed on as it is
        large = [p for _, _, p in got if len(p) > relay.SCRATCH]
        assert large and all(type(p) is bytearray for p in large)


def test_a_large_payload_is_not_read_through_the_scratch_buffer():
    got: list[bytes] = []
    protocol = relay.FrameProtocol(lambda k, i, p: got.append(p), lambda: None)
    payload = b"x" * (4 * relay.SCRATCH)
    data = framed([(relay.REPLY, 1, payload), (relay.AGENT, 0, b"next")])
    feed(protocol, data[:relay.HEAD.size + 10], random.Random(1))
    view = protocol.get_buffer(-1)
    assert len(view) == len(payload) - 10          # the payload's own buffer, exactly the rest
    feed(protocol, data[relay.HEAD.size + 10:], random.Random(2))
    assert got == [bytearray(payload), b"next"]
