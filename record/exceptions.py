"""Every exception the record package raises, in one place.

Must never hold logic. Writing never raises into an emitter (`RecordWriter.emit` logs instead); only reading does,
for a query that cannot be answered.
"""

from __future__ import annotations


class RecordError(Exception):
    """Base of every record error."""


class InvalidEventQuery(RecordError, ValueError):
    """A read the record cannot answer: an unknown kind, a range that ends before it starts, a limit out of bounds."""
