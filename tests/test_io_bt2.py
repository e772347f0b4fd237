"""Beddit BT2 raw packet stream decoding."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepsignal.errors import DecodeError, SignalError
from sleepsignal.io import read_bt2, write_bt2

PACKET = 6 + 28 * 4 + 4  # header + 28 samples x 2 channels x 2 bytes + CRC


def _samples(n: int = 280, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (n, 2)).astype(np.uint16)


def test_packet_layout_matches_spec() -> None:
    # uint32 number, uint16 length, payload, uint32 CRC-32 over header and payload
    raw = write_bt2(np.array([[1, 2], [3, 4]], np.uint16), samples_per_packet=2)
    head = struct.pack("<IH", 0, 8)
    payload = struct.pack("<4H", 1, 2, 3, 4)
    assert raw == head + payload + struct.pack("<I", zlib.crc32(head + payload))


def test_clean_stream_round_trip() -> None:
    x = _samples()
    s = read_bt2(write_bt2(x))
    assert np.array_equal(s.samples, x) and s.valid.all()
    assert s.issues == () and s.gaps == () and s.n_packets == 10 and s.first_packet_number == 0
    assert not s.samples.flags.writeable


def test_channels_are_deinterleaved() -> None:
    x = _samples()
    s = read_bt2(write_bt2(x))
    assert np.array_equal(s.channel(0), x[:, 0].astype(np.float32))
    assert np.array_equal(s.channel(1), x[:, 1].astype(np.float32))
    with pytest.raises(SignalError, match="channel 2 does not exist"):
        s.channel(2)


def test_lost_packets_become_a_gap_not_a_splice() -> None:
    x = _samples()
    raw = write_bt2(x)
    cut = raw[: 3 * PACKET] + raw[5 * PACKET :]  # packets 3 and 4 lost
    s = read_bt2(cut)
    assert [i.kind for i in s.issues] == ["lost"]
    assert s.issues[0].byte_offset == 3 * PACKET
    assert s.gaps[0] == (84, 56, 3, 2)
    assert len(s.samples) == len(x)  # time base kept
    assert not s.valid[84:140].any() and s.valid[:84].all() and s.valid[140:].all()
    assert np.array_equal(s.samples[140:], x[140:])
    assert np.isnan(s.channel(0)[84:140]).all()
    with pytest.raises(DecodeError, match=f"byte {3 * PACKET}.*lost"):
        read_bt2(cut, strict=True)


def test_bad_crc_is_reported_with_offset_and_skipped() -> None:
    x = _samples()
    raw = bytearray(write_bt2(x))
    raw[2 * PACKET + 20] ^= 0x40
    s = read_bt2(bytes(raw))
    assert [i.kind for i in s.issues] == ["crc", "lost"]
    assert s.issues[0].byte_offset == 2 * PACKET and s.issues[0].packet_number == 2
    assert s.gaps[0].first_packet == 2 and s.gaps[0].n_packets == 1
    assert np.array_equal(s.samples[84:], x[84:])
    with pytest.raises(DecodeError, match=f"byte {2 * PACKET}: CRC-32 mismatch"):
        read_bt2(bytes(raw), strict=True)


def test_truncated_tail() -> None:
    raw = write_bt2(_samples())
    s = read_bt2(raw[:-7])
    assert [i.kind for i in s.issues] == ["truncated"]
    assert s.issues[0].byte_offset == 9 * PACKET
    assert len(s.samples) == 252
    with pytest.raises(DecodeError, match="truncated|declares"):
        read_bt2(raw[:-7], strict=True)
    assert read_bt2(raw[:3]).issues[0].kind == "truncated"


def test_empty_stream_and_bad_arguments() -> None:
    s = read_bt2(b"")
    assert s.samples.shape == (0, 2) and s.issues == ()
    with pytest.raises(SignalError):
        read_bt2(b"", channels=0)
    with pytest.raises(SignalError):
        write_bt2(np.array([-1, 2]))


def test_capture_starting_mid_stream_and_file_input(tmp_path) -> None:
    raw = write_bt2(_samples(), first_packet_number=1000)
    path = tmp_path / "cap.bt2"
    path.write_bytes(raw)
    s = read_bt2(path)
    assert s.first_packet_number == 1000 and s.issues == ()


def test_to_session_keeps_gap_as_nan() -> None:
    x = _samples(28 * 10)
    raw = write_bt2(x)
    s = read_bt2(raw[: 3 * PACKET] + raw[4 * PACKET :])
    session = s.to_session(140.0, start=1e9)
    data = session.sampled_tracks["normal"].data
    assert data.dtype == np.float32 and np.isnan(data[84:112]).all()
    clean = read_bt2(raw).to_session(140.0, start=1e9)
    assert clean.sampled_tracks["normal"].data.dtype == np.uint16


@given(
    n=st.integers(0, 200),
    spp=st.integers(1, 40),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 200),
    drop=st.tuples(st.integers(0, 10**6), st.integers(0, 300)),
)
def test_any_corruption_is_reported_never_a_crash(n, spp, edits, cut, drop) -> None:
    x = _samples(n, seed=n)
    clean = write_bt2(x, samples_per_packet=spp)
    raw = bytearray(clean)
    for pos, value in edits:
        if raw:
            raw[pos % len(raw)] = value
    if raw:
        a = drop[0] % len(raw)
        del raw[a : a + drop[1]]
    raw = raw[: max(0, len(raw) - cut)]
    s = read_bt2(bytes(raw))
    assert s.samples.shape[1] == 2 and len(s.valid) == len(s.samples)
    if bytes(raw) != clean:
        # Whatever changed, either it was reported or the decoded data are exact.
        good = s.samples[s.valid]
        assert s.issues or np.array_equal(good, x[: len(good)])
    else:
        assert s.issues == () and np.array_equal(s.samples, x)


def test_loss_across_the_packet_number_wrap() -> None:
    x = _samples(28 * 8)
    raw = write_bt2(x, first_packet_number=0xFFFFFFFC)  # numbers FFFFFFFC..3
    cut = raw[: 2 * PACKET] + raw[4 * PACKET :]  # FFFFFFFE and FFFFFFFF lost
    s = read_bt2(cut)
    assert [i.kind for i in s.issues] == ["lost"]
    assert s.gaps[0] == (56, 56, 0xFFFFFFFE, 2)
    assert s.valid.sum() == 28 * 6 and np.array_equal(s.samples[112:], x[112:])


def test_sensor_restart_is_a_discontinuity_not_a_loss() -> None:
    a, b = _samples(28 * 5, seed=1), _samples(28 * 5, seed=2)
    raw = write_bt2(a, first_packet_number=100000) + write_bt2(b)  # restart at 0
    s = read_bt2(raw)
    assert [i.kind for i in s.issues] == ["discontinuity"]
    assert s.valid.all() and len(s.samples) == 280  # everything that arrived is kept
    assert s.segments() == [(0, 140), (140, 280)]
    with pytest.raises(DecodeError, match="segments"):
        s.to_session(140.0, start=0.0)
    with pytest.raises(DecodeError, match="jump"):
        read_bt2(raw, strict=True)


def test_late_duplicate_packet_is_dropped_and_decoding_goes_on() -> None:
    x = _samples(28 * 6)
    raw = write_bt2(x)
    dup = raw[: 4 * PACKET] + raw[2 * PACKET : 3 * PACKET] + raw[4 * PACKET :]
    s = read_bt2(dup)
    assert [i.kind for i in s.issues] == ["out_of_order"]
    assert np.array_equal(s.samples, x) and s.valid.all()


def test_garbage_tail_is_unreadable() -> None:
    raw = write_bt2(_samples(56)) + bytes(40)  # zero length field, CRC mismatch
    s = read_bt2(raw)
    assert s.issues[-1].kind == "unreadable" and len(s.samples) == 56


class _ReadGives:
    """A file-like object whose read() gives ``got``."""

    def __init__(self, got: object) -> None:
        self.got = got

    def read(self) -> object:
        return self.got


def test_read_bt2_one_buffer_rule_direct_and_from_read() -> None:
    """A buffer of 1-byte items (uint8, int8, array('B'), memoryview) is the stream
    whether passed directly or given by read(); a wider one (uint16: samples, not the
    stream) or a bool one is a DecodeError both ways (read() decoded a uint16 array's
    raw bytes while the same array passed directly was refused; bool was accepted)."""
    import array

    data = write_bt2(_samples(140), samples_per_packet=28)
    want = read_bt2(data).channel(0)
    raw = np.frombuffer(data, np.uint8)
    good = [raw, raw.view(np.int8), array.array("B", data), memoryview(data), bytearray(data)]
    for buf in good:
        np.testing.assert_array_equal(read_bt2(buf).channel(0), want)
        np.testing.assert_array_equal(read_bt2(_ReadGives(buf)).channel(0), want)
    wide = raw[: len(raw) // 2 * 2].view(np.uint16)
    bad = [wide, memoryview(wide), raw.astype(bool), array.array("H", wide.tobytes())]
    for buf in bad:
        with pytest.raises(DecodeError, match=r"buffer of bytes \(items of 1 byte, not bool\)"):
            read_bt2(buf)
        with pytest.raises(DecodeError, match=r"read\(\) must give bytes or a buffer of bytes"):
            read_bt2(_ReadGives(buf))
