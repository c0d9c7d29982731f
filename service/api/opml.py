"""`POST /api/v1/feeds.opml`: the caller's feeds as an OPML subscription list, to import into a
podcast app in one step (gPodder, AntennaPod, Pocket Casts and Apple Podcasts read OPML 2.0).

Feed addresses are stored as digests only (a leaked database reveals none), so the server
cannot show an address again; the list is made with a new address for each feed that has one,
and the old addresses stop working. Hence POST, not GET. The file holds the private addresses,
so it is served only to the feeds' owner, as a download, and never cached by shared caches.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import format_datetime

from flask import Blueprint, Response

from narration.feed import clean_xml_text
from service.api import base_url, narrator, produces
from service.api.outputs import content_disposition
from service.auth import current_user, require_user
from service.podcast import feed_url
from state import feeds
from state.models import User, utcnow

bp = Blueprint("opml", __name__, url_prefix="/api/v1")

OPML = "text/x-opml"


@bp.post("/feeds.opml")
@produces(OPML, "application/xml", "text/xml")
def feeds_opml():
    """OPML 2.0 with one `rss` outline per feed that has an address, each address made anew
    (revoked feeds are left out)."""
    require_user()
    with narrator().db.session() as session:
        user = session.get(User, current_user())
        outlines = [(feed.title, feed_url(feeds.rotate_token(feed)))
                    for feed in feeds.list_feeds(session, current_user())
                    if feed.token_digest is not None]
        body = render_opml(f"{user.name}'s narrator feeds", outlines, f"{base_url()}/")
    response = Response(body, mimetype=OPML)
    response.headers["Content-Disposition"] = content_disposition("narrator feeds", ".opml")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def render_opml(title: str, outlines: list[tuple[str, str]], site: str) -> bytes:
    """An OPML 2.0 subscription list: <outline type="rss" text title xmlUrl htmlUrl> per feed."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = clean_xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(utcnow(), usegmt=True)
    body = ET.SubElement(opml, "body")
    for name, url in outlines:
        ET.SubElement(body, "outline", type="rss", text=clean_xml_text(name),
                      title=clean_xml_text(name), xmlUrl=url, htmlUrl=site)
    return ET.tostring(opml, encoding="utf-8", xml_declaration=True)
