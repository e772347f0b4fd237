"""Decoders and writers: Beddit Session JSON + blobs, and the Beddit sensor's BT2 stream."""

from __future__ import annotations

from .beddit import (
    BlobFile,
    open_blob,
    query_sessions,
    read_session,
    read_sessions,
    session_from_dict,
    session_to_dict,
    write_session,
    write_sessions,
)
from .bt2 import Bt2Gap, Bt2Issue, Bt2Stream, read_bt2, write_bt2

__all__ = [
    "BlobFile",
    "Bt2Gap",
    "Bt2Issue",
    "Bt2Stream",
    "open_blob",
    "query_sessions",
    "read_bt2",
    "read_session",
    "read_sessions",
    "session_from_dict",
    "session_to_dict",
    "write_bt2",
    "write_session",
    "write_sessions",
]
