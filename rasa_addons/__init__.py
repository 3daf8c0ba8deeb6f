"""Rasa's side of this repository: what `rasa train`, `rasa run`, `rasa shell` and `rasa test` load by name from
config.yml and credentials.yml (a graph component, an input channel) and what those install in Rasa.

Runs in Rasa's own Python 3.10 environment (.venv-rasa), never in the front door, which reaches Rasa only over HTTP:
no module of the front door's packages may import this one. Everything here imports Rasa, the standard library and
at most kb/language.py (by file: see rasa_addons.language), so it must stay valid Python 3.10.
"""

from rasa_addons.language import LANGUAGE_ENTITY, language_entity, message_language

__all__ = ["LANGUAGE_ENTITY", "language_entity", "message_language"]
