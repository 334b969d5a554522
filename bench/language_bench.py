"""Prints the language layer's figures: per-class precision/recall on the labelled sentences, context accuracy
(ours vs negspacy vs medspaCy's default ConText), ms per parse, pipeline build and load time.

    .venv/bin/python bench/language_bench.py

Figures, not a test: the pass/fail checks live in tests/language.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

CASES_DIR = ROOT / "tests" / "language" / "cases"
LABEL_DAY = date(2026, 11, 26)  # the tables' dates ("last summer") are read as of the day they were labelled


def load_cases(name: str = "facts.yml") -> List[Dict[str, Any]]:
    return yaml.safe_load((CASES_DIR / name).read_text(encoding="utf-8"))


def label_of(fact: Any) -> str:
    return fact.drug_class if fact.kind == "medication" else fact.canonical


Pairs = Tuple[List[Tuple[Dict[str, Any], Any]], List[Dict[str, Any]], List[Any]]


def pair(expected: Sequence[Dict[str, Any]], found: Sequence[Any]) -> Pairs:
    unused = list(found)
    pairs, missed = [], []
    for want in expected:
        same = [f for f in unused if label_of(f) == want["is"]]
        if not same:
            missed.append(want)
            continue
        best = min(
            same, key=lambda f: (want.get("negated", False) != f.negated) + (want.get("other", False) != f.other_person)
        )
        unused.remove(best)
        pairs.append((want, best))
    return pairs, missed, unused


def prf(tp: int, fp: int, fn: int) -> Tuple[float, float]:
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def percentile(values: List[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    started = time.perf_counter()
    import spacy  # noqa: F401  (imports thinc, and with it TensorFlow when installed: counted apart)

    import_s = time.perf_counter() - started

    import bot.language as language
    from bot.language import context_pipeline, pipeline
    from bot.language import lexicon as lex

    lexicon_dir = pipeline.settings_paths()[0]

    # ---- build and load ----
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "spacy-clinic"
        build = pipeline.build(lexicon_dir, out, force=True)
        t0 = time.perf_counter()
        nlp = spacy.load(out)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reader = context_pipeline.Pipeline(nlp, lex.load(lexicon_dir))
        context_s = time.perf_counter() - t0
    print(f"import spaCy (+TensorFlow via thinc): {import_s:.2f} s")
    print(
        f"pipeline build: {build.seconds:.2f} s ({build.patterns} patterns); spacy.load: {load_s * 1000:.0f} ms; "
        f"ConText + misspelling index: {context_s * 1000:.0f} ms"
    )

    for set_name in ("facts.yml", "holdout.yml", "holdout2.yml"):
        evaluate(set_name, load_cases(set_name), reader, lexicon_dir)
    cases = load_cases("facts.yml") + load_cases("holdout.yml") + load_cases("holdout2.yml")
    for case in cases:  # every case read once before the timings (a first read loads what it needs)
        language.find_facts(case["text"], LABEL_DAY)
    speed(cases, reader, nlp)
    return 0


def evaluate(set_name: str, cases: List[Dict[str, Any]], reader: Any, lexicon_dir: Path) -> None:
    import bot.language as language
    from bot.language import lexicon as lex
    from bot.language import pipeline

    # ---- entities: per class ----
    counts: Dict[str, Counter] = defaultdict(Counter)
    read: Dict[str, List[Any]] = {}
    for case in cases:
        facts = language.find_facts(case["text"], LABEL_DAY)
        read[case["text"]] = facts
        pairs, missed, extra = pair(case.get("facts") or [], facts)
        for want, _ in pairs:
            counts[want["is"]]["tp"] += 1
        for want in missed:
            counts[want["is"]]["fn"] += 1
        for fact in extra:
            counts[label_of(fact)]["fp"] += 1
    kind = (
        "written with the code: the tests assert them"
        if set_name == "facts.yml"
        else "written after, held out for a first run (figures of that run: bot/language/README.md)"
    )
    print(f"\n== {len(cases)} labelled sentences, tests/language/cases/{set_name} ({kind})")
    print(f"{'class / condition':28} {'n':>4} {'precision':>10} {'recall':>8}")
    total = Counter()
    for name in sorted(counts, key=lambda k: (-(counts[k]["tp"] + counts[k]["fn"]), k)):
        c = counts[name]
        total.update(c)
        p, r = prf(c["tp"], c["fp"], c["fn"])
        print(f"{name:28} {c['tp'] + c['fn']:>4} {p:>10.3f} {r:>8.3f}")
    p, r = prf(total["tp"], total["fp"], total["fn"])
    print(f"{'all':28} {total['tp'] + total['fn']:>4} {p:>10.3f} {r:>8.3f}")

    # ---- context: ours vs the libraries' defaults ----
    def score(get: Callable[[str], List[Any]], attr: Callable[[Any], bool], key: str) -> Tuple[float, float, int]:
        tp = fp = fn = 0
        for case in cases:
            pairs, _, _ = pair(case.get("facts") or [], get(case["text"]))
            for want, fact in pairs:
                expected, got = bool(want.get(key, False)), bool(attr(fact))
                tp += expected and got
                fp += got and not expected
                fn += expected and not got
        p, r = prf(tp, fp, fn)
        return p, r, tp + fn

    class Baseline:
        """The same entity ruler with a library's stock context component, read the same way."""

        def __init__(self, component: str) -> None:
            self.nlp = pipeline.make_nlp(lex.load(lexicon_dir))
            if component == "negex":
                from negspacy.negation import Negex  # noqa: F401
                from negspacy.termsets import termset

                self.nlp.add_pipe(
                    "negex",
                    config={
                        "neg_termset": termset("en_clinical").get_patterns(),
                        "ent_types": [lex.MEDICATION, lex.CONDITION],
                    },
                )
            else:
                import medspacy.context  # noqa: F401

                self.nlp.add_pipe("medspacy_context", config={"rules": "default"})
            self.component = component

        def facts(self, text: str) -> List[Any]:
            out = []
            for ent in self.nlp(text).ents:
                entry = reader.lexicon.lookup(ent.label_, ent.text)
                if entry is None or entry.label == lex.CONCERN:
                    continue
                neg = ent._.negex if self.component == "negex" else ent._.is_negated
                fam = False if self.component == "negex" else ent._.is_family
                out.append(
                    _Fact(
                        "medication" if entry.label == lex.MEDICATION else "condition",
                        entry.drug_class,
                        entry.display,
                        neg,
                        fam,
                    )
                )
            return out

    print("\ncontext on the same sentences      negation P / R      someone else's P / R")
    ours = lambda t: read[t]  # noqa: E731
    rows = [("ours (medspaCy ConText + project cues)", ours)]
    for name, component in (("negspacy negex, en_clinical", "negex"), ("medspaCy ConText, default rules", "ctx")):
        baseline = Baseline(component)
        rows.append((name, baseline.facts))
    for name, get in rows:
        np_, nr, nn = score(get, lambda f: f.negated, "negated")
        op, orr, on = score(get, lambda f: f.other_person, "other")
        print(f"{name:38} {np_:>6.3f} / {nr:.3f} (n={nn})   {op:>6.3f} / {orr:.3f} (n={on})")

    # ---- volunteered ----
    wrong = [
        c["text"]
        for c in cases
        if sorted({v["code"] for v in language.volunteered(c["text"], today=LABEL_DAY)})
        != sorted(set(c.get("volunteered") or []))
    ]
    print(f"\nvolunteered codes exactly right: {len(cases) - len(wrong)}/{len(cases)} sentences")
    for text in wrong:
        got = sorted({v["code"] for v in language.volunteered(text, today=LABEL_DAY)})
        print(f"  wrong: {text!r} -> {got}")
    for case in cases:
        _, missed, extra = pair(case.get("facts") or [], read[case["text"]])
        if missed or extra:
            print(
                f"  entities: {case['text']!r} missed {[m['is'] for m in missed]} extra {[label_of(f) for f in extra]}"
            )


def speed(cases: List[Dict[str, Any]], reader: Any, nlp: Any) -> None:
    from bot.language import context

    # ---- speed ----
    texts = [c["text"] for c in cases]
    analyse = context._analyse_cached.__wrapped__  # type: ignore[attr-defined]
    timings = []
    for _ in range(3):
        for text in texts:
            t0 = time.perf_counter()
            analyse(reader, text, None)
            timings.append((time.perf_counter() - t0) * 1000)
    ruler_only = []
    for text in texts:
        t0 = time.perf_counter()
        nlp(text)
        ruler_only.append((time.perf_counter() - t0) * 1000)
    print(
        f"\nms per parse, full reading (ruler + misspellings + ConText + time): "
        f"p50 {statistics.median(timings):.2f}, p95 {percentile(timings, 0.95):.2f} (n={len(timings)})"
    )
    print(
        f"ms per parse, saved pipeline only (what Rasa's SpacyNLP runs): p50 {statistics.median(ruler_only):.2f}, "
        f"p95 {percentile(ruler_only, 0.95):.2f}"
    )


class _Fact:
    def __init__(self, kind: str, drug_class: Any, canonical: str, negated: bool, other_person: bool) -> None:
        self.kind, self.drug_class, self.canonical = kind, drug_class, canonical
        self.negated, self.other_person = negated, other_person


if __name__ == "__main__":
    sys.exit(main())
