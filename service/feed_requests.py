"""Check the body of a feed create/edit request: every field typed and bounded, or a clear 422.

Categories are checked against Apple's top-level list (a feed with an unknown one is refused by
Apple Podcasts); the optional subcategory after a "/" is passed through as written.
"""

from __future__ import annotations

import re

from flask import Request

from narration.errors import NarrationError
from narration.reading import clean_text
from service.errors import InvalidRequestError, MissingFieldError
from service.requests import json_object

APPLE_CATEGORIES = (
    "Arts", "Business", "Comedy", "Education", "Fiction", "Government", "History",
    "Health & Fitness", "Kids & Family", "Leisure", "Music", "News", "Religion & Spirituality",
    "Science", "Society & Culture", "Sports", "Technology", "True Crime", "TV & Film")
LIMITS = {"title": 300, "description": 4000, "author": 300, "owner_email": 254, "category": 100}
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FLAGS = ("explicit", "chapter_episodes")
"""Fields that are true or false."""
FIELDS = {*LIMITS, "language", *FLAGS}


class NotPublishableError(NarrationError):
    """Only narrations that can still finish (or have) may go into a feed."""

    code = "not_publishable"
    status = 409


def parse_feed_fields(request: Request, *, creating: bool) -> dict:
    """The fields to set; a new feed needs a title, an edit needs at least one field."""
    fields = json_object(request, FIELDS)
    if creating and "title" not in fields:
        raise MissingFieldError('A feed needs a title: {"title": "…"}.', field="title")
    if not fields:
        raise MissingFieldError(f"Send at least one of: {', '.join(sorted(FIELDS))}.")
    checked = {}
    for name, value in fields.items():
        if name in FLAGS:
            if not isinstance(value, bool):
                raise InvalidRequestError(f"{name} must be true or false.", field=name)
            checked[name] = value
        else:
            checked[name] = text_field(name, value)
    if not checked.get("title", "x"):
        raise InvalidRequestError("title cannot be empty.", field="title")
    if "language" in checked and not LANGUAGE.match(checked["language"]):
        raise InvalidRequestError('language must be a language tag such as "en" or "en-GB".',
                                  field="language")
    if checked.get("owner_email") and not EMAIL.match(checked["owner_email"]):
        raise InvalidRequestError("owner_email must be an e-mail address (or empty).",
                                  field="owner_email")
    if "category" in checked and checked["category"].split("/")[0].strip() not in APPLE_CATEGORIES:
        raise InvalidRequestError(
            f"category must start with one of Apple's categories ({', '.join(APPLE_CATEGORIES)}),"
            ' optionally followed by "/Subcategory", e.g. "Arts/Books".', field="category")
    return checked


def text_field(name: str, value: object) -> str:
    """A string without control characters, inside its length limit."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string.", field=name)
    value = clean_text(value).strip()
    if name != "description":
        value = " ".join(value.split())
    limit = LIMITS.get(name, 35)
    if len(value) > limit:
        raise InvalidRequestError(f"{name} is {len(value)} characters long; keep it under "
                                  f"{limit}.", field=name)
    return value
