"""MPEG audio Layer III frames and the Xing/LAME info frame, read and written at byte level.

Our own code, because no maintained library does this part: mutagen reads the first frame's
Xing header but skips the LAME tag (encoder delay and padding) unless its version string starts
with "LAME", which ffmpeg's "Lavc…" does not; it can neither walk frames nor write an info frame.
Joining MP3 segments without decoding needs all three, and the format is small and fixed
(ISO/IEC 11172-3 frame headers; the Xing header and LAME tag as LAME's VbrTag.c writes them).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
"""By the header's version bits: MPEG-1 (3), MPEG-2 (2), MPEG-2.5 (0)."""
BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
"""kbit/s by bitrate index, Layer III; MPEG-2.5 uses MPEG-2's."""
LAME_VERSION = b"LAME3.100"
"""The encoder string of the info frame we write: it is what encodes the audio (ffmpeg's
libmp3lame), and readers such as mutagen honour the delay and padding only after "LAME"."""
XING_FLAGS = 0x0F
"""Frames, bytes, TOC and quality fields present."""
LAME_TAG_SIZE = 36
CRC_BYTES = 190
"""The LAME tag CRC covers the info frame's first 190 bytes (with the CRC field zeroed)."""


class FrameError(ValueError):
    """Bytes that are not the MPEG Layer III stream we expected."""


@dataclass(frozen=True)
class FrameHeader:
    """The fields of a 4-byte Layer III frame header that decide frame size and layout."""

    version: int
    rate: int
    bitrate: int
    """kbit/s."""
    padded: bool
    protected: bool
    """A 16-bit CRC follows the header."""
    channels: int

    @property
    def samples(self) -> int:
        """PCM samples per channel in one frame."""
        return 1152 if self.version == 3 else 576

    @property
    def length(self) -> int:
        """Bytes in the frame, header included."""
        return self.samples // 8 * self.bitrate * 1000 // self.rate + self.padded

    @property
    def side_info(self) -> int:
        """Bytes of side information after the header (and CRC)."""
        if self.version == 3:
            return 17 if self.channels == 1 else 32
        return 9 if self.channels == 1 else 17

    @property
    def xing_offset(self) -> int:
        """Where a Xing/Info header sits inside the frame."""
        return 4 + 2 * self.protected + self.side_info


def parse_header(data: bytes | memoryview, offset: int = 0) -> FrameHeader:
    """The Layer III frame header at `offset`, or FrameError."""
    if len(data) < offset + 4:
        raise FrameError(f"truncated frame header at byte {offset}")
    word = struct.unpack_from(">I", data, offset)[0]
    version, layer = (word >> 19) & 3, (word >> 17) & 3
    bitrate_index, rate_index = (word >> 12) & 15, (word >> 10) & 3
    if word >> 21 != 0x7FF or version == 1 or layer != 1 or bitrate_index in (0, 15) \
            or rate_index == 3:
        raise FrameError(f"no MPEG Layer III frame header at byte {offset}")
    return FrameHeader(version, SAMPLE_RATES[version][rate_index],
                       BITRATES[3 if version == 3 else 2][bitrate_index],
                       bool(word >> 9 & 1), not word >> 16 & 1, 1 if (word >> 6) & 3 == 3 else 2)


def frame_offsets(data: bytes | memoryview) -> tuple[list[int], set[int]]:
    """Start of every frame in a run of frames that fills `data` exactly, and the set of
    bitrates they use (one bitrate: a constant-bitrate stream)."""
    offsets, bitrates, position = [], set(), 0
    while position < len(data):
        header = parse_header(data, position)
        offsets.append(position)
        bitrates.add(header.bitrate)
        position += header.length
    if position != len(data):
        raise FrameError("the last frame is truncated")
    return offsets, bitrates


def main_data_begin(data: bytes | memoryview, offset: int = 0) -> int:
    """How many bytes of earlier frames this frame's audio data starts in (the bit reservoir).

    A frame that can be the first after a join must say 0, or it would decode bytes of the
    segment before it.
    """
    header = parse_header(data, offset)
    start = offset + 4 + 2 * header.protected
    bits = 9 if header.version == 3 else 8
    return struct.unpack_from(">H", data, start)[0] >> (16 - bits)


@dataclass(frozen=True)
class InfoFrame:
    """What an encoder's Xing/Info frame says about the frames after it."""

    header: FrameHeader
    frames: int
    """Audio frames after the info frame."""
    delay: int
    """Samples the encoder added before the audio (the LAME tag's value, without the decoder's
    529, which every decoder adds itself)."""
    padding: int
    """Samples of padding after the audio in the last frame(s), as the LAME tag stores them."""
    music_crc: int
    """CRC-16 of all audio frames."""


def read_info_frame(data: bytes | memoryview) -> InfoFrame:
    """The Xing/Info frame that starts `data` with its LAME tag, or FrameError."""
    header = parse_header(data)
    at = header.xing_offset
    if bytes(data[at:at + 4]) not in (b"Info", b"Xing"):
        raise FrameError("the MP3 does not start with a Xing/Info frame")
    flags = struct.unpack_from(">I", data, at + 4)[0]
    if flags & 0x7 != 0x7:
        raise FrameError("the info frame lacks its frame count, byte count or TOC")
    frames = struct.unpack_from(">I", data, at + 8)[0]
    lame = at + 8 + 4 + 4 + 100 + 4 * bool(flags & 8)
    if header.length < lame + LAME_TAG_SIZE:
        raise FrameError("the info frame has no LAME tag")
    packed = int.from_bytes(data[lame + 21:lame + 24], "big")
    music_crc = struct.unpack_from(">H", data, lame + 32)[0]
    return InfoFrame(header, frames, packed >> 12, packed & 0xFFF, music_crc)


def build_info_frame(header: FrameHeader, offsets: list[int], total_bytes: int, *, delay: int,
                     padding: int, music_crc: int, constant: bool) -> bytes:
    """An info frame (Xing header plus LAME tag) for `len(offsets)` audio frames.

    `offsets` are where the audio frames start, counted from the start of this info frame, and
    `total_bytes` is the info frame plus all audio frames. The TOC maps each percent of the
    duration to its byte position, so players seek exactly; "Info" marks a constant bitrate.
    """
    if not 0 <= delay < 4096 or not 0 <= padding < 4096:
        raise FrameError(f"delay {delay} or padding {padding} does not fit the LAME tag")
    frame = bytearray(header.length)
    frame[:4] = _header_bytes(header)
    at = header.xing_offset
    frames = len(offsets)
    toc = bytes(min(255, offsets[min(frames - 1, frames * i // 100)] * 256 // total_bytes)
                if frames else 0 for i in range(100))
    xing = (b"Info" if constant else b"Xing") + struct.pack(">III", XING_FLAGS, frames,
                                                             total_bytes) + toc + bytes(4)
    lame = bytearray(LAME_TAG_SIZE)
    lame[:9] = LAME_VERSION
    lame[9] = 1 if constant else 0  # tag revision 0, VBR method: 1 = constant bitrate
    lame[20] = min(255, header.bitrate)
    lame[21:24] = (delay << 12 | padding).to_bytes(3, "big")
    struct.pack_into(">IH", lame, 28, total_bytes, music_crc)
    frame[at:at + len(xing)] = xing
    frame[at + len(xing):at + len(xing) + LAME_TAG_SIZE] = lame
    if len(xing) + LAME_TAG_SIZE + at > len(frame):
        raise FrameError(f"a {header.bitrate} kbit/s frame is too small for the info tag")
    crc_at = at + len(xing) + LAME_TAG_SIZE - 2
    struct.pack_into(">H", frame, crc_at, crc16(bytes(frame[:CRC_BYTES])))
    return bytes(frame)


def _header_bytes(header: FrameHeader) -> bytes:
    """The 4 header bytes for `header` without padding or CRC (an info frame needs neither)."""
    rates = SAMPLE_RATES[header.version]
    bitrates = BITRATES[3 if header.version == 3 else 2]
    word = (0x7FF << 21 | header.version << 19 | 1 << 17 | 1 << 16
            | bitrates.index(header.bitrate) << 12 | rates.index(header.rate) << 10
            | (3 if header.channels == 1 else 0) << 6)
    return struct.pack(">I", word)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC (LAME's and ffmpeg's AV_CRC_16_ANSI_LE), byte by byte: for small inputs."""
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def crc16_combine(first: int, second: int, second_length: int) -> int:
    """CRC-16/ARC of A+B from crc(A), crc(B) and len(B), without reading either.

    With a zero initial value the CRC is linear, so crc(A+B) = crc(A followed by len(B) zero
    bytes) ^ crc(B); the zero bytes act on the 16-bit register as a GF(2) matrix, raised to
    the power len(B) by squaring (as zlib's crc32_combine does). This keeps the music CRC of a
    join at a few microseconds instead of a pass over megabytes in Python.
    """
    # Columns of the matrix that feeds one zero byte: the image of each register bit.
    step = [_TABLE[(1 << bit) & 0xFF] ^ ((1 << bit) >> 8) for bit in range(16)]
    register, power, n = first, step, second_length
    while n:
        if n & 1:
            register = _apply(power, register)
        power = [_apply(power, column) for column in power]
        n >>= 1
    return register ^ second


def _apply(matrix: list[int], vector: int) -> int:
    out = 0
    for bit in range(16):
        if vector >> bit & 1:
            out ^= matrix[bit]
    return out
