"""The few bytes of protobuf wire format the service reads and writes by hand (protobuf's encoding guide).

Only what public messages need here: varints (wire type 0) and length-delimited fields
(wire type 2); 64- and 32-bit fields (1, 5) are skipped when read. The reader is for
untrusted bytes: it never recurses (a caller opens one nested message at a time), and a
truncated field, a group (wire types 3 and 4) or a varint over ten bytes is ``ValueError``.
Tests read what is written here with Google's protobuf library, an independent reader.
"""

from __future__ import annotations

from collections.abc import Iterable

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 10

Field = tuple[int, int | bytes]  # field number, and its value: an int (varint) or bytes (length-delimited)


def varint(number: int) -> bytes:
    """A non-negative integer as a varint (a negative int64 is its 64-bit two's complement)."""
    number &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def varint_field(field_number: int, number: int) -> bytes:
    return varint(field_number << 3 | VARINT) + varint(number)


def bytes_field(field_number: int, value: bytes) -> bytes:
    return varint(field_number << 3 | LENGTH_DELIMITED) + varint(len(value)) + value


def message(fields: Iterable[bytes]) -> bytes:
    """A message of already-encoded fields, in the order given."""
    return b"".join(fields)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    number = 0
    for index in range(MAX_VARINT_BYTES):
        if position + index >= len(data):
            raise ValueError("truncated varint")
        byte = data[position + index]
        number |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return number, position + index + 1
    raise ValueError("varint longer than ten bytes")


def read_fields(data: bytes) -> list[Field]:
    """Every varint and length-delimited field of one message, in order; others skipped."""
    fields: list[Field] = []
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        field_number, wire_type = key >> 3, key & 7
        if field_number == 0:
            raise ValueError("field number 0")
        if wire_type == VARINT:
            number, position = _read_varint(data, position)
            fields.append((field_number, number))
        elif wire_type == LENGTH_DELIMITED:
            length, position = _read_varint(data, position)
            if position + length > len(data):
                raise ValueError("truncated field")
            fields.append((field_number, data[position : position + length]))
            position += length
        elif wire_type in (FIXED64, FIXED32):
            position += 8 if wire_type == FIXED64 else 4
            if position > len(data):
                raise ValueError("truncated field")
        else:
            raise ValueError(f"wire type {wire_type} is not read here")
    return fields


def only(fields: list[Field], field_number: int, kind: type[int] | type[bytes]) -> int | bytes | None:
    """The value of ``field_number``, of that kind; None when it is absent.

    Given twice it is unreadable: protobuf would keep the last (or merge two messages), and
    a reader that kept the first could be told one thing while the license service reads
    another. A field of the wrong wire type is unreadable too, not absent.
    """
    values = [value for number, value in fields if number == field_number]
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"field {field_number} given more than once")
    if not isinstance(values[0], kind):
        raise ValueError(f"field {field_number} has the wrong wire type")
    return values[0]
