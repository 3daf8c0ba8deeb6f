"""What the actions say to customers: each sentence's English message id, by the key the actions use.

Owns the keys and `say(key, language, **values)`; the wording in every language lives in the `messages` catalogue
(`i18n/locale/*/LC_MESSAGES/messages.po`, English text as the id). Must never hold logic beyond looking up the id,
translating it (English is the fallback for anything else) and filling placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping

from i18n import N_, translate

# Sentences, by key (a key is what validation passes around, e.g. a `Problem` value).
TEXTS: Mapping[str, str] = {
    "kb_helpful": N_("Was this helpful?"),
    "btn_yes": N_("Yes"),
    "btn_no": N_("No"),
    "btn_human": N_("Talk to a human"),
    "kb_clarify": N_("I want to get this right. Did you mean one of these?"),
    "kb_rephrase": N_("Sorry, I couldn't find an answer to that. Could you rephrase your question?"),
    "kb_choice_gone": N_("Sorry, I lost track of that option. Could you ask your question again?"),
    "feedback_thanks": N_("Glad I could help!"),
    "feedback_sorry": N_("Sorry that didn't help. You can rephrase your question, or talk to a colleague."),
    "handoff_connecting": N_("I'm connecting you with a colleague who can help. Please stay in this chat."),
    "handoff_error": N_("Sorry, something went wrong on my side. I'm passing you to a colleague."),
    "ask_category_suggested": N_(
        "It sounds like this is about {category} (you mentioned “{cues}”). Is that right? "
        "If not, please pick the closest category:"
    ),
    "ask_category": N_("What is your issue about? Please pick a category:"),
    "ask_urgency_suggested": N_("This sounds {urgency} to me (you mentioned “{cues}”). Is that right?"),
    "ask_urgency": N_("How urgent is this for you?"),
    "bad_order_format": N_(
        "That doesn't look like an order number. Please copy it from your order confirmation "
        "(digits only, e.g. 1234567890)."
    ),
    "order_not_found": N_("I couldn't find order {number} on your account. Please check the number and send it again."),
    "order_unchecked": N_(
        "I couldn't check order {number} with our order system just now, so I've noted it as you gave it."
    ),
    "order_proven": N_("Thanks, that matches order {number}. We'll recognise you on our other channels too."),
    "too_long": N_("That's a bit long for this answer. Please keep it under {limit} characters."),
    "markup": N_("Please send plain text only, without code or HTML tags."),
    "no_words": N_("Sorry, I couldn't read that. Please answer in words."),
    "gibberish": N_("Sorry, I couldn't understand that. Could you say it another way?"),
    "other_language": N_("Sorry, I can only help in English or Chinese. Please answer in English or Chinese."),
    "too_short": N_("Could you describe the problem in a few more words?"),
    "bad_contact": N_(
        "Please give a phone number or an email address we can reach you at, "
        "e.g. name@example.com or +86 138 0013 8000."
    ),
    "bad_category": N_("Please pick one of the categories below."),
    "bad_urgency": N_("Please choose one: urgent, high or normal."),
    "form_stuck": N_("Let's not get stuck on this. I'll pass what we have to a colleague."),
    "ticket_created": N_("Thank you. I've created ticket {number}. We'll get back to you within {within} (by {due})."),
    "ticket_created_handoff": N_("Because this needs attention soon, I'm also connecting you with a colleague now."),
    "ticket_failed": N_("Sorry, I couldn't save your ticket just now. I'm passing your details to a colleague."),
    "ticket_status": N_("Ticket {number}{about}: {status} (priority {priority}). Last update: {updated}."),
    "ticket_not_found": N_("I couldn't find ticket {number} on your account. Please check the number."),
    "tickets_none_open": N_("You have no open tickets right now."),
    "tickets_open_header": N_("Your open tickets:"),
}

# How a category, urgency, priority or status value reads inside a sentence.
NAMES: Mapping[str, str] = {
    "product_fault": N_("a product fault"),
    "delivery": N_("delivery"),
    "refund_return": N_("a refund or return"),
    "billing": N_("billing and payment"),
    "service_complaint": N_("a complaint about our service"),
    "suggestion": N_("a suggestion"),
    "urgent": N_("urgent"),
    "high": N_("high"),
    "normal": N_("normal"),
    "low": N_("low"),
    "new": N_("open, waiting for a colleague"),
    "open": N_("in progress"),
    "pending_customer": N_("waiting for your reply"),
    "pending_internal": N_("in progress, waiting on a colleague's team"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}

# How a category or urgency value reads on a button.
BUTTON_TITLES: Mapping[str, str] = {
    "product_fault": N_("Product fault"),
    "delivery": N_("Delivery"),
    "refund_return": N_("Refund / return"),
    "billing": N_("Billing / payment"),
    "service_complaint": N_("Service complaint"),
    "suggestion": N_("Suggestion"),
    "urgent": N_("Urgent (safety risk)"),
    "high": N_("High"),
    "normal": N_("Normal"),
}


def say(key: str, language: str, **values: object) -> str:
    return translate(language, TEXTS[key], **values)


def name_of(value: str, language: str) -> str:
    """The customer-facing name of a category, urgency, priority or status value."""
    msgid = NAMES.get(value)
    return translate(language, msgid) if msgid else value


def button_title(value: str, language: str) -> str:
    msgid = BUTTON_TITLES.get(value)
    return translate(language, msgid) if msgid else value


def duration(hours: float, language: str) -> str:
    """'15 minutes', '4 hours', '3 days', '15 分钟', '1 小时', '3 天'."""
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return translate(language, N_("{count} minute") if minutes == 1 else N_("{count} minutes"), count=minutes)
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return translate(language, N_("{count} day") if days == 1 else N_("{count} days"), count=days)
    shown = int(hours) if float(hours).is_integer() else round(hours, 1)
    return translate(language, N_("{count} hour") if shown == 1 else N_("{count} hours"), count=shown)
