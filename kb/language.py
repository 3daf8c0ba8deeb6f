"""Which language a customer wrote in, decided from the characters alone.

Owns `detect_language`. Must never call a model or the network: it runs before every lookup and must cost
microseconds.
"""

from __future__ import annotations

import re

ENGLISH = "en"
CHINESE = "zh"
SUPPORTED_LANGUAGES = (ENGLISH, CHINESE)

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, CJK punctuation and full-width forms.
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
)


def is_cjk(char: str) -> bool:
    """True for a Chinese ideograph."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


# Latin letters that are not words of any language: an email, a URL or bare domain, and any run that holds a digit
# (an order number "FD-000001", a phone number, a postcode). ASCII-only classes, so an adjacent ideograph stays.
_WORDLESS = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"  # email
    r"|(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[!-~]+"  # URL
    r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/[!-~]*)?"  # bare domain (example.cn/help)
    r"|[A-Za-z0-9_#/-]*[0-9][A-Za-z0-9_#/-]*"  # anything with a digit in it
)


# Fewer Latin words than this, and no ideograph, say nothing about the language: a Chinese customer typing "ok",
# "iPhone" or "Canon EOS" is still writing Chinese, so such text gives `default` (the conversation's language).
MIN_WORDS_TO_SWITCH = 3


def detect_language(text: str, default: str = ENGLISH) -> str:
    """Return 'zh' when Chinese characters dominate the words of `text`, else 'en'; `default` when it has no words.

    One ideograph carries roughly a word, so ideographs are weighed against Latin *words* rather than letters:
    "我的 card 丢了" is Chinese, "reset my PIN 密码" is English. Emails, URLs, domains and numbers ("FD-000001")
    are no one's words: a Chinese customer typing their email is still writing Chinese, so such text alone gives
    `default` (the conversation's language), as does a short Latin token without ideographs (MIN_WORDS_TO_SWITCH).
    """
    text = _WORDLESS.sub(" ", text)
    cjk = 0
    latin_words = 0
    in_word = False
    for char in text:
        if is_cjk(char):
            cjk += 1
            in_word = False
        elif char.isascii() and char.isalpha():
            if not in_word:
                latin_words += 1
            in_word = True
        else:
            in_word = False
    if cjk == 0 and latin_words < MIN_WORDS_TO_SWITCH:
        return default
    return CHINESE if cjk >= latin_words else ENGLISH
