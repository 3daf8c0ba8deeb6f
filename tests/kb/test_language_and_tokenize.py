from __future__ import annotations

from kb.language import detect_language
from kb.tokenize import char_ngrams, tokenize


def test_chinese_text_is_detected_as_zh() -> None:
    assert detect_language("我的退款什么时候到账") == "zh"


def test_english_text_is_detected_as_en() -> None:
    assert detect_language("Where is my refund?") == "en"


def test_mixed_text_follows_the_dominant_script() -> None:
    assert detect_language("我的 card 丢了怎么办") == "zh"
    assert detect_language("how do I reset my PIN 密码") == "en"


def test_text_without_letters_falls_back_to_the_default() -> None:
    assert detect_language("12345 ???", default="zh") == "zh"


def test_emails_urls_and_order_numbers_are_not_words_of_any_language() -> None:
    for text in ("wang.fang@example.cn", "https://example.com/a?b=1", "FD-000001", "+86 138 0013 8000", "🙂"):
        assert detect_language(text, default="zh") == "zh", text
        assert detect_language(text, default="en") == "en", text
    assert detect_language("my email is wang.fang@example.cn", default="zh") == "en"
    assert detect_language("邮箱 wang.fang@example.cn", default="en") == "zh"


def test_english_tokens_are_lowercased_words_without_stop_words() -> None:
    assert tokenize("Where is MY Refund?", "en") == ["where", "refund"]


def test_a_query_of_only_stop_words_keeps_its_tokens() -> None:
    assert tokenize("is it", "en") == ["is", "it"]


def test_chinese_is_segmented_into_words_by_jieba() -> None:
    tokens = tokenize("我的退款什么时候到账", "zh")
    assert "退款" in tokens
    assert "的" not in tokens


def test_char_ngrams_cover_every_length_asked_for() -> None:
    assert char_ngrams("ab", 1, 2) == ["a", "b", "ab"]


def test_a_short_latin_token_keeps_the_conversations_language() -> None:
    for text in ("ok", "OK!", "iPhone", "Canon DSLR", "hi"):
        assert detect_language(text, default="zh") == "zh", text
        assert detect_language(text, default="en") == "en", text
    assert detect_language("I want a refund", default="zh") == "en"
