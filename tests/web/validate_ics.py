#!/usr/bin/python3
# Reads an iCalendar file the way a calendar app would (python3-icalendar, Debian) after
# checking the RFC 5545 framing it does not: CRLF line ends and lines of at most 75 octets.
# Prints the event's start, duration and summary; exits non-zero saying what is wrong.
import sys

import icalendar

data = open(sys.argv[1], "rb").read()
if not data.endswith(b"\r\n") or b"\n" in data.replace(b"\r\n", b""):
    sys.exit("lines must end in CRLF")
for line in data.split(b"\r\n"):
    if len(line) > 75:
        sys.exit("line over 75 octets: %r" % line)
calendar = icalendar.Calendar.from_ical(data)
for name in ("VERSION", "PRODID"):
    if name not in calendar:
        sys.exit("VCALENDAR without " + name)
events = calendar.walk("VEVENT")
if len(events) != 1:
    sys.exit("expected one VEVENT, found %d" % len(events))
event = events[0]
for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
    if name not in event:
        sys.exit("VEVENT without " + name)
print(event.decoded("dtstart").isoformat())
print(event.decoded("duration"))
print(event.decoded("summary").decode("utf-8"))
