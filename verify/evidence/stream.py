"""A subunit v2 writer that redacts before it encodes.

A subunit v2 stream is binary: every packet starts with 0xB3 and carries its
own length and CRC32, so redacting the encoded bytes (or decoding them as
text) corrupts every packet. Secrets live in the test ids and in the
attachments (tracebacks, logs); those are redacted here, on the way in.
"""

from __future__ import annotations

from typing import BinaryIO

import subunit
import testtools

from verify.redact import redact


class RedactingStreamResult(testtools.StreamResult):
    """Forwards status events to a subunit v2 encoder with secrets masked.

    An attachment may arrive in chunks and a secret may straddle two of
    them, so each (test, file) attachment is held until its eof and then
    redacted whole.
    """

    def __init__(self, stream: BinaryIO):
        super().__init__()
        self._out = subunit.StreamResultToBytes(stream)
        self._pending: dict[tuple, bytearray] = {}

    def status(self, test_id=None, test_status=None, test_tags=None, runnable=True,
               file_name=None, file_bytes=None, eof=False, mime_type=None,
               route_code=None, timestamp=None) -> None:
        test_id = redact(test_id) if test_id else test_id
        if file_name is not None:
            key = (test_id, file_name, route_code)
            buf = self._pending.setdefault(key, bytearray())
            buf += file_bytes or b""
            if not eof:
                if test_status is None:
                    return      # held until the attachment is complete
                # a status rides on this chunk: send it without the bytes
                self._out.status(test_id=test_id, test_status=test_status,
                                 test_tags=test_tags, runnable=runnable,
                                 route_code=route_code, timestamp=timestamp)
                return
            data = bytes(self._pending.pop(key))
            file_bytes = _redact_attachment(data, mime_type)
        self._out.status(test_id=test_id, test_status=test_status, test_tags=test_tags,
                         runnable=runnable, file_name=file_name, file_bytes=file_bytes,
                         eof=eof, mime_type=mime_type, route_code=route_code,
                         timestamp=timestamp)

    def stopTestRun(self) -> None:
        # an attachment cut short (an interrupted run) is still written, redacted
        for (test_id, file_name, route_code), data in self._pending.items():
            self._out.status(test_id=test_id, file_name=file_name,
                             file_bytes=_redact_attachment(bytes(data), None), eof=True,
                             route_code=route_code)
        self._pending.clear()
        super().stopTestRun()


def _redact_attachment(data: bytes, mime_type: str | None) -> bytes:
    """Attachments the harness writes are text; one that is not valid UTF-8
    is replaced by a note rather than written unredacted."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return (f"[{len(data)} bytes of non-UTF-8 data ({mime_type or 'no mime type'}) "
                "left out: it cannot be redacted]").encode()
    return redact(text).encode("utf-8")
