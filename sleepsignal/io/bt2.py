"""Decode the Beddit sensor's raw Bluetooth 2 (BT2) packet stream.

The stream is packets back to back with no separators. Each packet, little-endian::

    uint32 packet_number   (from 0, +1 per packet)
    uint16 payload_length  (bytes)
    payload                (interleaved uint16 PCM of the announced channels)
    uint32 crc32           (zlib.crc32 over header and payload)

The decoder checks every CRC, follows the packet numbers and de-interleaves the channels.
A lost packet (a jump in numbers) or a packet dropped for a bad CRC becomes a gap in the
time base: it is reported and its samples are marked invalid, never spliced over. A
corrupted region is skipped by searching for the next packet whose header and CRC check
out. ``strict=True`` raises :class:`~sleepsignal.errors.DecodeError` at the first
problem instead.
"""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from dataclasses import dataclass
from typing import IO, Any, Literal, NamedTuple

import numpy as np

from .._validate import is_integer
from ..errors import DecodeError, SignalError
from ..session import Session

__all__ = ["Bt2Gap", "Bt2Issue", "Bt2Stream", "read_bt2", "write_bt2"]

_HEADER = struct.Struct("<IH")
_CRC = struct.Struct("<I")
_OVERHEAD = _HEADER.size + _CRC.size
#: Largest packet-number jump accepted when re-synchronising after corruption.
MAX_RESYNC_JUMP = 1 << 16


class Bt2Issue(NamedTuple):
    """A problem found in the stream.

    Attributes
    ----------
    kind : {"crc", "truncated", "lost", "out_of_order", "bad_length", "discontinuity", \
"unreadable"}
        What went wrong: ``discontinuity`` is a jump in packet numbers too large to be a
        loss (a sensor restart); ``unreadable`` is a tail with no valid packet in it.
    byte_offset : int
        Offset in the stream where the problem starts.
    packet_number : int or None
        Packet number involved, when known.
    message : str
        Human-readable description.
    """

    kind: Literal[
        "crc", "truncated", "lost", "out_of_order", "bad_length", "discontinuity", "unreadable"
    ]
    byte_offset: int
    packet_number: int | None
    message: str


class Bt2Gap(NamedTuple):
    """Samples missing from the time base.

    Attributes
    ----------
    sample_start : int
        Index (per channel) of the first missing sample.
    n_samples : int
        Missing samples per channel (lost packets times the samples of the packet
        before the loss: packet sizes are assumed steady across a loss).
    first_packet : int
        Number of the first packet missing.
    n_packets : int or None
        Packets missing; None for a discontinuity (sensor restart), whose length is
        unknown: then ``n_samples`` is 0 and the samples before and after it are not on
        one time base (see :meth:`Bt2Stream.segments`).
    """

    sample_start: int
    n_samples: int
    first_packet: int
    n_packets: int | None


@dataclass(frozen=True, eq=False)
class Bt2Stream:
    """A decoded BT2 stream.

    Attributes
    ----------
    samples : numpy.ndarray
        ``(n_samples, n_channels)`` uint16, read-only; zero where :attr:`valid` is False.
    valid : numpy.ndarray
        ``(n_samples,)`` bool, False inside gaps.
    gaps : tuple of Bt2Gap
    issues : tuple of Bt2Issue
        Everything reported, in stream order.
    n_packets : int
        Packets decoded.
    first_packet_number : int or None
        Number of the first good packet (0 for a capture from the start).
    """

    samples: np.ndarray
    valid: np.ndarray
    gaps: tuple[Bt2Gap, ...]
    issues: tuple[Bt2Issue, ...]
    n_packets: int
    first_packet_number: int | None

    def channel(self, index: int = 0) -> np.ndarray:
        """One channel as float32 with NaN inside gaps."""
        if not 0 <= index < self.samples.shape[1]:
            raise SignalError(
                f"channel {index} does not exist; the stream has {self.samples.shape[1]}"
            )
        out = self.samples[:, index].astype(np.float32)
        out[~self.valid] = np.nan
        return out

    def segments(self) -> list[tuple[int, int]]:
        """``(start, stop)`` sample ranges that share one time base.

        One range unless the packet numbers jumped too far to place (a sensor restart):
        each discontinuity starts a new range.
        """
        cuts = [g.sample_start for g in self.gaps if g.n_packets is None]
        bounds = [0, *cuts, len(self.samples)]
        return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]

    def to_session(
        self, fs: float, *, start: float, timezone: str = "UTC", channel: int = 0
    ) -> Session:
        """A :class:`Session` with one channel as its ``normal`` track.

        Without gaps the track keeps the uint16 samples; with gaps it is float32 with
        NaN in the gaps, so that no analysis reads across a loss.

        Raises
        ------
        DecodeError
            When the stream has a discontinuity: its parts have no common time base, so
            build one session per range of :meth:`segments`.
        """
        if any(g.n_packets is None for g in self.gaps):
            raise DecodeError(
                "the BT2 stream restarts (packet numbers jump) at samples "
                f"{[g.sample_start for g in self.gaps if g.n_packets is None]}; its parts have "
                "no common time base: make one session per range of stream.segments()"
            )
        data = self.samples[:, channel] if not self.gaps else self.channel(channel)
        return Session.from_array(np.ascontiguousarray(data), fs, start=start, timezone=timezone)


def write_bt2(
    samples: np.ndarray,
    *,
    samples_per_packet: int = 28,
    first_packet_number: int = 0,
) -> bytes:
    """Encode samples as a BT2 packet stream (the inverse of :func:`read_bt2`).

    Parameters
    ----------
    samples : numpy.ndarray
        ``(n_samples, n_channels)`` or 1-D (one channel) values in the uint16 range.
    samples_per_packet : int
        Samples per channel in each packet (the last packet may hold fewer).
    first_packet_number : int
        Number of the first packet (numbers wrap at 2**32).

    Raises
    ------
    SignalError
        For samples that are not integers in the uint16 range, a non-integer
        ``first_packet_number``, or ``samples_per_packet`` outside 1 to
        ``65535 // (2 n_channels)`` (the header holds the payload length as uint16).
    """
    a = np.asarray(samples)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise SignalError(f"samples must be 1-D or (n, channels), got shape {a.shape}")
    if a.size and (a.dtype.kind not in "ui" or a.min() < 0 or a.max() > 0xFFFF):
        raise SignalError("samples must be integers in the uint16 range 0..65535")
    for name, value in (
        ("samples_per_packet", samples_per_packet),
        ("first_packet_number", first_packet_number),
    ):
        if not is_integer(value):
            raise SignalError(f"{name} must be an integer, got {value!r}")
    # the header's payload length is a uint16 (bytes): at most 65535 // (2 channels) samples
    most = 0xFFFF // (2 * max(1, a.shape[1]))
    if not 1 <= samples_per_packet <= most:
        raise SignalError(
            f"samples_per_packet must be from 1 to {most} for {a.shape[1]} channel(s) (the "
            f"packet header holds the payload length as uint16), got {samples_per_packet}"
        )
    a = np.ascontiguousarray(a, dtype="<u2")
    out = bytearray()
    for k, i in enumerate(range(0, len(a), samples_per_packet)):
        payload = a[i : i + samples_per_packet].tobytes()
        head = _HEADER.pack((first_packet_number + k) & 0xFFFFFFFF, len(payload))
        out += head + payload + _CRC.pack(zlib.crc32(head + payload))
    return bytes(out)


def _packet_at(buf: memoryview, pos: int, frame: int) -> tuple[int, int] | None:
    """(number, payload length) if a whole, CRC-valid packet starts at ``pos``."""
    if len(buf) - pos < _OVERHEAD:
        return None
    number, length = _HEADER.unpack_from(buf, pos)
    end = pos + _HEADER.size + length
    if length % frame or end + _CRC.size > len(buf):
        return None
    (crc,) = _CRC.unpack_from(buf, end)
    if zlib.crc32(buf[pos:end]) != crc:
        return None
    return number, length


_MAX_CHANNELS = 2**16  # a frame of 128 KiB: far beyond any bed sensor


def _buffer_bytes(obj: Any) -> bytes | None:
    """The bytes of a buffer of bytes (bytes, a memoryview, a numpy uint8 or int8 array,
    an mmap, an ``array('B')``), or None for anything else: a buffer whose items are
    wider than a byte (a uint16 array is samples, not the stream) or bool (True/False,
    not bytes). One rule for a buffer passed directly and one a ``read()`` returns."""
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    if view.itemsize != 1 or view.format.lstrip("@=<>!") == "?":
        return None
    return view.tobytes()


def _buffer_kind(obj: Any) -> str:
    """The type of ``obj`` for a message, with its dtype or buffer format if it has one."""
    dtype = getattr(obj, "dtype", None)
    if dtype is not None:
        return f"{type(obj).__name__} of {dtype}"
    try:
        return f"{type(obj).__name__} of format {memoryview(obj).format!r}"
    except TypeError:
        return type(obj).__name__


def read_bt2(
    stream: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
    *,
    channels: int = 2,
    strict: bool = False,
) -> Bt2Stream:
    """Decode a Beddit BT2 packet stream.

    Parameters
    ----------
    stream : bytes, buffer of bytes, path or binary file
        The captured bytes: ``bytes``/``bytearray``, any buffer of 1-byte items that
        are not bool (a ``memoryview``, a numpy ``uint8`` or ``int8`` array, an
        ``mmap``, an ``array('B')``), a path, or an object whose ``read()`` gives such
        bytes or buffer (one rule: a uint16 array is samples, refused either way).
    channels : int
        Channels interleaved in each payload, as the device's ``INFO`` reply announces
        (2 on the reference device).
    strict : bool
        Raise at the first bad CRC, truncated packet or lost packet instead of
        reporting it and going on.

    Returns
    -------
    Bt2Stream

    Raises
    ------
    DecodeError
        In strict mode, at the first problem (with its byte offset); for a path or file
        object that cannot be read (the ``OSError`` is wrapped: ``DecodeError`` is a
        ``ValueError``, not an ``OSError``) or a ``stream`` that is not bytes, a path or
        a binary file.
    SignalError
        For ``channels`` that is not an integer from 1 to 65536.

    Notes
    -----
    1. Read a header; if the packet is whole and its CRC matches, take its samples.
    2. A packet number above the expected one means lost packets: a gap of that many
       packets (sized like the packet before) is inserted and reported.
    3. A bad CRC or an impossible length drops the bytes from there until the next offset
       where a packet with a plausible number, a whole payload and a matching CRC starts.
    4. Fewer bytes than a whole packet at the end are reported as a truncated tail.
    """
    if not is_integer(channels):
        raise SignalError(f"channels must be an integer >= 1, got {channels!r}")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise SignalError(f"channels must be from 1 to {_MAX_CHANNELS}, got {channels}")
    if isinstance(stream, (bytes, bytearray)):
        data = bytes(stream)
    elif isinstance(stream, (str, os.PathLike)):
        try:
            with open(stream, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise DecodeError(f"{stream}: cannot read the bt2 stream ({exc})") from None
    elif not isinstance(stream, memoryview) and callable(getattr(stream, "read", None)):
        try:
            got = stream.read()
        except OSError as exc:  # as for a path: a read failure is a DecodeError
            raise DecodeError(f"stream: cannot read the bt2 stream ({exc})") from None
        if isinstance(got, str):
            raise DecodeError("stream must be opened in binary mode: its read() gave str")
        from_read = _buffer_bytes(got)  # the same rule as for a buffer passed directly
        if from_read is None:
            raise DecodeError(
                "stream.read() must give bytes or a buffer of bytes (items of 1 byte, not "
                f"bool), got {_buffer_kind(got)}"
            )
        data = from_read
    else:
        direct = _buffer_bytes(stream)
        if direct is None:
            raise DecodeError(
                "stream must be bytes, a buffer of bytes (items of 1 byte, not bool), a path "
                f"or a binary file object, got {_buffer_kind(stream)}"
            )
        data = direct
    buf = memoryview(data)
    frame = 2 * channels
    chunks: list[np.ndarray] = []
    valid_chunks: list[np.ndarray] = []
    gaps: list[Bt2Gap] = []
    issues: list[Bt2Issue] = []
    expected: int | None = None
    first: int | None = None
    n_samples = 0
    last_len = 0
    n_packets = 0
    pos = 0

    def report(issue: Bt2Issue) -> None:
        if strict:
            raise DecodeError(f"BT2 stream, byte {issue.byte_offset}: {issue.message}")
        issues.append(issue)

    while pos < len(buf):
        remaining = len(buf) - pos
        if remaining < _OVERHEAD:
            report(
                Bt2Issue(
                    "truncated",
                    pos,
                    None,
                    f"{remaining} trailing bytes, shorter than a packet header and CRC",
                )
            )
            break
        number, length = _HEADER.unpack_from(buf, pos)
        if length % frame:
            ok = None
            report(
                Bt2Issue(
                    "bad_length",
                    pos,
                    number,
                    f"payload length {length} is not a multiple of {frame} bytes "
                    f"({channels} uint16 channels)",
                )
            )
        elif pos + _OVERHEAD + length > len(buf):
            # Either a truncated final packet or a corrupted length field.
            resync = _find_next(buf, pos + 1, frame, expected)
            if resync is None:
                report(
                    Bt2Issue(
                        "truncated",
                        pos,
                        number,
                        f"final packet {number} declares {length} payload bytes but only "
                        f"{remaining - _OVERHEAD} remain",
                    )
                )
                break
            report(
                Bt2Issue(
                    "bad_length",
                    pos,
                    number,
                    f"packet at byte {pos} declares {length} payload bytes, past the end "
                    f"of the stream; {resync - pos} bytes skipped",
                )
            )
            pos = resync
            continue
        else:
            ok = _packet_at(buf, pos, frame)
            if ok is None:
                report(
                    Bt2Issue(
                        "crc", pos, number, f"CRC-32 mismatch in packet {number} (length {length})"
                    )
                )
        if ok is None:
            resync = _find_next(buf, pos + 1, frame, expected)
            if resync is None:
                report(
                    Bt2Issue(
                        "unreadable",
                        pos,
                        None,
                        f"no valid packet after byte {pos}; {len(buf) - pos} bytes dropped",
                    )
                )
                break
            pos = resync
            continue
        if expected is not None and number != expected:
            delta = (number - expected) & 0xFFFFFFFF  # packet numbers wrap at 2**32
            if delta > 0xFFFFFFFF - MAX_RESYNC_JUMP:
                report(
                    Bt2Issue(
                        "out_of_order",
                        pos,
                        number,
                        f"packet {number} arrived when {expected} was expected (late or "
                        "duplicate); dropped",
                    )
                )
                pos += _OVERHEAD + length
                continue
            if delta > MAX_RESYNC_JUMP:
                report(
                    Bt2Issue(
                        "discontinuity",
                        pos,
                        number,
                        f"packet numbers jump from {expected} to {number} (sensor restart or "
                        "a loss too long to place): a break of unknown length in the time base",
                    )
                )
                gaps.append(Bt2Gap(n_samples, 0, expected, None))
            else:
                gap_len = delta * (last_len or length) // frame
                report(
                    Bt2Issue(
                        "lost",
                        pos,
                        expected,
                        f"{delta} packet(s) lost ({expected}..{(number - 1) & 0xFFFFFFFF}): a "
                        f"gap of {gap_len} samples per channel",
                    )
                )
                gaps.append(Bt2Gap(n_samples, gap_len, expected, delta))
                chunks.append(np.zeros((gap_len, channels), "<u2"))
                valid_chunks.append(np.zeros(gap_len, bool))
                n_samples += gap_len
        if first is None:
            first = number
        start = pos + _HEADER.size
        payload = np.frombuffer(buf[start : start + length], dtype="<u2").reshape(-1, channels)
        chunks.append(payload)
        valid_chunks.append(np.ones(len(payload), bool))
        n_samples += len(payload)
        last_len = length
        expected = (number + 1) & 0xFFFFFFFF
        n_packets += 1
        pos += _OVERHEAD + length

    samples = np.concatenate(chunks) if chunks else np.zeros((0, channels), "<u2")
    valid = np.concatenate(valid_chunks) if valid_chunks else np.zeros(0, bool)
    samples.flags.writeable = False
    valid.flags.writeable = False
    return Bt2Stream(samples, valid, tuple(gaps), tuple(issues), n_packets, first)


def _find_next(buf: memoryview, start: int, frame: int, expected: int | None) -> int | None:
    """Offset of the next CRC-valid packet, or None.

    Packets whose number follows ``expected`` (within :data:`MAX_RESYNC_JUMP`, modulo
    2**32) are looked for first; failing that, any CRC-valid packet (a sensor restart
    during the corruption), which the caller reports as a discontinuity.
    """
    last = len(buf) - _OVERHEAD + 1
    if expected is not None:
        for p in range(start, last):
            number, _ = _HEADER.unpack_from(buf, p)
            if (number - expected) & 0xFFFFFFFF <= MAX_RESYNC_JUMP and _packet_at(buf, p, frame):
                return p
    for p in range(start, last):
        if _packet_at(buf, p, frame) is not None:
            return p
    return None
