"""What a podcast feed is made of: the channel's facts and one record per episode.

Plain data, filled by the service from its database and rendered by `narration.feed.render_feed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """The channel: one podcast as a podcast app shows it."""

    title: str
    description: str
    """Plain text; HTML-escaped and cut to 4000 bytes (Apple's limit) when rendered."""
    link: str
    """The site's URL (the service's home page for this feed)."""
    self_url: str
    """The feed's own URL: atom:link rel=self, and the seed of podcast:guid."""
    language: str
    """A language tag such as "en" or "en-US"; also the language of every transcript."""
    author: str
    owner_name: str
    owner_email: str
    category: str
    """An Apple category, "Arts", or with a subcategory, "Arts/Books"."""
    image_url: str
    """Square artwork, 1400–3000 px, JPEG or PNG."""
    explicit: bool = False
    guid_seed: str | None = None
    """What podcast:guid is made from when it must outlive the self URL (a private feed's
    token changes when rotated); None: the self URL, as the spec says for public feeds."""
    private: bool = True
    """Ask directories not to list the feed (podcast:block yes, itunes:block Yes)."""
    locked: bool = True
    """Ask other hosting platforms not to import the feed (podcast:locked yes)."""


@dataclass(frozen=True, slots=True)
class AlternateEnclosure:
    """One `podcast:alternateEnclosure`: the episode in another encoding (Podcasting 2.0)."""

    type: str
    """MIME type of the file."""
    length: int
    """Exact size in bytes."""
    url: str
    """Its one `podcast:source`."""
    bitrate: int | None = None
    """Average bits per second."""
    title: str | None = None
    """What apps show to tell the versions apart (at most 32 characters)."""
    codecs: str | None = None
    """RFC 6381 codecs string, e.g. "opus"."""
    default: bool = False
    """True only for the very file of the `<enclosure>`."""


@dataclass(frozen=True, slots=True)
class EpisodeInfo:
    """One item: a finished narration as a podcast app downloads it."""

    guid: str
    """Never changes once published: podcast apps treat a new guid as a new episode."""
    title: str
    description: str
    """Plain text (the review's opening); HTML-escaped and cut to 4000 bytes when rendered."""
    published: datetime
    """Timezone-aware; rendered in GMT as RFC 2822."""
    enclosure_url: str
    enclosure_length: int
    """Exact size of the MP3 in bytes."""
    duration: float
    """Seconds; rendered as whole seconds."""
    episode_number: int | None = None
    image_url: str | None = None
    chapters_url: str | None = None
    """Podcasting 2.0 chapters JSON."""
    transcript_url: str | None = None
    """WebVTT transcript."""
    link: str | None = None
    """A web page for the episode (e.g. the original review)."""
    season: int | None = None
    """itunes:season and podcast:season: set when each chapter of a narration is an episode
    (the season is the narration, the episode number the chapter), so apps keep the order."""
    season_name: str | None = None
    """podcast:season's name attribute (the narration's title; at most 128 characters)."""
    alternates: tuple[AlternateEnclosure, ...] = ()
    """Other encodings of the same episode (the Opus copy); the MP3 stays the enclosure."""
