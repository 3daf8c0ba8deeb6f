"""Every exception the knowledge-base retrieval core raises, in one place.

Must never hold logic: callers map these to status codes or hand-offs.
"""

from __future__ import annotations


class KBError(Exception):
    """Base class for knowledge-base retrieval errors."""


class EncoderUnavailable(KBError):
    """An encoder's package or bundled model files are missing."""


class IndexMismatch(KBError):
    """A saved index does not match the encoders or settings it is being loaded with."""


class EvaluationDataError(KBError):
    """An evaluation CSV is missing columns or is empty."""


class InvalidThresholds(KBError):
    """An answer/clarify pair an editor may not apply (not numbers in [0, 1], or clarify above answer)."""
