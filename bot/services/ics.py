"""A meeting as a calendar file (.ics), so it lands in the phone's calendar (RFC 5545).

The event's UID is fixed per meeting and SEQUENCE is the meeting's change counter: a calendar
that imported the invitation updates the same event when the changed file arrives, and a
cancellation (METHOD:CANCEL, STATUS:CANCELLED) removes it. Times carry the office's timezone
(TZID with its VTIMEZONE), so a phone set to another zone shows the right local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from storage.models_meetings import Meeting

DURATION = timedelta(hours=2)  # a meeting has no end time in KopDesk; calendars want one


def uid(meeting_id: int) -> str:
    """The event's stable identifier."""
    return f"meeting-{meeting_id}@kopdesk"


def calendar_file(meeting: Meeting, tz: ZoneInfo, *, now: datetime, cancelled: bool = False) -> bytes:
    """The .ics bytes of the meeting (an invitation, a change, or a cancellation)."""
    assert meeting.starts_at is not None
    cal = Calendar()
    cal.add("prodid", "-//KopDesk//Meetings//ID")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    start = meeting.starts_at.astimezone(tz)
    cal.add_component(Timezone.from_tzid(tz.key, first_date=start.date() - timedelta(days=400),
                                         last_date=start.date() + timedelta(days=400)))
    event = Event()
    event.add("uid", uid(meeting.id))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", start + DURATION)
    event.add("summary", meeting.title or "")
    if meeting.place:
        event.add("location", meeting.place)
    if meeting.description:
        event.add("description", meeting.description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()


def file_name(meeting: Meeting) -> str:
    """rapat-12.ics"""
    return f"rapat-{meeting.id}.ics"
