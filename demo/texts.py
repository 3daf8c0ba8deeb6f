"""What the demo's people say, in both languages: customers' questions the FAQ cannot answer, ticket descriptions,
agents' replies, survey comments, the bot's fixed lines and customers' names.

Plain data only; `demo.history` picks from it with its seeded generator. Every text is keyed by language ("en",
"zh") so a conversation never switches language halfway.
"""

from __future__ import annotations

from collections.abc import Mapping

from intake.models import Category

Bank = Mapping[str, tuple[str, ...]]

# Questions out of the starter FAQ's scope: the knowledge base's "not found" list. Few and repeated, so the
# dashboard's top not-found clusters have counts worth reading.
NOT_FOUND: Bank = {
    "en": (
        "Do you sell gift cards?",
        "Can I pick up my order in a store?",
        "Do you ship to Canada?",
        "Is there a student discount?",
        "Can I pay in instalments?",
        "Why was my coupon rejected?",
        "Do you have this lamp in green?",
    ),
    "zh": (
        "你们有礼品卡吗？",
        "可以到门店自提吗？",
        "能寄到香港吗？",
        "有学生优惠吗？",
        "可以分期付款吗？",
        "为什么优惠券用不了？",
        "这款台灯有绿色的吗？",
    ),
}

ASK_HUMAN: Bank = {
    "en": ("I want to talk to a person", "Can I speak to an agent please?", "human please"),
    "zh": ("我要人工客服", "转人工", "请帮我接通客服"),
}

GREETING: Bank = {"en": ("Hi", "Hello", "Good evening"), "zh": ("你好", "您好", "在吗")}
THANKS: Bank = {"en": ("Thanks!", "Great, thank you", "OK thanks"), "zh": ("谢谢", "好的，谢谢", "明白了，谢谢")}
REPORT: Bank = {"en": ("I have a problem with my order", "Something is wrong"), "zh": ("我的订单有问题", "我要投诉")}

# Ticket descriptions per category; a few name a lawyer or 12315, which the priority policy raises to high.
DESCRIPTIONS: Mapping[Category, Bank] = {
    Category.PRODUCT_FAULT: {
        "en": ("The kettle stopped heating after a week.", "The lamp flickers and then switches off."),
        "zh": ("电水壶用了一周就不加热了。", "台灯一直闪，然后就灭了。"),
    },
    Category.DELIVERY: {
        "en": ("My parcel has said 'in transit' for ten days.", "The courier left the box at the wrong address."),
        "zh": ("包裹显示运输中已经十天了。", "快递送错地址了。"),
    },
    Category.REFUND_RETURN: {
        "en": ("I returned the chair three weeks ago and have no refund.", "The return label does not work."),
        "zh": ("椅子退回三周了还没退款。", "退货标签打印不出来。"),
    },
    Category.BILLING: {
        "en": ("I was charged twice for one order.", "The invoice shows the wrong company name."),
        "zh": ("一个订单被扣了两次款。", "发票抬头开错了。"),
    },
    Category.SERVICE_COMPLAINT: {
        "en": ("Nobody answered my emails for a week.", "Your agent was rude; I will ask my lawyer."),
        "zh": ("发了一周邮件都没人回。", "客服态度很差，我要打12315投诉。"),
    },
    Category.SUGGESTION: {
        "en": ("Please add a dark mode to the app.", "It would be nice to choose a delivery time."),
        "zh": ("建议 App 增加夜间模式。", "希望可以选择送货时间。"),
    },
}

ORDER_NUMBERS = ("1000000001", "1000000417", "1000002288", "1000003150", "1000005763")

AGENT_REPLIES: Bank = {
    "en": (
        "Hi, I'm looking into this for you now.",
        "Could you send me your order number?",
        "Thanks, I can see the order.",
        "I've asked the warehouse and will update you shortly.",
        "That's sorted: you'll get an email confirmation in a few minutes.",
        "Is there anything else I can help with?",
    ),
    "zh": (
        "您好，我来帮您看一下。",
        "请提供一下订单号。",
        "好的，已经查到订单了。",
        "我已经联系仓库，稍后给您回复。",
        "已经处理好了，几分钟内您会收到确认邮件。",
        "请问还有其他可以帮您的吗？",
    ),
}

CUSTOMER_REPLIES: Bank = {
    "en": ("It's 1000000417.", "OK", "Still waiting…", "That works, thanks."),
    "zh": ("订单号是1000000417。", "好的", "还在等……", "可以，谢谢。"),
}

COMMENTS_GOOD: Bank = {
    "en": ("Quick and friendly, thank you!", "Solved in minutes.", "Very helpful agent."),
    "zh": ("回复很快，态度很好！", "几分钟就解决了。", "客服很专业。"),
}
COMMENTS_BAD: Bank = {
    "en": ("I waited far too long.", "The problem is still not fixed.", "Had to explain everything twice."),
    "zh": ("等了太久了。", "问题还是没解决。", "同样的问题说了两遍。"),
}

BOT_LINES: Mapping[str, Mapping[str, str]] = {
    "greet": {"en": "Hello! How can I help you today?", "zh": "您好！请问有什么可以帮您？"},
    "clarify": {"en": "Did you mean one of these?", "zh": "您想问的是下面哪一个？"},
    "not_found": {
        "en": "Sorry, I don't have an answer to that yet.",
        "zh": "抱歉，这个问题我暂时还回答不了。",
    },
    "helpful": {"en": "Was this helpful?", "zh": "这个回答有帮助吗？"},
    "handoff": {"en": "I'm connecting you to an agent.", "zh": "正在为您转接人工客服。"},
    "form": {"en": "Please describe the problem.", "zh": "请描述一下遇到的问题。"},
    "order": {"en": "What is the order number?", "zh": "请提供订单号。"},
    "ticket": {"en": "Thank you, your ticket {number} is open.", "zh": "谢谢，已为您创建工单 {number}。"},
    "welcome": {"en": "You're welcome!", "zh": "不客气！"},
    "survey": {
        "en": "How would you rate the help you received (1-5)?",
        "zh": "请为本次服务打分（1-5）。",
    },
}

NAMES: Bank = {
    "en": ("Alex Morgan", "Jamie Lee", "Sam Patel", "Chris Novak", "Taylor Brooks", "Jordan Kim", "Robin Diaz"),
    "zh": ("王芳", "李伟", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"),
}

__all__ = [
    "AGENT_REPLIES",
    "ASK_HUMAN",
    "BOT_LINES",
    "COMMENTS_BAD",
    "COMMENTS_GOOD",
    "CUSTOMER_REPLIES",
    "DESCRIPTIONS",
    "GREETING",
    "NAMES",
    "NOT_FOUND",
    "ORDER_NUMBERS",
    "REPORT",
    "THANKS",
    "Bank",
]
