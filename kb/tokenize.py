"""Turning text into lexical terms for BM25: jieba words for Chinese, lowercased words for English.

Owns `tokenize`. Must never drop the whole query: if every token is a stop word, the tokens are kept.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from kb.language import CHINESE, is_cjk

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_JIEBA_LOCK = threading.Lock()
_jieba: Any = None

# Small, deliberately conservative lists: BM25's idf already discounts common words; these only remove words that
# carry nothing in an FAQ question and would otherwise add noise to short queries.
ENGLISH_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "this",
        "that",
        "these",
        "those",
        "there",
        "what",
        "how",
    }
)
CHINESE_STOP_WORDS = frozenset(
    {
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "呀",
        "是",
        "我",
        "你",
        "在",
        "有",
        "和",
        "就",
        "都",
        "也",
        "请问",
        "一下",
        "，",
        "。",
        "？",
        "！",
        "、",
        "~",
    }
)


def _load_jieba() -> Any:
    global _jieba
    with _JIEBA_LOCK:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def _chinese_tokens(text: str) -> list[str]:
    jieba = _load_jieba()
    tokens: list[str] = []
    for piece in jieba.lcut(text.lower()):
        piece = piece.strip()
        if not piece:
            continue
        if any(is_cjk(c) for c in piece) or _WORD.fullmatch(piece):
            tokens.append(piece)
        else:
            tokens.extend(_WORD.findall(piece))
    return tokens


def tokenize(text: str, language: str, *, drop_stop_words: bool = True) -> list[str]:
    """Split `text` into lowercased terms; Chinese goes through jieba, everything else through a word regex."""
    if language == CHINESE or any(is_cjk(c) for c in text):
        tokens = _chinese_tokens(text)
        stop = CHINESE_STOP_WORDS | ENGLISH_STOP_WORDS
    else:
        tokens = _WORD.findall(text.lower())
        stop = ENGLISH_STOP_WORDS
    if not drop_stop_words:
        return tokens
    kept = [t for t in tokens if t not in stop]
    return kept or tokens


def char_ngrams(text: str, low: int = 1, high: int = 3) -> list[str]:
    """Character n-grams of the whitespace-collapsed lowercased text (Chinese single characters carry meaning)."""
    clean = " ".join(text.lower().split())
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend(clean[i : i + n] for i in range(max(len(clean) - n + 1, 0)))
    return grams
