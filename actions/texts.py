"""Every customer-facing sentence the actions say, in English and Chinese.

Owns the wording and `say(key, language, **values)`. Must never hold logic beyond picking the language (English is
the fallback for anything else) and filling placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping

TEXTS: Mapping[str, Mapping[str, str]] = {
    # knowledge base
    "kb_helpful": {"en": "Was this helpful?", "zh": "这个回答对您有帮助吗？"},
    "btn_yes": {"en": "Yes", "zh": "有帮助"},
    "btn_no": {"en": "No", "zh": "没有帮助"},
    "btn_human": {"en": "Talk to a human", "zh": "转人工客服"},
    "kb_clarify": {
        "en": "I want to get this right. Did you mean one of these?",
        "zh": "为了准确回答，您是想问以下哪个问题？",
    },
    "kb_rephrase": {
        "en": "Sorry, I couldn't find an answer to that. Could you rephrase your question?",
        "zh": "抱歉，我没有找到相关答案。您能换个说法再问一次吗？",
    },
    "kb_choice_gone": {
        "en": "Sorry, I lost track of that option. Could you ask your question again?",
        "zh": "抱歉，这个选项已失效。请您再问一次好吗？",
    },
    "feedback_thanks": {"en": "Glad I could help!", "zh": "很高兴能帮到您！"},
    "feedback_sorry": {
        "en": "Sorry that didn't help. You can rephrase your question, or talk to a colleague.",
        "zh": "抱歉没能帮到您。您可以换个说法再问，或者转人工客服。",
    },
    # handoff
    "handoff_connecting": {
        "en": "I'm connecting you with a colleague who can help. Please stay in this chat.",
        "zh": "正在为您转接人工客服，请稍候，不要离开对话。",
    },
    "handoff_error": {
        "en": "Sorry, something went wrong on my side. I'm passing you to a colleague.",
        "zh": "抱歉，系统出了点问题，正在为您转接人工客服。",
    },
    # issue form
    "ask_category_suggested": {
        "en": "It sounds like this is about {category} (you mentioned “{cues}”). Is that right? "
        "If not, please pick the closest category:",
        "zh": "听起来这是「{category}」方面的问题（您提到了“{cues}”）。对吗？如果不对，请选择最接近的类别：",
    },
    "ask_category": {
        "en": "What is your issue about? Please pick a category:",
        "zh": "请问您的问题属于哪一类？请选择：",
    },
    "ask_urgency_suggested": {
        "en": "This sounds {urgency} to me (you mentioned “{cues}”). Is that right?",
        "zh": "这个问题听起来属于「{urgency}」（您提到了“{cues}”）。对吗？",
    },
    "ask_urgency": {"en": "How urgent is this for you?", "zh": "这个问题对您来说有多紧急？"},
    "bad_order_format": {
        "en": "That doesn't look like an order number. Please copy it from your order confirmation "
        "(digits only, e.g. 1234567890).",
        "zh": "这看起来不是订单号。请从订单确认信息中复制订单号（纯数字，例如 1234567890）。",
    },
    "order_not_found": {
        "en": "I couldn't find order {number} on your account. Please check the number and send it again.",
        "zh": "没有在您的账户中找到订单 {number}。请核对订单号后重新发送。",
    },
    "too_long": {
        "en": "That's a bit long for this answer. Please keep it under {limit} characters.",
        "zh": "这个回答太长了，请控制在 {limit} 个字以内。",
    },
    "markup": {
        "en": "Please send plain text only, without code or HTML tags.",
        "zh": "请只发送纯文字，不要包含代码或 HTML 标签。",
    },
    "no_words": {
        "en": "Sorry, I couldn't read that. Please answer in words.",
        "zh": "抱歉，我没能看懂。请用文字回答。",
    },
    "gibberish": {
        "en": "Sorry, I couldn't understand that. Could you say it another way?",
        "zh": "抱歉，我没能理解。您能换个说法吗？",
    },
    "other_language": {
        "en": "Sorry, I can only help in English or Chinese. Please answer in English or Chinese.",
        "zh": "抱歉，我只能用中文或英文为您服务，请用中文或英文回答。",
    },
    "too_short": {
        "en": "Could you describe the problem in a few more words?",
        "zh": "能再多描述一下问题吗？",
    },
    "bad_contact": {
        "en": "Please give a phone number or an email address we can reach you at, "
        "e.g. name@example.com or +86 138 0013 8000.",
        "zh": "请提供一个能联系到您的手机号或邮箱，例如 name@example.com 或 138 0013 8000。",
    },
    "bad_category": {"en": "Please pick one of the categories below.", "zh": "请从下面的类别中选择一个。"},
    "bad_urgency": {
        "en": "Please choose one: urgent, high or normal.",
        "zh": "请选择其中一项：非常紧急、较急或一般。",
    },
    "form_stuck": {
        "en": "Let's not get stuck on this. I'll pass what we have to a colleague.",
        "zh": "这一步我们先不纠结了，我会把已有的信息转交给同事处理。",
    },
    # tickets
    "ticket_created": {
        "en": "Thank you. I've created ticket {number}. We'll get back to you within {within} (by {due}).",
        "zh": "谢谢您。已为您创建工单 {number}。我们会在{within}内（{due}前）回复您。",
    },
    "ticket_created_handoff": {
        "en": "Because this needs attention soon, I'm also connecting you with a colleague now.",
        "zh": "由于这个问题需要尽快处理，我同时为您转接人工客服。",
    },
    "ticket_failed": {
        "en": "Sorry, I couldn't save your ticket just now. I'm passing your details to a colleague.",
        "zh": "抱歉，工单暂时无法保存。我会把您的信息转交给人工客服。",
    },
    "ticket_status": {
        "en": "Ticket {number}{about}: {status} (priority {priority}). Last update: {updated}.",
        "zh": "工单 {number}{about}：{status}（优先级：{priority}）。最近更新：{updated}。",
    },
    "ticket_not_found": {
        "en": "I couldn't find ticket {number} on your account. Please check the number.",
        "zh": "没有在您的账户中找到工单 {number}，请核对工单号。",
    },
    "tickets_none_open": {"en": "You have no open tickets right now.", "zh": "您目前没有未关闭的工单。"},
    "tickets_open_header": {"en": "Your open tickets:", "zh": "您未关闭的工单："},
}

NAMES: Mapping[str, Mapping[str, str]] = {
    "product_fault": {"en": "a product fault", "zh": "产品故障"},
    "delivery": {"en": "delivery", "zh": "物流配送"},
    "refund_return": {"en": "a refund or return", "zh": "退货退款"},
    "billing": {"en": "billing and payment", "zh": "账单与支付"},
    "service_complaint": {"en": "a complaint about our service", "zh": "服务投诉"},
    "suggestion": {"en": "a suggestion", "zh": "意见建议"},
    "urgent": {"en": "urgent", "zh": "非常紧急"},
    "high": {"en": "high", "zh": "较急"},
    "normal": {"en": "normal", "zh": "一般"},
    "low": {"en": "low", "zh": "低"},
    "open": {"en": "open, waiting for a colleague", "zh": "已受理，等待处理"},
    "in_progress": {"en": "in progress", "zh": "处理中"},
    "waiting_on_customer": {"en": "waiting for your reply", "zh": "等待您的回复"},
    "resolved": {"en": "resolved", "zh": "已解决"},
    "closed": {"en": "closed", "zh": "已关闭"},
}

BUTTON_TITLES: Mapping[str, Mapping[str, str]] = {
    "product_fault": {"en": "Product fault", "zh": "产品故障"},
    "delivery": {"en": "Delivery", "zh": "物流配送"},
    "refund_return": {"en": "Refund / return", "zh": "退货退款"},
    "billing": {"en": "Billing / payment", "zh": "账单支付"},
    "service_complaint": {"en": "Service complaint", "zh": "服务投诉"},
    "suggestion": {"en": "Suggestion", "zh": "意见建议"},
    "urgent": {"en": "Urgent (safety risk)", "zh": "非常紧急（有安全隐患）"},
    "high": {"en": "High", "zh": "较急"},
    "normal": {"en": "Normal", "zh": "一般"},
}


def _pick(table: Mapping[str, str], language: str) -> str:
    return table.get(language) or table["en"]


def say(key: str, language: str, **values: object) -> str:
    return _pick(TEXTS[key], language).format(**values)


def name_of(value: str, language: str) -> str:
    """The customer-facing name of a category, urgency, priority or status value."""
    table = NAMES.get(value)
    return _pick(table, language) if table else value


def button_title(value: str, language: str) -> str:
    table = BUTTON_TITLES.get(value)
    return _pick(table, language) if table else value


def duration(hours: float, language: str) -> str:
    """'4 hours', '3 days', '1 小时', '3 天'."""
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} 天" if language == "zh" else f"{days} day{'s' if days != 1 else ''}"
    shown = int(hours) if float(hours).is_integer() else round(hours, 1)
    return f"{shown} 小时" if language == "zh" else f"{shown} hour{'s' if shown != 1 else ''}"
