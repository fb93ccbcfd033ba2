"""Frame codecs against published vectors, and fuzzed: arbitrary bytes never crash a decoder
and never yield a frame whose checksum is wrong."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.codecs import Rejected, chafon, em4100, kerong
from drivers.codecs.ascii_line import LineDecoder

pytestmark = pytest.mark.drivers

FUZZ = settings(max_examples=400, deadline=None)
ACTIVE_PATTERN = r"^\$ (?P<reader>[0-9A-Za-z]+) (?P<group>[0-9A-Za-z]+) (?P<tag>[0-9A-Fa-f]{4,24}) (?P<status>[0-9A-Za-z]+) (?P<rssi>-?[0-9]{1,3})$"


# ---- EM4100 -------------------------------------------------------------------------------

def test_em4100_vector_from_protocols():
    assert em4100.encode("0A00123456") == b"\x02" + b"0A00123456" + b"7A" + b"\x03"
    out = em4100.Decoder().feed(b"\x020A001234567A\x03")
    assert [f.tag for f in out] == ["0A00123456"]


def test_em4100_lower_case_hex_is_reported_upper_case():
    frame = b"\x02" + b"0a00123456" + b"7a" + b"\x03"
    assert [f.tag for f in em4100.Decoder().feed(frame)] == ["0A00123456"]


def test_em4100_bad_checksum_is_rejected_and_next_frame_still_read():
    good = em4100.encode("1234567890")
    bad = bytearray(em4100.encode("0A00123456"))
    bad[11:13] = b"00"
    out = em4100.Decoder().feed(bytes(bad) + good)
    assert isinstance(out[0], Rejected) and "checksum" in out[0].reason
    assert [f.tag for f in out if not isinstance(f, Rejected)] == ["1234567890"]


def test_em4100_resynchronises_after_garbage_and_split_reads():
    frame = em4100.encode("0A00123456")
    decoder = em4100.Decoder()
    stream = b"\xff\x00\x02\x02" + frame + b"noise" + frame
    tags = []
    for i in range(len(stream)):  # one byte at a time, as a slow UART delivers it
        tags += [f.tag for f in decoder.feed(stream[i : i + 1]) if not isinstance(f, Rejected)]
    assert tags == ["0A00123456", "0A00123456"]


def _em4100_checksum_ok(frame: bytes) -> bool:
    raw = bytes.fromhex(frame[1:13].decode())
    x = 0
    for b in raw[:5]:
        x ^= b
    return frame[0] == 2 and frame[13] == 3 and x == raw[5]


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([em4100.encode("0A00123456")]),
                          st.from_regex(rb"\A\x02[0-9A-F]{12}\x03\Z")), max_size=12))
def test_em4100_fuzz_never_crashes_and_only_checksummed_frames_pass(chunks):
    decoder = em4100.Decoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if not isinstance(item, Rejected):
                assert _em4100_checksum_ok(item.frame)
                assert item.tag == item.frame[1:11].decode().upper()


# ---- Chafon / UHFReader18 ----------------------------------------------------------------------

def test_crc16_mcrf4xx_check_value():
    assert chafon.crc16_mcrf4xx(b"123456789") == 0x6F91


def test_chafon_vectors_from_protocols():
    assert chafon.encode_command(0x0A, 0x01) == bytes.fromhex("040A01ABB6")
    assert chafon.encode_response(0x00, 0x01, 0xFB) == bytes.fromhex("050001FBF23D")
    (response,) = chafon.FrameDecoder().feed(bytes.fromhex("050001FBF23D"))
    assert chafon.decode_inventory(response) == []


def test_chafon_inventory_with_two_epcs():
    epcs = [bytes.fromhex("E2801160600002086F5B7D21"), bytes.fromhex("3000ABCD")]
    frame = chafon.encode_response(0, 1, chafon.STATUS_INVENTORY_DONE, chafon.encode_inventory_data(epcs))
    (response,) = chafon.FrameDecoder().feed(b"\x00\x13" + frame)[1:]
    assert chafon.decode_inventory(response) == ["E2801160600002086F5B7D21", "3000ABCD"]


def test_chafon_error_status_and_inconsistent_layout_are_rejected():
    illegal = chafon.encode_response(0, 0, chafon.STATUS_ILLEGAL_COMMAND)
    (response,) = chafon.FrameDecoder().feed(illegal)
    result = chafon.decode_inventory(response)
    assert isinstance(result, Rejected) and "illegal command" in result.reason
    short = chafon.encode_response(0, 1, chafon.STATUS_INVENTORY_DONE, bytes([2, 4, 1, 2, 3, 4]))
    (response,) = chafon.FrameDecoder().feed(short)
    assert isinstance(chafon.decode_inventory(response), Rejected)


def test_chafon_corrupted_crc_is_dropped_and_stream_resynchronises():
    good = chafon.encode_response(0, 1, chafon.STATUS_NO_TAG)
    bad = bytearray(good)
    bad[-1] ^= 0x55
    out = chafon.FrameDecoder().feed(bytes(bad) + good)
    frames = [o for o in out if not isinstance(o, Rejected)]
    assert len(frames) == 1 and frames[0].frame == good
    assert any(isinstance(o, Rejected) for o in out)


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=10))
def test_chafon_fuzz_never_crashes_and_only_crc_valid_frames_pass(chunks):
    decoder = chafon.FrameDecoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if isinstance(item, Rejected):
                continue
            assert chafon.crc16_mcrf4xx(item.frame[:-2]) == item.frame[-2] | item.frame[-1] << 8
            result = chafon.decode_inventory(item)
            assert isinstance(result, (list, Rejected))


# ---- Kerong KR-CU ------------------------------------------------------------------------------

def test_kerong_vectors_from_protocols():
    assert kerong.encode(kerong.address_of(0, 0), 0x31) == bytes.fromhex("0200310336")
    assert kerong.encode(0x00, 0x32) == bytes.fromhex("0200320337")


def test_kerong_status_reply_decodes_hooks_lsb_first():
    reply = kerong.encode(0x10, 0x35, bytes([0b0000_0101, 0x80, 0, 0]))
    (frame,) = kerong.Decoder({0x35: 4}).feed(reply)
    bits = kerong.bits_lsb_first(frame.data[:2])
    assert [i + 1 for i, b in enumerate(bits) if b] == [1, 3, 16]
    assert frame.address >> 4 == 1


@FUZZ
@given(st.lists(st.binary(max_size=32), max_size=10))
def test_kerong_fuzz_never_crashes_and_only_summed_frames_pass(chunks):
    decoder = kerong.Decoder({0x35: 4, 0x31: 0})
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if not isinstance(item, Rejected):
                assert item.frame[0] == 2 and item.frame[-2] == 3
                assert sum(item.frame[:-1]) & 0xFF == item.frame[-1]


# ---- active-reader ASCII lines -------------------------------------------------------------------

def test_ascii_line_with_reader_and_rssi():
    decoder = LineDecoder(ACTIVE_PATTERN)
    (frame,) = decoder.feed(b"$ A7 01 00ab12 00 -61\r\n")
    assert (frame.reader, frame.tag, frame.rssi) == ("A7", "00AB12", -61)


def test_ascii_line_garbage_and_overlong_lines_are_rejected():
    decoder = LineDecoder(ACTIVE_PATTERN, max_line=40)
    out = decoder.feed(b"hello\r\n" + b"x" * 50 + b"$ A7 01 00AB12 00 -61\r\n")
    assert [type(o).__name__ for o in out] == ["Rejected", "Rejected"]
    out = decoder.feed(b"$ A7 01 00AB12 00 -61\r\n")
    assert [o.tag for o in out] == ["00AB12"]


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=10))
def test_ascii_fuzz_never_crashes(chunks):
    decoder = LineDecoder(ACTIVE_PATTERN, max_line=64)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if not isinstance(item, Rejected):
                assert len(item.frame) <= 64


# ---- MQTT payload handlers -----------------------------------------------------------------------

def _nvr(profile: str, collected: list):
    from drivers.config import load_profile
    from drivers.registry import driver_class

    p = load_profile(profile)
    cls = driver_class(p.driver)
    wiring = cls.Wiring(id="nvr", broker="mqtt://127.0.0.1:1", cameras={"c1": "cam-1", "c2": "cam-2"})
    return cls(wiring, cls.Settings.model_validate(p.settings), collected.append)


@FUZZ
@given(st.sampled_from(["frigate/available", "frigate/events", "frigate/c1/recordings/state",
                        "frigate/c2/status/record", "frigate/zz/recordings/state", "frigate/c1/x/y/z"]),
       st.one_of(st.binary(max_size=200), st.sampled_from([b"ON", b"OFF", b"online", b"offline", b"{}",
                                                            b'{"type": "new", "after": {"camera": "c1"}}'])))
def test_frigate_handler_never_crashes_and_emits_only_valid_camera_events(topic, payload):
    collected: list = []
    _nvr("frigate", collected)._handle(topic, payload)
    for event in collected:
        assert event["type"] == "camera" and event["camera"] in ("cam-1", "cam-2")
        assert event["state"] in ("recording", "stopped", "offline", "online")


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.builds(lambda c, s: f'{{"camera": "{c}", "state": "{s}"}}'.encode(),
                                                    st.sampled_from(["c1", "c9", ""]),
                                                    st.sampled_from(["REC", "IDLE", "LOST", "UP", "??"]))))
def test_json_bridge_handler_never_crashes(payload):
    collected: list = []
    _nvr("json-nvr-bridge", collected)._handle("nvr/c1/state", payload)
    for event in collected:
        assert event["camera"] == "cam-1" and event["state"] in ("recording", "stopped", "offline", "online")
