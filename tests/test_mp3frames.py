"""The frame-level MP3 reader and writer agree with ffmpeg's encoder and with a plain CRC."""

import os

import numpy as np
import pytest

from narration.audio import Audio
from narration.encode import export_mp3
from narration.mp3frames import (FrameError, build_info_frame, crc16, crc16_combine,
                                 frame_offsets, main_data_begin, parse_header, read_info_frame)


@pytest.fixture(scope="module", params=[(44100, "96k"), (44100, "64k"), (22050, "48k")])
def encoded(request, tmp_path_factory):
    rate, bitrate = request.param
    path = tmp_path_factory.mktemp("mp3") / "a.mp3"
    tone = 0.3 * np.sin(np.arange(3 * rate) * 2 * np.pi * 330 / rate)
    export_mp3(Audio(tone.astype(np.float32), rate), path, bitrate)
    return path.read_bytes(), rate


def test_the_info_frame_reads_as_ffmpeg_wrote_it(encoded):
    data, rate = encoded
    info = read_info_frame(data)
    assert info.header.rate == rate and info.header.channels == 1
    audio = data[info.header.length:]
    offsets, bitrates = frame_offsets(audio)
    assert len(offsets) == info.frames and len(bitrates) == 1
    assert info.music_crc == crc16(audio)
    assert info.frames * info.header.samples - info.delay - info.padding == 3 * rate
    assert main_data_begin(audio) == 0  # the first audio frame uses no earlier bytes


def test_a_rebuilt_info_frame_reads_back_with_a_valid_tag_crc(encoded):
    data, _ = encoded
    info = read_info_frame(data)
    length = info.header.length
    offsets, _ = frame_offsets(data[length:])
    frame = build_info_frame(info.header, [length + o for o in offsets], len(data),
                             delay=info.delay, padding=info.padding, music_crc=info.music_crc,
                             constant=True)
    assert len(frame) == length
    again = read_info_frame(frame + data[length:])
    assert again == info
    crc_at = info.header.xing_offset + 120 + 34
    blanked = frame[:crc_at] + b"\0\0" + frame[crc_at + 2:]
    assert int.from_bytes(frame[crc_at:crc_at + 2], "big") == crc16(blanked[:190])


@pytest.mark.parametrize("split", [0, 1, 2, 313, 4096, 9999])
def test_crcs_of_parts_combine_into_the_crc_of_the_whole(split):
    data = os.urandom(10_000)
    first, second = data[:split], data[split:]
    assert crc16_combine(crc16(first), crc16(second), len(second)) == crc16(data)


@pytest.mark.parametrize("data", [b"", b"\xff", b"ID3\x03\0\0\0\0\0\0", b"\xff\xfb\xf0\xc0",
                                  b"\xff\xfd\x90\xc0"])
def test_what_is_not_a_layer_3_frame_header_is_refused(data):
    with pytest.raises(FrameError):
        parse_header(data)


def test_a_truncated_last_frame_is_refused(encoded):
    data, _ = encoded
    length = read_info_frame(data).header.length
    with pytest.raises(FrameError, match="truncated"):
        frame_offsets(data[length:-5])
