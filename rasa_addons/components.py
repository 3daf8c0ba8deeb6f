"""`LanguageEntityExtractor`: the NLU pipeline's last step, which sets the `language` slot without an action call.

It adds a `language` entity (rasa_addons.language: the front door's `metadata.lang`, else the text's characters when
they decide) that domain.yml maps onto the slot with `from_entity`. Before it, a custom action ran after every user
message to do the same: a round trip that carried the whole tracker and domain to the actions webhook and cost more
than DIET itself (docs/benchmarks.md, section 1). No entity means the slot keeps the conversation's language.

Rasa imports this module when it loads a model whose config.yml names the component, so it also installs the
cached action-response validator (rasa_addons.validation) in every Rasa process that runs our model.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_addons import validation
from rasa_addons.language import language_entity

validation.install()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageEntityExtractor(GraphComponent):  # type: ignore[misc]  # Rasa ships no type hints here
    """Stateless: nothing to train or persist, so code changes apply without retraining."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageEntityExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entity = language_entity(str(message.get(TEXT) or ""), message.get("metadata"), type(self).__name__)
            if entity is not None:
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
