"""The podcast feed is one that podcast apps (here: feedparser) read completely and correctly."""

import html
import random
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
from defusedxml import ElementTree as SafeET

from narration.feed import ascii_url, etag_matches, feed_etag, podcast_guid, render_feed
from narration.feed_model import EpisodeInfo, FeedInfo

NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
      "podcast": "https://podcastindex.org/namespace/1.0",
      "atom": "http://www.w3.org/2005/Atom"}
BASE = "https://narrator.example"
SELF_URL = f"{BASE}/feeds/s3cr3t-token.xml"
START = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def make_feed(**changes) -> FeedInfo:
    feed = FeedInfo(
        title="Ann's narrations", description="Reviews, read aloud.", link=BASE + "/",
        self_url=SELF_URL, language="en-GB", author="Ann Author", owner_name="Ann Owner",
        owner_email="ann@example.org", category="Arts/Books", image_url=BASE + "/cover.png",
        explicit=False, private=True, locked=True)
    return replace(feed, **changes)


def make_episode(number: int, **changes) -> EpisodeInfo:
    base = f"{BASE}/narrations/{number}"
    episode = EpisodeInfo(
        guid=f"urn:uuid:{uuid.UUID(int=number)}", title=f"Episode {number}",
        description=f"The opening of review {number}.", published=START + timedelta(days=number),
        enclosure_url=base + "/audio.mp3", enclosure_length=1_000_000 + number,
        duration=61.6 + number, episode_number=number, image_url=base + "/cover.jpg",
        chapters_url=base + "/chapters.json", transcript_url=base + "/transcript.vtt",
        link=f"https://reviews.example/{number}")
    return replace(episode, **changes)


def parse(data: bytes) -> feedparser.FeedParserDict:
    """The feed as a podcast app reads it, after checking that it is well-formed XML."""
    SafeET.fromstring(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def visible(text: str) -> str:
    """What a listener should see: the text minus what XML 1.0 cannot carry, trimmed as apps do."""
    def allowed(char: str) -> bool:
        code = ord(char)
        if code < 0x20:
            return char in "\t\n\r"
        return not (0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF))
    return "".join(char for char in text if allowed(char)).strip()


def test_feedparser_reads_every_channel_field():
    feed = make_feed()
    parsed = parse(render_feed(feed, [make_episode(1), make_episode(2)])).feed
    assert parsed.title == feed.title
    assert parsed.link == feed.link
    assert parsed.subtitle == feed.description
    assert parsed.language == feed.language
    assert parsed.image.href == feed.image_url
    assert [tag.term for tag in parsed.tags] == ["Arts", "Books"]
    assert parsed.author == feed.author
    assert parsed.publisher_detail == {"name": feed.owner_name, "email": feed.owner_email}
    assert parsed.itunes_type == "episodic"
    assert {"href": SELF_URL, "rel": "self", "type": "application/rss+xml"} in parsed.links
    spec_namespace = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
    assert parsed.podcast_guid == str(uuid.uuid5(spec_namespace,
                                                 "narrator.example/feeds/s3cr3t-token.xml"))
    assert parsed.podcast_locked == "yes"
    assert parsed.generator
    # lastBuildDate is the newest episode's date, so rendering twice later gives the same bytes.
    assert parsed.updated_parsed[:6] == (START + timedelta(days=2)).timetuple()[:6]
    # feedparser 6.0.14 maps true/false to None (kurtmckee/feedparser#524), so it only proves the
    # element is there; test_itunes_explicit_is_true_or_false checks the value.
    assert "itunes_explicit" in parsed


def test_feedparser_reads_every_item_field():
    episode = make_episode(7, duration=1268.4)
    entry = parse(render_feed(make_feed(), [episode])).entries[0]
    assert entry.title == episode.title
    assert entry.summary == episode.description
    assert entry.id == episode.guid and entry.guidislink is False
    assert entry.published_parsed[:6] == episode.published.timetuple()[:6]
    assert entry.enclosures == [{"href": episode.enclosure_url,
                                 "length": str(episode.enclosure_length), "type": "audio/mpeg"}]
    assert entry.itunes_duration == "1268"
    assert entry.itunes_episode == "7"
    assert entry.itunes_episodetype == "full"
    assert entry.image.href == episode.image_url
    assert entry.podcast_chapters == {"url": episode.chapters_url,
                                      "type": "application/json+chapters"}
    assert entry.podcast_transcript == {"url": episode.transcript_url, "type": "text/vtt",
                                        "language": "en-GB"}
    assert entry.link == episode.link


def test_optional_item_fields_are_left_out_when_missing():
    bare = make_episode(1, episode_number=None, image_url=None, chapters_url=None,
                        transcript_url=None, link=None)
    entry = parse(render_feed(make_feed(), [bare])).entries[0]
    for key in ("itunes_episode", "image", "podcast_chapters", "podcast_transcript", "link"):
        assert key not in entry
    assert entry.enclosures[0]["href"] == bare.enclosure_url


@pytest.mark.parametrize("explicit, text", [(True, "true"), (False, "false")])
def test_itunes_explicit_is_true_or_false(explicit, text):
    root = SafeET.fromstring(render_feed(make_feed(explicit=explicit), []))
    assert root.find("channel/itunes:explicit", NS).text == text


@pytest.mark.parametrize("private", [True, False])
def test_private_feeds_ask_directories_not_to_list_them(private):
    channel = SafeET.fromstring(render_feed(make_feed(private=private), [])).find("channel")
    blocks = (channel.findtext("podcast:block", None, NS),
              channel.findtext("itunes:block", None, NS))
    assert blocks == (("yes", "Yes") if private else (None, None))


@pytest.mark.parametrize("locked, text", [(True, "yes"), (False, "no")])
def test_podcast_locked(locked, text):
    assert parse(render_feed(make_feed(locked=locked), [])).feed.podcast_locked == text


def test_same_input_gives_identical_bytes_whatever_the_order():
    episodes = [make_episode(number) for number in range(1, 30)]
    shuffled = episodes[:]
    random.Random(4).shuffle(shuffled)
    first = render_feed(make_feed(), episodes)
    assert render_feed(make_feed(), shuffled) == first
    assert feed_etag(render_feed(make_feed(), shuffled)) == feed_etag(first)


def test_an_edited_title_changes_the_bytes_but_not_the_guid():
    before = parse(render_feed(make_feed(), [make_episode(1)])).entries[0]
    after = parse(render_feed(make_feed(), [make_episode(1, title="Renamed")])).entries[0]
    assert (after.title, after.id) == ("Renamed", before.id)


def test_episodes_come_newest_first():
    episodes = [make_episode(number) for number in (3, 1, 4, 2)]
    entries = parse(render_feed(make_feed(), episodes)).entries
    assert [entry.itunes_episode for entry in entries] == ["4", "3", "2", "1"]


@pytest.mark.parametrize("url", ["https://podnews.net/rss", "http://podnews.net/rss/",
                                 "podnews.net/rss"])
def test_podcast_guid_matches_the_spec_example(url):
    assert podcast_guid(url) == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert parse(render_feed(make_feed(self_url=url), [])).feed.podcast_guid == podcast_guid(url)


@pytest.mark.parametrize("unit", ["a", "é", "🎧", "&", "<&"])
def test_descriptions_over_4000_bytes_are_cut_on_a_character(unit):
    long_text = unit * 5000
    parsed = parse(render_feed(make_feed(description=long_text),
                               [make_episode(1, description=long_text)]))
    for shown in (parsed.feed.subtitle, parsed.entries[0].summary):
        assert len(shown.encode("utf-8")) <= 4000
        assert shown.endswith("…")
        text = html.unescape(shown[:-1])  # the description holds the text as HTML
        assert long_text.startswith(text) and len(text) > 500


NASTY = [
    "<script>alert(1)</script> & \"quotes\" 'single'",
    "Émoji 🎧🤖❤️‍🔥 and 👩🏽‍💻",
    "ביקורת: היא (2013)",
    "مراجعة: فيلم «هي» \u200f",
    "\x00\x1b control \x07 characters\x0b\x0c",
    "a lone surrogate \ud83d here",
    "non-characters \ufffe\uffff gone",
    "<![CDATA[ ]]> ]]> &amp; &#0; &bogus;",
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_text_gives_a_well_formed_feed_showing_that_text(text):
    parsed = parse(render_feed(make_feed(title=text, author=text),
                               [make_episode(1, title=text, description=text, guid=text)]))
    entry = parsed.entries[0]
    assert parsed.feed.title == entry.title == visible(text)
    assert parsed.feed.author == visible(text)
    assert html.unescape(entry.summary) == visible(text)
    assert entry.id == visible(text)


@pytest.mark.parametrize("url, expected", [
    ("https://n.example/audio/Amélie.mp3", "https://n.example/audio/Am%C3%A9lie.mp3"),
    ("https://n.example/my file.mp3", "https://n.example/my%20file.mp3"),
    ("https://n.example/a%20b.mp3", "https://n.example/a%20b.mp3"),
    ("https://n.example/a.mp3?name=ü&x=1", "https://n.example/a.mp3?name=%C3%BC&x=1"),
    ("https://bücher.example/a.mp3", "https://xn--bcher-kva.example/a.mp3"),
    ("https://n.example/plain.mp3", "https://n.example/plain.mp3"),
])
def test_enclosure_urls_are_ascii(url, expected):
    assert ascii_url(url) == expected
    entry = parse(render_feed(make_feed(), [make_episode(1, enclosure_url=url)])).entries[0]
    assert entry.enclosures[0]["href"] == expected


def test_an_empty_feed_is_valid():
    parsed = parse(render_feed(make_feed(), []))
    assert parsed.entries == [] and parsed.feed.title == "Ann's narrations"


def test_naive_dates_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        render_feed(make_feed(), [make_episode(1, published=datetime(2026, 1, 1))])


def test_pub_dates_are_gmt_whatever_the_zone():
    paris = timezone(timedelta(hours=1))
    morning = datetime(2026, 1, 1, 10, tzinfo=paris)
    data = render_feed(make_feed(), [make_episode(1, published=morning)])
    assert SafeET.fromstring(data).findtext("channel/item/pubDate") == (
        "Thu, 01 Jan 2026 09:00:00 GMT")


def test_etag_is_strong_quoted_and_follows_the_bytes():
    data = render_feed(make_feed(), [make_episode(1)])
    etag = feed_etag(data)
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert feed_etag(render_feed(make_feed(), [make_episode(1, title="Edited")])) != etag


@pytest.mark.parametrize("header, matches", [
    ('"abc"', True),
    ('"old", "abc"', True),
    ('W/"abc"', True),
    ("*", True),
    ('"old"', False),
    ("", False),
    (None, False),
])
def test_etag_matches_if_none_match(header, matches):
    assert etag_matches(header, '"abc"') is matches


def test_alternate_enclosures_follow_the_podcasting_2_rules():
    """podcast:alternateEnclosure: `type` required, `length` in bytes, `bitrate` in bits per
    second, `title` of at most 32 characters, `default` only where the file is the enclosure's,
    at least one podcast:source with a `uri`; the MP3 stays the <enclosure>."""
    from narration.feed_model import AlternateEnclosure

    mp3 = AlternateEnclosure("audio/mpeg", 1_000_001, f"{BASE}/narrations/1/audio.mp3",
                             96_512, title="MP3", default=True)
    opus = AlternateEnclosure("audio/ogg", 480_000, f"{BASE}/narrations/1/audio opus.opus",
                              47_900, title="Opus, for apps that can play it: smaller",
                              codecs="opus")
    data = render_feed(make_feed(), [make_episode(1, alternates=(mp3, opus))])
    item = SafeET.fromstring(data).find("channel/item")
    found = item.findall("podcast:alternateEnclosure", NS)
    assert [dict(element.attrib) for element in found] == [
        {"type": "audio/mpeg", "length": "1000001", "bitrate": "96512", "title": "MP3",
         "default": "true"},
        {"type": "audio/ogg", "length": "480000", "bitrate": "47900",
         "title": opus.title[:32], "codecs": "opus"}]
    assert len(found[1].get("title")) == 32 < len(opus.title)
    assert [[source.attrib for source in element] for element in found] == [
        [{"uri": f"{BASE}/narrations/1/audio.mp3"}],
        [{"uri": f"{BASE}/narrations/1/audio%20opus.opus"}]]  # URIs stay ASCII, as enclosures
    entry = parse(data).entries[0]
    assert [(link.type, link.href) for link in entry.enclosures] == [
        ("audio/mpeg", f"{BASE}/narrations/1/audio.mp3")]
    # Without alternates nothing is written (an episode made with Opus off).
    plain = SafeET.fromstring(render_feed(make_feed(), [make_episode(2)]))
    assert plain.find("channel/item/podcast:alternateEnclosure", NS) is None
