from bot.pipeline import interpret_replies
from conversations.models import Sender


def test_text_and_buttons_become_bot_messages_in_order() -> None:
    drafts, handoffs = interpret_replies(
        [
            {"recipient_id": "c", "text": "Hi!"},
            {"recipient_id": "c", "text": "Was this helpful?", "buttons": [{"title": "Yes", "payload": "/yes"}]},
        ]
    )
    assert [(d.sender, d.text) for d in drafts] == [(Sender.BOT, "Hi!"), (Sender.BOT, "Was this helpful?")]
    assert drafts[1].buttons[0].payload == "/yes"
    assert handoffs == []


def test_custom_payloads_become_events_and_handoff_signals_are_returned() -> None:
    drafts, handoffs = interpret_replies(
        [
            {"custom": {"kb": {"decision": "not_found"}}},
            {"custom": {"handoff": {"reason": "kb_not_found", "scores": {"confidence": 0.1}}}},
            {"text": "Let me find someone."},
        ]
    )
    assert [d.sender for d in drafts] == [Sender.EVENT, Sender.BOT]
    assert drafts[0].custom == {"kb": {"decision": "not_found"}}
    assert handoffs == [{"reason": "kb_not_found", "scores": {"confidence": 0.1}}]


def test_malformed_replies_are_skipped_not_fatal() -> None:
    drafts, handoffs = interpret_replies([{"text": None}, {"buttons": "nope", "text": 5}, {"custom": "x"}])
    assert drafts == [] and handoffs == []
