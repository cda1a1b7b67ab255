from datetime import UTC, datetime, timedelta, timezone

from stride.scheduling.domain.calendar import CalendarEntry, render_calendar

START = datetime(2026, 12, 1, 7, 0, tzinfo=timezone(timedelta(hours=3)))


def test_a_feed_with_one_class_in_utc() -> None:
    feed = render_calendar(
        [CalendarEntry("b1@stride.app", "Spin; level 2", "Olaya, Riyadh", START, START)],
        datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
    lines = feed.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "DTSTART:20261201T040000Z" in lines
    assert "SUMMARY:Spin\\; level 2" in lines
    assert "LOCATION:Olaya\\, Riyadh" in lines
    assert feed.endswith("END:VCALENDAR\r\n")


def test_long_lines_fold_without_splitting_characters() -> None:
    summary = "يوغا " * 40
    feed = render_calendar(
        [CalendarEntry("b2@stride.app", summary, "", START, START, cancelled=True)], START
    )
    lines = feed.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = feed.replace("\r\n ", "")
    assert f"SUMMARY:{summary}" in unfolded
    assert "STATUS:CANCELLED" in lines
