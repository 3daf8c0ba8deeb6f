"""Suggesting a category and an urgency from the customer's own words, in English and Chinese.

Owns the cue lists and `IssueClassifier`. Every suggestion carries the cues that produced it, so the bot can say
why and a human can check it. Must never be the final word: the customer confirms the category and urgency in the
form. Must never add words to jieba's global dictionary (the knowledge base shares it).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from intake.models import Category, Urgency

# A cue is (pattern, weight). English patterns are regexes matched on word boundaries in lowercased text.
# Chinese cues of two or more characters match as substrings; one-character cues ('坏') must be a whole jieba
# token, so '坏了' counts and '坏处' does not.
Cue = tuple[str, float]

CATEGORY_CUES_EN: Mapping[Category, Sequence[Cue]] = {
    Category.PRODUCT_FAULT: [
        (r"broken?", 2),
        (r"breaks?", 1),
        (r"defective", 2),
        (r"faulty", 2),
        (r"fault", 1),
        (r"not working", 2),
        (r"(?:doesn'?t|does not|won'?t|will not|stopped|stop) (?:work|working|turn on|start)", 2),
        (r"damaged?", 1.5),
        (r"cracked", 1.5),
        (r"leak(?:s|ing)?", 1.5),
        (r"malfunction(?:s|ing)?", 2),
        (r"smok(?:e|es|ing)", 1.5),
        (r"sparks?", 1.5),
        (r"overheat(?:s|ing|ed)?", 1.5),
        (r"burning smell", 1.5),
        (r"(?:strange|loud|weird) nois(?:e|es)", 1.5),
        (r"error code", 1.5),
        (r"dead on arrival", 2),
        (r"broken on arrival", 2),
        (r"arrived broken", 2),
        (r"quality", 1),
    ],
    Category.DELIVERY: [
        (r"deliver(?:y|ed|ies)?", 2),
        (r"shipping", 2),
        (r"shipped", 1.5),
        (r"shipment", 2),
        (r"package", 1.5),
        (r"parcel", 1.5),
        (r"courier", 2),
        (r"tracking", 2),
        (r"late", 1),
        (r"delayed?", 1.5),
        (r"(?:hasn'?t|has not|never|not yet|didn'?t|did not) (?:arrived?|come|came|received)", 2.5),
        (r"not (?:arrived|received)", 2.5),
        (r"lost (?:package|parcel|order)", 2),
        (r"wrong address", 2),
        (r"where is my (?:order|package|parcel)", 2.5),
    ],
    Category.REFUND_RETURN: [
        (r"refund(?:s|ed)?", 2.5),
        (r"return(?:s|ing|ed)?", 2),
        (r"money back", 2.5),
        (r"send (?:it )?back", 2),
        (r"exchange", 2),
        (r"replace(?:ment)?", 1.5),
        (r"cancel (?:my |the )?order", 2),
        (r"reimburse(?:ment)?", 2),
    ],
    Category.BILLING: [
        (r"charged? twice", 3),
        (r"double[- ]charged", 3),
        (r"overcharged", 3),
        (r"charged", 2),
        (r"charges?", 1.5),
        (r"billing", 2),
        (r"bill(?:ed)?", 1.5),
        (r"invoice", 2),
        (r"payments?", 1.5),
        (r"paid", 1),
        (r"receipt", 1.5),
        (r"credit card", 1.5),
        (r"coupon", 1.5),
        (r"discount", 1),
        (r"price", 1),
        (r"vat", 1.5),
    ],
    Category.SERVICE_COMPLAINT: [
        (r"complain(?:t|ts|ing)?", 3),
        (r"rude", 2.5),
        (r"unprofessional", 2.5),
        (r"(?:terrible|bad|poor|awful|horrible) service", 2.5),
        (r"customer service", 1.5),
        (r"no(?:body| one) (?:replied|answered|called|responded)", 2),
        (r"no (?:response|reply)", 1.5),
        (r"unacceptable", 1.5),
        (r"disappointed", 1),
        (r"staff", 1),
        (r"manager", 1),
    ],
    Category.SUGGESTION: [
        (r"suggest(?:ion|ions)?", 3),
        (r"ideas?", 1.5),
        (r"feature", 1.5),
        (r"would be (?:nice|great|good)", 2.5),
        (r"(?:could|can) you (?:please )?add", 2.5),
        (r"please add", 2),
        (r"improve(?:ment)?", 1.5),
        (r"wish", 1),
        (r"feedback", 1),
    ],
}

CATEGORY_CUES_ZH: Mapping[Category, Sequence[Cue]] = {
    Category.PRODUCT_FAULT: [
        ("坏", 2),
        ("坏了", 2),
        ("故障", 2),
        ("不工作", 2),
        ("不能用", 2),
        ("用不了", 2),
        ("开不了机", 2),
        ("无法开机", 2),
        ("不转", 1.5),
        ("破损", 1.5),
        ("裂", 1.5),
        ("漏水", 1.5),
        ("漏电", 1.5),
        ("冒烟", 1.5),
        ("异响", 1.5),
        ("质量", 1),
        ("损坏", 1.5),
        ("失灵", 2),
        ("烧了", 1.5),
        ("到货就坏", 2),
        ("收到就坏", 2),
    ],
    Category.DELIVERY: [
        ("快递", 2),
        ("物流", 2),
        ("配送", 2),
        ("发货", 2),
        ("送货", 2),
        ("没收到", 2.5),
        ("未收到", 2.5),
        ("还没到", 2.5),
        ("没到", 2),
        ("包裹", 1.5),
        ("运单", 2),
        ("延迟", 1.5),
        ("丢件", 2),
        ("地址", 1),
    ],
    Category.REFUND_RETURN: [
        ("退款", 2.5),
        ("退货", 2.5),
        ("退钱", 2.5),
        ("换货", 2),
        ("退换", 2),
        ("取消订单", 2),
        ("退回", 2),
        ("换一个", 1.5),
    ],
    Category.BILLING: [
        ("扣了两次", 3),
        ("重复扣款", 3),
        ("多扣", 3),
        ("扣款", 2),
        ("扣费", 2),
        ("扣钱", 2),
        ("发票", 2),
        ("付款", 1.5),
        ("支付", 1.5),
        ("账单", 2),
        ("收费", 1.5),
        ("多收", 2.5),
        ("价格", 1),
        ("优惠券", 1.5),
    ],
    Category.SERVICE_COMPLAINT: [
        ("投诉", 3),
        ("态度差", 2.5),
        ("态度不好", 2.5),
        ("服务差", 2.5),
        ("服务态度", 2),
        ("客服", 1),
        ("没人回复", 2),
        ("没有回复", 2),
        ("不回复", 2),
        ("不满", 1.5),
        ("差评", 2),
        ("敷衍", 2),
    ],
    Category.SUGGESTION: [
        ("建议", 3),
        ("希望", 1.5),
        ("意见", 1.5),
        ("改进", 2),
        ("增加", 1),
        ("功能", 1),
        ("如果能", 2),
        ("提议", 2.5),
    ],
}

URGENCY_CUES_EN: Mapping[Urgency, Sequence[str]] = {
    Urgency.URGENT: [
        r"safety",
        r"unsafe",
        r"danger(?:ous)?",
        r"fire",
        r"flames?",
        r"smok(?:e|es|ing)",
        r"sparks?",
        r"burn(?:s|ing|t|ed)?",
        r"electric(?:al)? shock",
        r"shocked",
        r"explo(?:de|ded|sion)",
        r"injur(?:y|ed|ies)",
        r"hurt",
        r"melt(?:ed|ing)?",
        r"gas leak",
    ],
    Urgency.HIGH: [
        r"broken on arrival",
        r"dead on arrival",
        r"arrived broken",
        r"doa",
        r"charged twice",
        r"double[- ]charged",
        r"overcharged",
        r"complain(?:t|ts|ing)?",
        r"urgent(?:ly)?",
        r"asap",
        r"immediately",
        r"fraud",
        r"unauthori[sz]ed",
    ],
}

URGENCY_CUES_ZH: Mapping[Urgency, Sequence[str]] = {
    Urgency.URGENT: [
        "安全",
        "危险",
        "着火",
        "起火",
        "冒烟",
        "火花",
        "漏电",
        "触电",
        "爆炸",
        "烧焦",
        "受伤",
        "烫伤",
        "冒火",
    ],
    Urgency.HIGH: ["投诉", "扣了两次", "重复扣款", "多扣", "到货就坏", "收到就坏", "紧急", "急", "马上", "盗刷"],
}

# Ties go to the category listed first: a fault beats a refund when the customer mentions both equally.
_TIE_ORDER = list(Category)

_JIEBA_LOCK = threading.Lock()


@dataclass(frozen=True)
class CategorySuggestion:
    category: Category
    cues: tuple[str, ...]
    scores: Mapping[str, float]
    alternatives: tuple[Category, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "cues": list(self.cues),
            "scores": dict(self.scores),
            "alternatives": [c.value for c in self.alternatives],
        }


@dataclass(frozen=True)
class UrgencySuggestion:
    urgency: Urgency
    cues: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"urgency": self.urgency.value, "cues": list(self.cues)}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


class IssueClassifier:
    """Keyword and phrase rules; explainable by construction. Build once and share (jieba loads lazily)."""

    def __init__(
        self,
        category_cues_en: Mapping[Category, Sequence[Cue]] = CATEGORY_CUES_EN,
        category_cues_zh: Mapping[Category, Sequence[Cue]] = CATEGORY_CUES_ZH,
        urgency_cues_en: Mapping[Urgency, Sequence[str]] = URGENCY_CUES_EN,
        urgency_cues_zh: Mapping[Urgency, Sequence[str]] = URGENCY_CUES_ZH,
    ) -> None:
        self._cat_en = {c: [(re.compile(rf"\b(?:{p})\b"), w) for p, w in cues] for c, cues in category_cues_en.items()}
        self._cat_zh = {c: list(cues) for c, cues in category_cues_zh.items()}
        self._urg_en = {u: [re.compile(rf"\b(?:{p})\b") for p in cues] for u, cues in urgency_cues_en.items()}
        self._urg_zh = {u: list(cues) for u, cues in urgency_cues_zh.items()}
        self._jieba: Any = None

    def _tokens(self, text: str) -> set[str]:
        with _JIEBA_LOCK:
            if self._jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                self._jieba = jieba
        return {t.strip() for t in self._jieba.lcut(text) if t.strip()}

    def _zh_hits(self, text: str, cues: Sequence[str], tokens: set[str] | None) -> list[str]:
        hits = []
        for cue in cues:
            if len(cue) >= 2 or cue.isdigit():
                if cue in text:
                    hits.append(cue)
            elif tokens is not None and cue in tokens:
                hits.append(cue)
        return hits

    def suggest_category(self, text: str) -> CategorySuggestion | None:
        """The best-scoring category and the cues that scored it; None when no cue matched at all."""
        lowered = text.lower()
        tokens = self._tokens(text) if _has_cjk(text) else None
        scores: dict[Category, float] = {}
        cues: dict[Category, list[str]] = {}
        for category, patterns in self._cat_en.items():
            for pattern, weight in patterns:
                match = pattern.search(lowered)
                if match:
                    scores[category] = scores.get(category, 0.0) + weight
                    cues.setdefault(category, []).append(match.group(0))
        if tokens is not None:
            for category, zh_cues in self._cat_zh.items():
                weights = dict(zh_cues)
                hits = self._zh_hits(text, [c for c, _ in zh_cues], tokens)
                # '坏' inside '坏了' is one cue, not two.
                hits = [h for h in hits if not any(h != o and h in o for o in hits)]
                for hit in hits:
                    scores[category] = scores.get(category, 0.0) + weights[hit]
                    cues.setdefault(category, []).append(hit)
        if not scores:
            return None
        ranked = sorted(scores, key=lambda c: (-scores[c], _TIE_ORDER.index(c)))
        best = ranked[0]
        rest = ranked[1:] + [c for c in _TIE_ORDER if c not in scores]
        return CategorySuggestion(
            category=best,
            cues=tuple(cues[best]),
            scores={c.value: round(s, 2) for c, s in scores.items()},
            alternatives=tuple(rest),
        )

    def suggest_urgency(self, text: str) -> UrgencySuggestion:
        """urgent for safety cues, high for arrival faults, double charges and complaints, else normal."""
        lowered = text.lower()
        tokens = self._tokens(text) if _has_cjk(text) else None
        for urgency in (Urgency.URGENT, Urgency.HIGH):
            hits = [m.group(0) for p in self._urg_en.get(urgency, []) if (m := p.search(lowered))]
            if tokens is not None:
                hits += self._zh_hits(text, self._urg_zh.get(urgency, []), tokens)
            if hits:
                return UrgencySuggestion(urgency, tuple(hits))
        return UrgencySuggestion(Urgency.NORMAL)

    def has_cues(self, text: str) -> bool:
        return self.suggest_category(text) is not None
