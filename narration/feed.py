"""Render a podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, as bytes.

Pure and deterministic (the same feed and episodes give the same bytes), so an ETag taken from the
bytes changes only when the feed does. Built with the standard library's ElementTree, not feedgen or
podgen: those know nothing of the `podcast:` namespace and write itunes:explicit as yes/no, which
Apple now rejects.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Sequence
from urllib.parse import quote, urlsplit, urlunsplit

from narration.feed_model import AlternateEnclosure, EpisodeInfo, FeedInfo

__all__ = ["AlternateEnclosure", "EpisodeInfo", "FeedInfo", "render_feed", "ascii_url", "clean_xml_text",
           "podcast_guid", "description_html", "feed_etag", "etag_matches"]

log = logging.getLogger(__name__)

GENERATOR = "narrator"
MAX_DESCRIPTION_BYTES = 4000  # Apple's limit for channel and episode descriptions
ELLIPSIS = "…"
MAX_SEASON_NAME = 128  # podcast:season's name attribute (Podcasting 2.0)
MAX_MEDIA_TITLE = 32  # podcast:alternateEnclosure's title attribute ("limited to 32 characters")
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

# The prefixes are written literally and declared on <rss>: ElementTree's namespace registry is
# process-wide state, and literal prefixes also declare `content`, which no element uses yet.
NAMESPACES = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}

# Code points XML 1.0 forbids: C0 controls other than tab/LF/CR, surrogates (in a Python str a
# surrogate is always unpaired), and the two non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PARTIAL_ENTITY = re.compile(r"&[#\w]*$")  # "&am" left by a cut through "&amp;"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Characters that keep their meaning in a URL; '%' keeps existing escapes as they are.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")


def clean_xml_text(text: str) -> str:
    """The text without code points XML 1.0 cannot carry, which would make the feed unreadable."""
    return _NOT_XML.sub("", text)


def description_html(text: str, limit: int = MAX_DESCRIPTION_BYTES) -> str:
    """Plain text as the HTML that an RSS description holds (apps render it as HTML, so a review's
    "<3" or "<script>" must arrive escaped), cut to at most `limit` UTF-8 bytes on a character
    boundary and ending in an ellipsis when cut, so listeners see that it goes on."""
    escaped = html.escape(clean_xml_text(text), quote=False)
    encoded = escaped.encode("utf-8")
    if len(encoded) <= limit:
        return escaped
    # errors="ignore" drops the partial character a byte cut may leave at the end.
    cut = encoded[:limit - len(ELLIPSIS.encode("utf-8"))].decode("utf-8", "ignore")
    return _PARTIAL_ENTITY.sub("", cut).rstrip() + ELLIPSIS


def ascii_url(url: str) -> str:
    """The URL with non-ASCII percent-encoded (and an IDNA host), as podcast apps expect."""
    url = clean_xml_text(url).strip()
    if url.isascii() and not _NEEDS_QUOTING.search(url):
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _ascii_netloc(parts.netloc), quote(parts.path, safe=_URL_SAFE),
                       quote(parts.query, safe=_URL_SAFE), quote(parts.fragment, safe=_URL_SAFE)))


def _ascii_netloc(netloc: str) -> str:
    """user@host:port with an internationalized host name in its IDNA (xn--) form."""
    if netloc.isascii():
        return netloc
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDNA name: percent-encoding still gives an ASCII URL
        host = quote(host, safe="")
    return quote(userinfo, safe=_URL_SAFE) + at + host + colon + port


def podcast_guid(feed_url: str) -> str:
    """podcast:guid per the Podcasting 2.0 spec: UUIDv5 of the feed URL without its scheme and
    trailing slashes."""
    name = _SCHEME.sub("", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, name))


def rfc2822(moment: datetime) -> str:
    """An RSS date (RFC 2822) in GMT; refuses naive datetimes, whose zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"episode dates must be timezone-aware, got {moment!r}")
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def feed_etag(data: bytes) -> str:
    """A strong, quoted ETag for the rendered bytes (rendering is deterministic)."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether a GET with this If-None-Match may answer 304 (RFC 9110 weak comparison)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def render_feed(feed: FeedInfo, episodes: Sequence[EpisodeInfo]) -> bytes:
    """The RSS document for a feed, newest episode first, as UTF-8 bytes."""
    ordered = _newest_first(episodes)
    rss = ET.Element("rss", {"version": "2.0",
                             **{f"xmlns:{prefix}": uri for prefix, uri in NAMESPACES.items()}})
    channel = ET.SubElement(rss, "channel")
    _add_channel(channel, feed, ordered)
    for episode in ordered:
        _add_item(ET.SubElement(channel, "item"), episode, feed.language)
    log.debug("rendered feed with %d episodes", len(ordered))
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _newest_first(episodes: Sequence[EpisodeInfo]) -> list[EpisodeInfo]:
    """Episodes newest first; ties broken by guid so the order (and the bytes) never wobble."""
    for episode in episodes:
        rfc2822(episode.published)  # fail on a naive date before comparing it with aware ones
    return sorted(episodes, key=lambda episode: (episode.published, episode.guid), reverse=True)


def _add(parent: ET.Element, tag: str, text: str | None = None, /, **attributes: str) -> ET.Element:
    """A child element whose text and attribute values are cleaned of what XML cannot carry.

    `text` is positional-only so that an attribute may be called `text` (itunes:category)."""
    element = ET.SubElement(parent, tag, {name: clean_xml_text(value)
                                          for name, value in attributes.items()})
    if text is not None:
        element.text = clean_xml_text(text)
    return element


def _add_channel(channel: ET.Element, feed: FeedInfo, ordered: list[EpisodeInfo]) -> None:
    """The channel's own elements: what Apple requires and recommends, then Podcasting 2.0."""
    self_url = ascii_url(feed.self_url)
    _add(channel, "title", feed.title)
    _add(channel, "link", ascii_url(feed.link))
    _add(channel, "description", description_html(feed.description))
    _add(channel, "language", feed.language)
    if ordered:
        # The newest episode's date, not the clock: the same feed must give the same bytes.
        _add(channel, "lastBuildDate", rfc2822(ordered[0].published))
    _add(channel, "generator", GENERATOR)
    _add(channel, "atom:link", href=self_url, rel="self", type="application/rss+xml")
    _add(channel, "itunes:image", href=ascii_url(feed.image_url))
    _add_category(channel, feed.category)
    _add(channel, "itunes:explicit", "true" if feed.explicit else "false")
    # The owner comes before the author: feedparser reads both into `author`, and the last wins.
    owner = _add(channel, "itunes:owner")
    _add(owner, "itunes:name", feed.owner_name)
    if feed.owner_email:
        _add(owner, "itunes:email", feed.owner_email)
    _add(channel, "itunes:author", feed.author)
    _add(channel, "itunes:type", "episodic")
    _add(channel, "podcast:guid", podcast_guid(feed.guid_seed or self_url))
    # No owner="…" attribute (feedparser would drop the yes/no); the e-mail is in itunes:owner.
    _add(channel, "podcast:locked", "yes" if feed.locked else "no")
    if feed.private:
        _add(channel, "podcast:block", "yes")
        _add(channel, "itunes:block", "Yes")


def _add_season(item: ET.Element, episode: EpisodeInfo) -> None:
    """podcast:season (an integer, with an optional name of at most 128 characters) and
    podcast:episode (a number), as the Podcasting 2.0 namespace defines them."""
    attributes = {"name": episode.season_name[:MAX_SEASON_NAME]} if episode.season_name else {}
    _add(item, "podcast:season", str(int(episode.season)), **attributes)
    if episode.episode_number is not None:
        _add(item, "podcast:episode", str(int(episode.episode_number)))


def _add_alternate(item: ET.Element, alternate: AlternateEnclosure) -> None:
    """podcast:alternateEnclosure as the Podcasting 2.0 namespace defines it: `type` (required),
    `length` (recommended), `bitrate` in bits per second, `title` of at most 32 characters,
    `codecs` (RFC 6381), `default="true"` only for the enclosure's own file (left out means
    false), and one or more podcast:source children, each with a `uri`."""
    attributes = {"type": alternate.type, "length": str(int(alternate.length))}
    if alternate.bitrate:
        attributes["bitrate"] = str(int(alternate.bitrate))
    if alternate.title:
        attributes["title"] = alternate.title[:MAX_MEDIA_TITLE]
    if alternate.codecs:
        attributes["codecs"] = alternate.codecs
    if alternate.default:
        attributes["default"] = "true"
    element = _add(item, "podcast:alternateEnclosure", **attributes)
    _add(element, "podcast:source", uri=ascii_url(alternate.url))


def _add_category(channel: ET.Element, category: str) -> None:
    """itunes:category, with the subcategory of "Arts/Books" nested inside "Arts"."""
    names = [name.strip() for name in category.split("/") if name.strip()]
    parent = channel
    for name in names[:2]:  # Apple has two levels
        parent = _add(parent, "itunes:category", text=name)


def _add_item(item: ET.Element, episode: EpisodeInfo, language: str) -> None:
    """One episode's elements."""
    _add(item, "title", episode.title)
    _add(item, "description", description_html(episode.description))
    _add(item, "guid", episode.guid, isPermaLink="false")
    _add(item, "pubDate", rfc2822(episode.published))
    _add(item, "enclosure", url=ascii_url(episode.enclosure_url),
         length=str(int(episode.enclosure_length)), type="audio/mpeg")
    for alternate in episode.alternates:
        _add_alternate(item, alternate)
    _add(item, "itunes:duration", str(round(episode.duration)))
    if episode.season is not None:
        _add(item, "itunes:season", str(int(episode.season)))
    if episode.episode_number is not None:
        _add(item, "itunes:episode", str(int(episode.episode_number)))
    _add(item, "itunes:episodeType", "full")
    if episode.season is not None:
        _add_season(item, episode)
    if episode.image_url:
        _add(item, "itunes:image", href=ascii_url(episode.image_url))
    if episode.chapters_url:
        _add(item, "podcast:chapters", url=ascii_url(episode.chapters_url),
             type="application/json+chapters")
    if episode.transcript_url:
        _add(item, "podcast:transcript", url=ascii_url(episode.transcript_url),
             type="text/vtt", language=language)
    if episode.link:
        _add(item, "link", ascii_url(episode.link))
