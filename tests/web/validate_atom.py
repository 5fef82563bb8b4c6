#!/usr/bin/python3
# Reads an Atom feed with Python's XML parser (xml.etree) and checks what RFC 4287 requires:
# atom:feed with exactly one id, title and updated, an author (on the feed or on every entry),
# and every entry with exactly one id, title and updated; dates in RFC 3339; ids unique.
# Prints one line per entry, "id\ttitle\tcontent"; exits non-zero saying what is wrong.
import re
import sys
import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def one(parent, name, where):
    found = parent.findall(ATOM + name)
    if len(found) != 1:
        sys.exit("%s has %d atom:%s elements, RFC 4287 wants exactly one" % (where, len(found), name))
    return found[0]


def text_construct(element, where):
    kind = element.get("type", "text")
    if kind not in ("text", "html", "xhtml"):
        sys.exit("%s has type %r" % (where, kind))
    if kind == "text" and len(element):
        sys.exit("%s is type text but has child elements" % where)
    return element.text or ""


def date(element, where):
    if not DATE.match(element.text or ""):
        sys.exit("%s is not an RFC 3339 date: %r" % (where, element.text))


root = ET.parse(sys.argv[1]).getroot()
if root.tag != ATOM + "feed":
    sys.exit("the root element is %s, not atom:feed" % root.tag)
one(root, "id", "atom:feed")
text_construct(one(root, "title", "atom:feed"), "the feed's title")
date(one(root, "updated", "atom:feed"), "the feed's updated")
feed_author = root.findall(ATOM + "author")
for author in feed_author:
    one(author, "name", "atom:author")
ids = set()
for entry in root.findall(ATOM + "entry"):
    entry_id = one(entry, "id", "atom:entry").text or ""
    if not entry_id or entry_id in ids:
        sys.exit("entry id %r is empty or repeated" % entry_id)
    ids.add(entry_id)
    title = text_construct(one(entry, "title", "atom:entry"), "an entry's title")
    date(one(entry, "updated", "atom:entry"), "an entry's updated")
    if not feed_author and not entry.findall(ATOM + "author"):
        sys.exit("an entry has no author and neither has the feed")
    contents = entry.findall(ATOM + "content")
    if len(contents) > 1:
        sys.exit("an entry has %d atom:content elements" % len(contents))
    content = text_construct(contents[0], "an entry's content") if contents else ""
    if not contents and not entry.findall(ATOM + "summary"):
        sys.exit("an entry without content needs a summary")
    print("%s\t%s\t%s" % (entry_id, title, content.replace("\n", "\\n")))
