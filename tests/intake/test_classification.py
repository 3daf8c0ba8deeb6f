import pytest

from intake import Category, IssueClassifier, Urgency


@pytest.fixture(scope="module")
def classifier() -> IssueClassifier:
    return IssueClassifier()


@pytest.mark.parametrize(
    ("text", "category", "cue"),
    [
        ("My blender arrived broken and won't turn on", Category.PRODUCT_FAULT, "broken"),
        ("The package has not arrived yet, tracking shows nothing", Category.DELIVERY, "tracking"),
        ("I want a refund for this kettle", Category.REFUND_RETURN, "refund"),
        ("I was charged twice for one order", Category.BILLING, "charged twice"),
        ("Your agent was rude, I want to make a complaint", Category.SERVICE_COMPLAINT, "complaint"),
        ("Suggestion: it would be nice to have dark mode", Category.SUGGESTION, "suggestion"),
        ("搅拌机坏了，按开关没反应", Category.PRODUCT_FAULT, "坏了"),
        ("快递三天了还没到", Category.DELIVERY, "快递"),
        ("我要退货退款", Category.REFUND_RETURN, "退款"),
        ("同一笔订单扣了两次钱", Category.BILLING, "扣了两次"),
        ("我要投诉你们的客服态度差", Category.SERVICE_COMPLAINT, "投诉"),
        ("建议增加夜间模式", Category.SUGGESTION, "建议"),
    ],
)
def test_category_is_suggested_from_the_customers_words_with_the_cue_that_decided_it(
    classifier: IssueClassifier, text: str, category: Category, cue: str
) -> None:
    suggestion = classifier.suggest_category(text)
    assert suggestion is not None
    assert suggestion.category is category
    assert cue in suggestion.cues


def test_a_message_without_cues_suggests_nothing(classifier: IssueClassifier) -> None:
    assert classifier.suggest_category("hello there") is None
    assert classifier.suggest_category("你好") is None


def test_a_one_character_chinese_cue_must_be_a_whole_word(classifier: IssueClassifier) -> None:
    assert classifier.suggest_category("这样做有什么坏处") is None
    fault = classifier.suggest_category("机器坏了")
    assert fault is not None and fault.category is Category.PRODUCT_FAULT


def test_alternatives_list_every_other_category_once(classifier: IssueClassifier) -> None:
    suggestion = classifier.suggest_category("refund please, the delivery was late")
    assert suggestion is not None
    assert {suggestion.category, *suggestion.alternatives} == set(Category)
    assert len(suggestion.alternatives) == len(Category) - 1


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("There is smoke coming out of the kettle", Urgency.URGENT),
        ("the charger caught fire", Urgency.URGENT),
        ("it is a safety issue", Urgency.URGENT),
        ("电热水壶冒烟了", Urgency.URGENT),
        ("机器漏电", Urgency.URGENT),
        ("It was broken on arrival", Urgency.HIGH),
        ("I was charged twice", Urgency.HIGH),
        ("银行卡扣了两次", Urgency.HIGH),
        ("我要投诉", Urgency.HIGH),
        ("The toaster is a bit slow", Urgency.NORMAL),
        ("烤面包机有点慢", Urgency.NORMAL),
    ],
)
def test_urgency_is_suggested_from_cues_in_both_languages(
    classifier: IssueClassifier, text: str, urgency: Urgency
) -> None:
    suggestion = classifier.suggest_urgency(text)
    assert suggestion.urgency is urgency
    assert bool(suggestion.cues) is (urgency is not Urgency.NORMAL)


def test_suggestions_serialise_with_their_cues(classifier: IssueClassifier) -> None:
    suggestion = classifier.suggest_category("charged twice")
    assert suggestion is not None
    data = suggestion.to_dict()
    assert data["category"] == "billing" and data["cues"] == ["charged twice", "charged"]
    assert classifier.suggest_urgency("fire").to_dict() == {"urgency": "urgent", "cues": ["fire"]}
