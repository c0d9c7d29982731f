"""Reading texts into Documents: the sample review, other plain shapes, Markdown, API chapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from narration.document import Metadata
from narration.errors import EmptyTextError, InvalidTextError
from narration.reading import decode_text, introduce, read_chapters, read_markdown, read_plain

TEXTS = Path(__file__).parent / "texts"
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "her-review.txt"


def all_paragraphs(document):
    """Every paragraph of every chapter, in order."""
    return [paragraph for chapter in document.chapters for paragraph in chapter.paragraphs]


@pytest.fixture(scope="module")
def her():
    return read_plain(SAMPLE.read_text(encoding="utf-8"))


# --- The sample review --------------------------------------------------------------------


def test_sample_chapter_titles_in_order(her):
    assert [chapter.title for chapter in her.chapters] == [
        "", "Setting and introductions", "When He met Her", "Love Progresses",
        "Complications and an Owl", "The Big Revelation", "Final Notes",
    ]


def test_sample_site_chrome_is_not_narrated(her):
    text = " ".join(all_paragraphs(her))
    assert "Return to user reviews" not in text
    assert "Discuss Her below" not in text


def test_sample_title_block_becomes_metadata(her):
    metadata = her.metadata
    assert (metadata.title, metadata.year, metadata.director) == ("Her", "2013", "Spike Jonze")
    assert metadata.cast == ("Joaquin Phoenix",)
    assert (metadata.published, metadata.updated) == ("2014-08-08", "2023-09-11")
    assert metadata.headline == "Falling in love with AI"
    assert metadata.genre == "Drama"
    assert metadata.tagline.startswith("A lonely writer develops")


def test_sample_title_block_is_not_narrated_as_fields(her):
    text = " ".join(all_paragraphs(her))
    for raw in ("Genre Drama", "Production year", "Male actors", "Published:", "Falling in love with AI"):
        assert raw not in text


def test_sample_opening_and_closing_paragraphs(her):
    assert her.chapters[0].paragraphs[0].startswith("All right, before I begin")
    assert "Now, onwards to the review." in her.chapters[0].paragraphs
    assert her.chapters[-1].paragraphs[-1] == "That little kid cracked me up. Seriously. He is worth the movie alone."


def test_sample_introduction_is_spoken_not_labels(her):
    assert "Spike Jonze" in her.introduction
    assert "Genre" not in her.introduction and "Production year" not in her.introduction
    assert her.introduction.startswith("Her, 2013.")
    assert her.introduction.endswith("Falling in love with AI.")


def test_sample_keeps_typography_and_collapses_spaces(her):
    text = " ".join(all_paragraphs(her))
    assert "\u201cHer\u201d" in text and "haven\u2019t" in text
    assert "\u00a0" not in text and "  " not in text


def test_sample_pasted_without_blank_lines_reads_the_same(her):
    """Text copied from a page often has one newline between paragraphs."""
    compact = re.sub(r"\n\s*\n+", "\n", SAMPLE.read_text(encoding="utf-8"))
    document = read_plain(compact)
    assert [chapter.title for chapter in document.chapters] == [chapter.title for chapter in her.chapters]
    assert document.metadata == her.metadata
    assert all_paragraphs(document) == all_paragraphs(her)


# --- Other plain texts ---------------------------------------------------------------------

PLAIN_CASES = [
    pytest.param(
        "book-review.txt",
        ["", "What Stevens Will Not Say", "Why It Still Works"],
        {"title": "The Remains of the Day", "author": "Anna Berg", "published": "2021-03-03",
         "year": "1989", "headline": "A butler's road trip through memory"},
        "I came to this novel late",
        "Read it slowly. It rewards patience.",
        ["Posted by", "Labels", "Share this", "Twitter", "comments", "Books", "Kazuo Ishiguro"],
        id="book-review-blog-chrome",
    ),
    pytest.param(
        "article-no-headings.txt",
        [""],
        {"title": "Why I Walk to Work", "author": "Sam Ortiz", "updated": "2022-06-02"},
        "Every morning at half past seven",
        "If you can, try it for a week. Leave the headphones at home.",
        ["Read more", "Advertisement", "All rights reserved", "By Sam Ortiz"],
        id="article-without-headings",
    ),
    pytest.param(
        "title-case-review.txt",
        ["", "The Look And The Sound", "Performances Worth The Ticket"],
        {"title": "Dune: Part Two", "year": "2024", "director": "Denis Villeneuve",
         "cast": ("Timothée Chalamet", "Zendaya"), "headline": "A Bigger, Louder, Better Sequel"},
        "I went in with low expectations",
        "Highly recommended",
        ["Previous review", "Next review", "Runtime"],
        id="one-line-paragraphs-title-case-headings",
    ),
    pytest.param(
        "numbered-list.txt",
        ["", "The Lessons", "What I Would Do Differently"],
        {"title": "Five Things I Learned Baking Bread at Home"},
        "Last spring I decided",
        "Happy baking.",
        ["Back to top"],
        id="numbered-list",
    ),
]


@pytest.mark.parametrize("name, titles, metadata, opening, last, absent", PLAIN_CASES)
def test_plain_texts(name, titles, metadata, opening, last, absent):
    document = read_plain((TEXTS / name).read_text(encoding="utf-8"))
    assert [chapter.title for chapter in document.chapters] == titles
    for field, value in metadata.items():
        assert getattr(document.metadata, field) == value, field
    assert document.chapters[0].paragraphs[0].startswith(opening)
    assert document.chapters[-1].paragraphs[-1] == last
    text = " ".join(all_paragraphs(document))
    for chrome in absent:
        assert chrome not in text


def test_short_prose_lines_with_punctuation_stay_in_their_chapter():
    document = read_plain((TEXTS / "title-case-review.txt").read_text(encoding="utf-8"))
    assert "Wow." in document.chapters[0].paragraphs
    assert "Not everything lands." in document.chapters[1].paragraphs


def test_numbered_list_items_are_sentences_of_their_own():
    document = read_plain((TEXTS / "numbered-list.txt").read_text(encoding="utf-8"))
    lessons = document.chapters[1].paragraphs
    assert len(lessons) == 5
    assert lessons[1] == "2. A cold kitchen is not a disaster, it just makes everything slower."
    assert lessons[3] == "4. Steam makes the crust."
    assert "keep a notebook by the oven." in document.chapters[2].paragraphs


def test_book_creator_is_introduced_without_labels():
    document = read_plain((TEXTS / "book-review.txt").read_text(encoding="utf-8"))
    assert "By Kazuo Ishiguro." in document.introduction
    assert "Author" not in document.introduction and "Pages" not in document.introduction
    assert document.extras["fields"]["creator"] == "Kazuo Ishiguro"


@pytest.mark.parametrize(
    "text, title, expected_title, first_paragraph",
    [
        ("My Quiet Year\n\nIt was a quiet year.\n", "", "My Quiet Year", "It was a quiet year."),
        ("It was a quiet year.\n\nNothing happened.\n", "", "", "It was a quiet year."),
        ("It was a quiet year.\n", "Given Title", "Given Title", "It was a quiet year."),
        ("Given Title\n\nIt was a quiet year.\n", "Given Title", "Given Title", "It was a quiet year."),
    ],
)
def test_plain_title_without_title_block(text, title, expected_title, first_paragraph):
    document = read_plain(text, title=title)
    assert document.metadata.title == expected_title
    assert document.chapters[0].paragraphs[0] == first_paragraph


def test_compact_title_block_without_blank_lines():
    document = read_plain("Why I Walk\nBy Sam Ortiz\nGenre: Essay\n\nI walk. It is nice.\n")
    assert (document.metadata.title, document.metadata.author) == ("Why I Walk", "Sam Ortiz")
    assert all_paragraphs(document) == ["I walk. It is nice."]


def test_title_and_author_arguments_win_over_the_text():
    document = read_plain(SAMPLE.read_text(encoding="utf-8"), title="Her, a review", author="Ingrid")
    assert document.metadata.title == "Her, a review"
    assert document.metadata.author == "Ingrid"


@pytest.mark.parametrize(
    "date_line, published",
    [
        ("Published: Aug 8, 2014", "2014-08-08"),
        ("Posted on 3 March 2021", "2021-03-03"),
        ("Date: 2019-12-31", "2019-12-31"),
        ("By Jane Roe, Friday, September 1st, 2023", "2023-09-01"),
        ("Published: Sept. 11, 2023", "2023-09-11"),
    ],
)
def test_title_block_dates_become_iso(date_line, published):
    document = read_plain(f"A Film (2001)\n\n{date_line}\nGenre: Comedy\n\nIt was funny. I laughed.\n")
    assert document.metadata.published == published
    assert document.chapters[0].paragraphs == ("It was funny. I laughed.",)


def test_hard_wrapped_lines_are_joined_and_hyphenated_words_rejoined():
    text = "It was a well-\nknown fact that the   film\nwas long.\n\nThe second\tparagraph.\n"
    document = read_plain(text)
    assert document.chapters[0].paragraphs == (
        "It was a well-known fact that the film was long.",
        "The second paragraph.",
    )


@pytest.mark.parametrize(
    "line, is_heading",
    [
        ("Setting and introductions", True),
        ("Complications and an Owl", True),
        ("Now, onwards to the review.", False),
        ("That little kid cracked me up. Seriously.", False),
        ("Many questions remain:", False),
        ("but then it rained", False),  # lower-case start: a fragment, not a title
        ("- an item in a list", False),
        ("This line is far too long to be a chapter title of anything at all", False),
    ],
)
def test_heading_detection(line, is_heading):
    text = f"Opening paragraph of the text. It is prose.\n\n{line}\n\nA real paragraph follows here. It is prose.\n"
    titles = [chapter.title for chapter in read_plain(text).chapters]
    assert (line in titles) is is_heading


def test_title_like_line_at_the_end_is_not_a_heading():
    document = read_plain("Opening paragraph. It is prose.\n\nFinal Thoughts\n")
    assert [chapter.title for chapter in document.chapters] == [""]
    assert document.chapters[0].paragraphs[-1] == "Final Thoughts"


@pytest.mark.parametrize(
    "chrome",
    ["» Back to reviews", "Share this", "Was this review helpful?", "Copyright 2024 Example Media",
     "Sign in", "https://example.com/review/42", "Home › Films › Reviews", "12 of 15 people found this review helpful"],
)
def test_site_chrome_lines_are_dropped_anywhere(chrome):
    document = read_plain(f"Opening paragraph. It is prose.\n\n{chrome}\n\nSecond paragraph. Also prose.\n")
    assert all_paragraphs(document) == ["Opening paragraph. It is prose.", "Second paragraph. Also prose."]


def test_trailing_links_after_chrome_are_dropped_but_earlier_short_lines_stay():
    text = (
        "The review itself. It is prose.\n\nHighly recommended\n\n"
        "Posted by Kim at 9:14 PM\n\nOlder posts\n\nTwitter\n"
    )
    assert all_paragraphs(read_plain(text)) == ["The review itself. It is prose.", "Highly recommended"]


# --- Markdown ----------------------------------------------------------------------------

MARKDOWN_CASES = [
    pytest.param("# Title\n\nOpening.\n\n## First\n\nOne.\n\nSecond\n------\n\nTwo.\n",
                 ["", "First", "Second"], ["Opening.", "One.", "Two."], ["#", "---"], id="headings"),
    pytest.param("Some *emphasis*, **strong** and ~~struck~~ words.\n",
                 [""], ["Some emphasis, strong and struck words."], ["*", "~"], id="emphasis"),
    pytest.param("Read [the review](https://example.com/r) now.\n",
                 [""], ["Read the review now."], ["https", "]("], id="links"),
    pytest.param("Opening.\n\nReasons:\n\n- it is short\n- it is funny!\n\n1. first\n2. second\n",
                 ["", "Reasons"], ["Opening.", "it is short.", "it is funny!", "1. first.", "2. second."], ["- "],
                 id="lists-after-a-label"),
    pytest.param("> A quoted line\n> that wraps.\n\nAfter.\n",
                 [""], ["A quoted line that wraps.", "After."], [">"], id="quotes"),
    pytest.param("Before.\n\n```python\nprint('x')\n```\n\n    indented = code()\n\nUse `foo_bar()` or `make`.\n",
                 [""], ["Before.", "A code example is omitted.", "Use or make."], ["print", "indented", "foo_bar"],
                 id="code-skipped"),
    pytest.param("Look.\n\n![A poster of the film](poster.jpg)\n\n![](decoration.png)\n",
                 [""], ["Look.", "Image: A poster of the film."], ["poster.jpg", "decoration"], id="image-alt"),
    pytest.param("Safe.\n\n<div><script>alert('x')</script><p>Shown &amp; kept</p><style>p{}</style></div>\n\n"
                 "Inline <b>bold</b> <script>evil()</script>end.\n",
                 [""], ["Safe.", "Shown & kept", "Inline bold end."], ["alert", "evil", "<", "p{}"], id="raw-html"),
    pytest.param("| Film | Year |\n|---|---|\n| Her | 2013 |\n",
                 [""], ["Film: Her, Year: 2013."], ["|"], id="table"),
]


@pytest.mark.parametrize("markdown, titles, paragraphs, absent", MARKDOWN_CASES)
def test_markdown(markdown, titles, paragraphs, absent):
    document = read_markdown(markdown)
    assert [chapter.title for chapter in document.chapters] == titles
    assert all_paragraphs(document) == paragraphs
    text = " ".join(all_paragraphs(document) + [chapter.title for chapter in document.chapters])
    for fragment in absent:
        assert fragment not in text


@pytest.mark.parametrize(
    "markdown, title, expected_title, titles",
    [
        ("# Her (2013)\n\nOpening.\n\n## Part\n\nText.\n", "", "Her", ["", "Part"]),
        ("# One\n\nA.\n\n# Two\n\nB.\n", "", "", ["One", "Two"]),
        ("# Falling in love\n\nA.\n", "Her", "Her", [""]),
        ("---\ntitle: From Front Matter\nauthor: Jo\n---\n\nBody text.\n", "", "From Front Matter", [""]),
    ],
)
def test_markdown_title_rules(markdown, title, expected_title, titles):
    document = read_markdown(markdown, title=title)
    assert document.metadata.title == expected_title
    assert [chapter.title for chapter in document.chapters] == titles


def test_markdown_consecutive_headings_name_one_chapter():
    document = read_markdown("# Book\n\n## Part One\n\n### The Beginning\n\nIt began.\n")
    assert [chapter.title for chapter in document.chapters] == ["Part One: The Beginning"]


# --- Structured chapters --------------------------------------------------------------------


def test_read_chapters_splits_paragraphs_and_keeps_titles():
    document = read_chapters(
        [{"title": "Start", "text": "One line\nwrapped.\n\nTwo."}, {"title": "", "text": "Three."}],
        title="T", author="A",
    )
    assert [(chapter.title, chapter.paragraphs) for chapter in document.chapters] == [
        ("Start", ("One line wrapped.", "Two.")), ("", ("Three.",)),
    ]
    assert (document.metadata.title, document.metadata.author) == ("T", "A")


@pytest.mark.parametrize(
    "chapters, error, field",
    [
        ("just text", InvalidTextError, "chapters"),
        ([], EmptyTextError, "chapters"),
        (["text"], InvalidTextError, "chapters[0]"),
        ([{"title": "ok", "text": "fine"}, {"title": 3, "text": "x"}], InvalidTextError, "chapters[1].title"),
        ([{"title": "a", "text": "b"}] * 3 + [{"title": "", "text": None}], InvalidTextError, "chapters[3].text"),
        ([{"title": "a"}], InvalidTextError, "chapters[0].text"),
        ([{"title": "a", "txt": "b"}], InvalidTextError, "chapters[0].txt"),
        ([{"title": "a", "text": " \n\n "}], EmptyTextError, "chapters[0].text"),
        ([{"title": "x" * 500, "text": "b"}], InvalidTextError, "chapters[0].title"),
    ],
)
def test_read_chapters_validation(chapters, error, field):
    with pytest.raises(error) as raised:
        read_chapters(chapters)
    assert raised.value.field == field
    assert field.split(".")[0] in raised.value.message


# --- Decoding and empty texts ---------------------------------------------------------------


def test_decode_text_reports_offset_of_invalid_utf8():
    with pytest.raises(InvalidTextError) as raised:
        decode_text("caf\u00e9 ".encode() + b"\xff\xfe rest")
    assert "offset 6" in raised.value.message and "UTF-8" in raised.value.message


def test_decode_text_strips_bom_controls_and_normalizes_newlines():
    assert decode_text(b"\xef\xbb\xbfOne\r\nTwo\rThree\x00\x07\tend") == "One\nTwo\nThree\tend"
    assert decode_text("\u201cquoted\u201d \u2014 dash".encode()) == "\u201cquoted\u201d \u2014 dash"


@pytest.mark.parametrize("reader", [read_plain, read_markdown])
@pytest.mark.parametrize("text", ["", "   \n\t\n  ", "\u00a0\n"])
def test_empty_text_is_an_error(reader, text):
    with pytest.raises(EmptyTextError):
        reader(text)


def test_text_of_only_chrome_is_an_error_that_says_what_to_do():
    with pytest.raises(EmptyTextError, match="Paste the full text"):
        read_plain("»Return to user reviews\n\nDiscuss Her below:\n")


# --- Introduction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata, expected",
    [
        (Metadata(title="Her", year="2013", director="Spike Jonze", cast=("Joaquin Phoenix",), genre="Drama",
                  tagline="A lonely writer falls for an operating system.", headline="Falling in love with AI"),
         "Her, 2013. Directed by Spike Jonze, with Joaquin Phoenix. A drama. "
         "A lonely writer falls for an operating system. Falling in love with AI."),
        (Metadata(title="Alien", genre="Horror"), "Alien. A horror story."),
        (Metadata(title="Why?", year="1999"), "Why? From 1999."),
        (Metadata(cast=("A", "B", "C", "D")), "With A, B and C."),
        (Metadata(headline="My year", author="Kim"), "My year, by Kim."),
        (Metadata(), ""),
    ],
)
def test_introduce(metadata, expected):
    assert introduce(metadata) == expected


# --- Reviews as pasted from sites: ratings, work facts, labels, furniture -------------------------

RATING_FORMS = [
    ("★★★★½", "4.5/5 stars", "four and a half out of five stars"),
    ("★★★☆☆", "3/5 stars", "three out of five stars"),
    ("*** out of ****", "3/4 stars", "three out of four stars"),
    ("***1/2", "3.5/4 stars", "three and a half out of four stars"),
    ("3/4", "3/4", "three out of four"),
    ("8 / 10", "8/10", "eight out of ten"),
    ("4.5/5", "4.5/5", "four and a half out of five"),
    ("Rating: 4.5/5", "4.5/5", "four and a half out of five"),
    ("Grade: B+", "B+", "B plus"),
    ("Final grade: A-", "A-", "A minus"),
    ("9 out of 10", "9/10", "nine out of ten"),
    ("Three out of four stars", "3/4 stars", "three out of four stars"),
    ("Four stars", "4 stars", "four stars"),
    ("Our Score: 8.5/10", "8.5/10", "eight and a half out of ten"),
    ("87/100", "87/100", "eighty-seven out of one hundred"),
    ("Verdict: Good", "Good", "good"),
]


@pytest.mark.parametrize("line, written, spoken", RATING_FORMS)
def test_a_rating_line_in_any_common_form_is_metadata_said_once_in_words(line, written, spoken):
    document = read_plain(f"A Film\n\n{line}\n\nIt was a film. I watched it.\n")
    assert document.metadata.rating == written
    assert spoken.casefold() in document.introduction.casefold()
    assert [chapter.title for chapter in document.chapters] == [""]
    assert all_paragraphs(document) == ["It was a film. I watched it."]


@pytest.mark.parametrize("line", ["10/02/2015", "3/7", "B+", "The Good", "Score: The music is great.", "***"])
def test_lines_that_only_look_like_ratings_are_not_ratings(line):
    from narration.reading.ratings import parse_rating

    assert parse_rating(line) is None


def test_a_rating_is_never_the_title():
    document = read_plain("*** out of ****\nHarbour Lights\n2015 R 108 Minutes\n\nA ghost story. It is good.\n")
    assert document.metadata.title == "Harbour Lights"
    assert (document.metadata.year, document.metadata.certificate, document.metadata.runtime) == (
        "2015", "R", "108 minutes")
    assert "out of." not in document.introduction


@pytest.mark.parametrize("line, fields", [
    ("2015 R 108 Minutes", {"year": "2015", "certificate": "R", "runtime": "108 minutes"}),
    ("PG-13 | 2h 3m | Drama, Romance", {"certificate": "PG-13", "runtime": "123 minutes", "genre": "Drama, Romance"}),
    ("Drama | Science Fiction", {"genre": "Drama, Science Fiction"}),
    ("Posted by Kim on 10/02/2015", {"author": "Kim", "published": "2015-10-02"}),
    ("By Dana Whitfield · March 14, 2025 · 6 min read", {"author": "Dana Whitfield", "published": "2025-03-14"}),
    ("Posted on October 2, 2015 by Kim Lee", {"author": "Kim Lee", "published": "2015-10-02"}),
    ("Reviewed in the United States on March 3, 2024", {"published": "2024-03-03"}),
])
def test_fact_lines_anywhere_become_metadata_and_are_not_read(line, fields):
    document = read_plain(f"A paragraph of prose. It says things.\n\n{line}\n\nAnother paragraph. It ends.\n")
    for name, value in fields.items():
        assert getattr(document.metadata, name) == value, name
    assert all_paragraphs(document) == ["A paragraph of prose. It says things.", "Another paragraph. It ends."]
    assert "min read" not in document.introduction


@pytest.mark.parametrize("label, title", [
    ("WHAT I LIKED:", "What I liked"), ("WHAT I DIDN'T LIKE:", "What I didn't like"), ("The Good:", "The good"),
    ("Cons:", "Cons"), ("OVERALL:", "Overall"), ("Verdict:", "Verdict"),
])
def test_a_label_opening_a_paragraph_starts_a_chapter_in_sentence_case(label, title):
    document = read_plain(f"Opening paragraph. It is prose.\n\n{label} The rest of the paragraph. It goes on.\n")
    assert [chapter.title for chapter in document.chapters] == ["", title]
    assert document.chapters[1].paragraphs == ("The rest of the paragraph. It goes on.",)


@pytest.mark.parametrize("text", ["Note: this was a press screening.", "Many questions remain: who, and why?",
                                  "Update: I saw it again."])
def test_remarks_and_sentences_with_colons_stay_in_their_chapter(text):
    document = read_plain(f"Opening paragraph. It is prose.\n\n{text}\n")
    assert [chapter.title for chapter in document.chapters] == [""]
    assert document.chapters[0].paragraphs[-1] == text


@pytest.mark.parametrize("furniture", [
    "Permalink | Comments (3) | Share", "Was this review helpful? Yes / No", "12 of 14 people found this review helpful",
    "Report this review", "Tags: drama, romance", "We use cookies to improve your experience. Accept all cookies.",
    "Sign up for our newsletter", "Facebook Twitter Email", "♥ 12 💬 3", "Like · Comment · 14 likes",
])
def test_site_furniture_is_never_read_wherever_it_sits(furniture):
    text = f"First paragraph. It is prose.\n\n{furniture}\n\nSecond paragraph. Also prose.\n"
    for reader in (read_plain, read_markdown):
        assert all_paragraphs(reader(text)) == ["First paragraph. It is prose.", "Second paragraph. Also prose."]


def test_a_spoiler_banner_is_one_short_sentence_said_once():
    text = "A Film\n\nSPOILERS AHEAD\n\nIt opens well. It ends badly.\n\n** Spoiler warning **\n\nThe twist is weak.\n"
    paragraphs = all_paragraphs(read_plain(text))
    assert paragraphs == ["This review contains spoilers.", "It opens well. It ends badly.", "The twist is weak."]


def test_the_sample_still_has_no_rating_and_its_six_titled_chapters(her):
    assert her.metadata.rating == ""
    assert len([chapter for chapter in her.chapters if chapter.title]) == 6


# --- One entry point for every kind of source --------------------------------------------------------


def test_read_source_reads_every_kind_and_keeps_the_url():
    from narration.reading import read_source

    html = "<html><head><title>T</title></head><body><article><h1>T</h1><p>" + "A sentence here. " * 20 + "</p></article></body></html>"
    for kind, payload in [("text", "Hello there. It is short.\n"), ("markdown", b"# T\n\nHello *there*.\n"),
                          ("chapters", [{"title": "One", "text": "Hello."}]), ("html", html)]:
        document = read_source(kind, payload, url="https://example.com/review")
        assert document.chapters and document.metadata.url == "https://example.com/review"
    with pytest.raises(ValueError):
        read_source("pdf", b"%PDF")


def test_a_fetched_page_is_decoded_by_the_charset_it_was_sent_with():
    from narration.fetch import Fetched
    from narration.reading import read_fetched

    body = "Caf\u00e9 society. It was fine.\n".encode("latin-1")
    document = read_fetched(Fetched("https://example.com/r.txt", "text/plain", "text", body, "iso-8859-1"))
    assert all_paragraphs(document) == ["Caf\u00e9 society. It was fine."]
    assert document.metadata.url == "https://example.com/r.txt"


@pytest.mark.parametrize("name, data, kind", [
    ("page.html", b"anything", "html"), ("page.HTM", b"anything", "html"), ("notes.md", b"<html>", "markdown"),
    ("review.txt", b"  <!DOCTYPE html><html><body>x</body></html>", "html"),
    ("stdin", b"<!-- saved --><html lang=en><p>x</p></html>", "html"), ("review.txt", b"Plain <b>text</b>.", "text"),
])
def test_the_cli_picks_the_reader_by_suffix_then_by_content(name, data, kind):
    from cli.narrate import _kind

    assert _kind("auto", Path(name).suffix.lower(), data) == kind


def test_speaker_labels_of_a_dialogue_are_not_sections():
    text = ("We hear them before we see them.\n\nTheodore: Are you there?\n\nSamantha: I'm here.\n\n"
            "Theodore: Good. I missed you.\n\nSamantha: I know.\n\nVerdict: The best scene of the film, and the quietest.\n")
    document = read_plain(text)
    assert [chapter.title for chapter in document.chapters] == ["", "Verdict"]
    assert "Theodore: Good. I missed you." in document.chapters[0].paragraphs
