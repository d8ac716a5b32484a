"""The benchmarks' answer checks: a contender that answers differently must void the run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest

from bench.answers import event_starts, freebusy_periods, merged, multistatus, vevent_uids
from bench.importer import Result
from bench.relay import split_entity, with_header
from bench.relay_copies import Keyrings, check_copy
from bench.report import Mismatch, exit_status, rotated, speed_ratio, timed_out, verify
from crypto import openpgp
from crypto.pgpmime import encrypt_canonical

UTC = dt.UTC


def test_verify_names_the_missing_and_the_extra_items() -> None:
    verify("names", "Murmeli", {"a", "b"}, {"b", "a"})
    with pytest.raises(Mismatch, match=r"Murmeli: names differs: .*missing \['c'\]; extra \['x'\]"):
        verify("names", "Murmeli", {"a", "x"}, {"a", "c"})


def test_verify_names_the_first_differing_item_and_key() -> None:
    with pytest.raises(Mismatch, match=r"reference 2; from item 2: \(3,\) instead of \(\)"):
        verify("busy", "Murmeli", (1, 2, 3), (1, 2))
    with pytest.raises(Mismatch, match="uid-2: None instead of 1"):
        verify("uids", "Murmeli", Counter({"uid-1": 1}), Counter({"uid-1": 1, "uid-2": 1}))


def test_a_mismatch_exits_1_and_prints_no_report(capsys: pytest.CaptureFixture[str]) -> None:
    def wrong() -> None:
        verify("count", "Murmeli", 99, 100)
        print("| table |")

    assert exit_status(wrong) == 1
    captured = capsys.readouterr()
    assert "table" not in captured.out
    assert "answers differ: Murmeli: count differs" in captured.err
    assert exit_status(lambda: None) == 0


def test_every_ratio_is_higher_when_murmeli_is_faster() -> None:
    assert speed_ratio(200.0, 100.0) == 2.0
    assert speed_ratio(100.0, 200.0) == 0.5
    assert speed_ratio(None, 100.0) is None


def test_a_copy_stopped_at_its_limit_shows_as_more_than_the_limit() -> None:
    stopped = Result("offlineimap3", 1000, 50.0, times=[], timeout=900.0)
    assert stopped.cells() == [timed_out(900.0), "< 1", "< 0.1"] == ["> 900 s", "< 1", "< 0.1"]
    finished = Result("mbsync", 1000, 50.0, times=[30.0, 10.0, 20.0])
    assert finished.cells() == ["20.00", "50", "2.5"]  # the median, not the best


MULTISTATUS = b"""<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>/bench/calendar/</d:href>
 <d:propstat><d:prop><d:getetag>"c"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status>
 </d:propstat></d:response>
<d:response><d:href>http://127.0.0.1:1/bench/calendar/a%20b.ics</d:href>
 <d:propstat><d:prop><d:getetag>"1"</d:getetag><c:calendar-data>BEGIN:VCALENDAR
END:VCALENDAR</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 <d:propstat><d:prop><d:displayname/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status>
 </d:propstat></d:response>
<d:response><d:href>/bench/calendar/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>
</d:response>
</d:multistatus>"""


def test_multistatus_keeps_items_by_name_without_the_collection_nor_gone_items() -> None:
    entries = multistatus(MULTISTATUS, "/bench/calendar/")
    assert list(entries) == ["a b.ics"]
    assert entries["a b.ics"].etag == '"1"'
    assert entries["a b.ics"].calendar_data.startswith("BEGIN:VCALENDAR")


def _calendar(*events: str) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:{start}\r\nEND:VEVENT\r\n"
        for uid, start in (event.split() for event in events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


def test_vevents_are_counted_by_uid_and_their_starts_read() -> None:
    calendar = _calendar("a 20300101T100000Z", "a 20300108T100000Z", "b 20300102T090000Z")
    assert vevent_uids([calendar]) == Counter({"a": 2, "b": 1})
    assert event_starts(_calendar("b 20300102T090000Z")) == {
        "b": dt.datetime(2030, 1, 2, 9, tzinfo=UTC)
    }


def test_busy_time_is_compared_merged_clipped_and_in_utc() -> None:
    window = (dt.datetime(2030, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 2, tzinfo=UTC))
    berlin = dt.timezone(dt.timedelta(hours=1))
    listed = [
        (dt.datetime(2030, 1, 1, 11, tzinfo=berlin), dt.datetime(2030, 1, 1, 12, tzinfo=UTC)),
        (dt.datetime(2029, 12, 31, 23, tzinfo=UTC), dt.datetime(2030, 1, 1, 1, tzinfo=UTC)),
        (dt.datetime(2030, 1, 1, 11, 30, tzinfo=UTC), dt.datetime(2030, 1, 1, 13, tzinfo=UTC)),
        (dt.datetime(2030, 1, 3, tzinfo=UTC), dt.datetime(2030, 1, 4, tzinfo=UTC)),
    ]
    assert merged(listed, window) == (
        (dt.datetime(2030, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 1, 1, tzinfo=UTC)),
        (dt.datetime(2030, 1, 1, 10, tzinfo=UTC), dt.datetime(2030, 1, 1, 13, tzinfo=UTC)),
    )


def test_freebusy_periods_skip_free_time_and_read_durations() -> None:
    answer = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VFREEBUSY\r\n"
        "UID:x\r\nDTSTAMP:20300101T000000Z\r\n"
        "FREEBUSY;FBTYPE=BUSY:20300101T100000Z/20300101T110000Z,20300102T100000Z/PT30M\r\n"
        "FREEBUSY;FBTYPE=FREE:20300103T100000Z/20300103T110000Z\r\n"
        "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    assert freebusy_periods(answer) == [
        (dt.datetime(2030, 1, 1, 10, tzinfo=UTC), dt.datetime(2030, 1, 1, 11, tzinfo=UTC)),
        (dt.datetime(2030, 1, 2, 10, tzinfo=UTC), dt.datetime(2030, 1, 2, 10, 30, tzinfo=UTC)),
    ]


@pytest.fixture(scope="module")
def keyrings(tmp_path_factory: pytest.TempPathFactory):
    """Two recipients' keys, each alone in a GNUPGHOME, as ``bench/relay.py`` checks copies."""
    keys = {address: openpgp.new_key(address) for address in ("b@bench.test", "c@bench.test")}
    work = Path(tmp_path_factory.mktemp("keyrings"))
    rings = Keyrings(work, {address: str(key) for address, key in keys.items()}, "")
    yield keys, rings
    rings.close()


def _sent() -> bytes:
    entity = b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe figures.\r\n"
    return with_header(entity, 7, "a@elsewhere.test", ["b@bench.test", "c@bench.test"])


def test_a_copy_encrypted_to_every_recipient_passes(keyrings) -> None:
    keys, rings = keyrings
    copy = encrypt_canonical(_sent(), [key.pubkey for key in keys.values()])
    assert message_from_bytes(copy).get_content_type() == "multipart/encrypted"
    check_copy("relay", copy, _sent(), lambda d: split_entity(d)[1], rings, tuple(keys))


def test_a_copy_one_recipient_cannot_open_fails(keyrings) -> None:
    keys, rings = keyrings
    copy = encrypt_canonical(_sent(), [keys["b@bench.test"].pubkey])
    with pytest.raises(Mismatch, match=r"copy opened by c@bench\.test's key"):
        check_copy("relay", copy, _sent(), lambda d: split_entity(d)[1], rings, tuple(keys))


def test_a_changed_or_plain_copy_fails(keyrings) -> None:
    keys, rings = keyrings
    changed = _sent().replace(b"figures", b"numbers")
    with pytest.raises(Mismatch, match="pass-through copy"):
        check_copy("relay", changed, _sent(), lambda d: split_entity(d)[1], rings, ())
    with pytest.raises(Mismatch, match="Content-Type"):
        check_copy("relay", _sent(), _sent(), lambda d: split_entity(d)[1], rings, tuple(keys))


def test_each_contender_goes_first_in_turn() -> None:
    orders = [rotated(["Radicale", "Xandikos", "Murmeli"], turn) for turn in range(3)]
    assert [order[0] for order in orders] == ["Radicale", "Xandikos", "Murmeli"]
    assert all(sorted(order) == ["Murmeli", "Radicale", "Xandikos"] for order in orders)
