"""The spaCy pipeline with ConText and the misspelling fallback added, loaded once per process and lexicon content
(`pipeline()`): what bot.language.context and the readers run text through."""

from __future__ import annotations

import re
import threading
from typing import Any, Dict

from spacy.language import Language
from spacy.tokens import Doc

from bot.language import lexicon as lex
from bot.language import pipeline as spacy_pipeline
from bot.language.context_rules import context_rules
from bot.language.misspellings import Misspellings, add_misspelt_entities


class Pipeline:
    """The loaded pipeline with context, and the lexicon it came from."""

    def __init__(self, nlp: Language, lexicon: lex.Lexicon) -> None:
        import medspacy.context  # noqa: F401  registers the medspacy_context factory

        self.lexicon = lexicon
        self.nlp = nlp
        if "medspacy_context" not in nlp.pipe_names:
            ctx: Any = nlp.add_pipe("medspacy_context", config={"rules": None})  # medspaCy's ConText (untyped)
            ctx.add(context_rules(lexicon.cues))
        from spacy.lang.en.stop_words import STOP_WORDS

        self.everyday = frozenset(STOP_WORDS) | lexicon.common_words
        self.misspellings = Misspellings(lexicon, self.everyday)
        self.own_too = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in lexicon.own_too) + r")\b")

    def doc(self, text: str) -> Doc:
        doc = self.nlp.make_doc(text)
        for name, proc in self.nlp.pipeline:
            if name == "medspacy_context":
                doc = add_misspelt_entities(doc, self.misspellings)
            doc = proc(doc)
        return doc


_lock = threading.Lock()
_pipelines: Dict[str, Pipeline] = {}


def pipeline() -> Pipeline:
    """The one Pipeline for the current lexicon (built or loaded once per process and lexicon content)."""
    lexicon_dir, model_dir = spacy_pipeline.settings_paths()
    digest = lex.current_digest(lexicon_dir)
    with _lock:
        found = _pipelines.get(digest)
        if found is None:
            nlp = spacy_pipeline.base_nlp(lexicon_dir, model_dir)
            found = Pipeline(nlp, lex.load_cached(lexicon_dir, digest))
            _pipelines.clear()
            _pipelines[digest] = found
        return found
