"""What the form needs from a client's free answer: yes/no, their medicines, volunteered facts, concerns, corrections."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Dict, List, Optional, Sequence, Tuple

from bot.language import context
from bot.language.context import Fact
from bot.screening.answers import CONCERNS, FURTHER_CHECKS, NO, UNSURE, YES

# ---- yes / no -----------------------------------------------------------------------------------------------------

# Questions about the present ("do you take...", "are you pregnant"): "used to" answers them with a no.
PRESENT_KEYS = frozenset({"blood_thinners", "herpes_active", "active_acne", "pregnancy", "skin_infection"})

_NO_FIRST = re.compile(
    r"\b(?:(?:i )?do ?n[o']?t think so|do not think so|not that i(?:'m| am)? (?:know|aware)(?: of)?|not to my knowledge|"
    r"not as far as i(?:'m| am)? (?:know|aware)|i do ?n[o']?t believe so|don'?t believe so|i doubt it|nothing that i know of|"
    r"none that i know of)\b")
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|not certain|not 100|no idea|no clue|dunno|do ?n[o']?t know|do not know|dont know|idk|"
    r"ca ?n[o']?t remember|cannot remember|cant remember|can'?t recall|do ?n[o']?t remember|dont remember|"
    r"don'?t recall|not that sure|maybe|might|possibly|perhaps|probably|i think|think so|i guess|hard to say|"
    r"kind of|sort of|kinda|sorta|could be|unclear|i believe so|not really sure|not too sure|hmm+|um+|erm+|"
    r"forgot|forget|no sure|i suppose|suppose so|wouldn'?t know|would ?n[o']?t know|who knows|possible)\b")
_NO = re.compile(
    r"^(?:no+|nope|nah+|na|n|nay|never|none|nothing|negative|nil|not at all|no way|not really|not me|neither|nor|not|"
    r"definitely not|of course not|certainly not|absolutely not|not anymore|no longer|no thanks|no thank you)\b"
    r"|\b(?:i do ?n[o']?t|i dont|i do not|i have ?n[o']?t|i havent|i have not|i'?m not|im not|i am not|i did ?n[o']?t|"
    r"i didnt|i did not|i never|i'?ve never|ive never|have never|never had|never have|never been|never taken|none of|"
    r"not me|not on any|nothing like that|not pregnant|no i|nope|nah)\b")
_YES = re.compile(
    r"^(?:yes+|yeah+|yea|yep|yup|ya|yah|y|ye|sure|correct|right|affirmative|aye|definitely|absolutely|of course|"
    r"indeed|true|uh huh|mhm+|mm+ hmm|yas|totally|certainly|afraid so|unfortunately)\b"
    r"|\b(?:i do|i have|i am|i'?m on|im on|i did|i get|i got|i had|i take|i use|i suffer|i'?ve had|ive had|"
    r"sometimes|occasionally|once|twice|a few times|every now and then|now and then|now and again|from time to time|"
    r"only when|when i'?m|often|usually|regularly|a bit|a little|rarely|hardly ever|on and off|in the past|used to|"
    r"ago|as a (?:kid|child|teenager|teen)|when i was|a couple of times|every so often|every (?:winter|summer|year)|"
    r"when stressed|yes i|they do|it does|i have one|got one|have one|i am yes|that'?s right|that is right|"
    r"i'?m pregnant|i am pregnant|just finished|recently|at the moment|currently|right now|still do|still)\b")
_PAST_ONLY = re.compile(r"\b(?:used to|in the past|ago|as a (?:kid|child|teenager|teen)|when i was|not anymore|no longer|"
                        r"i did|i had|i'?ve had|ive had|years back|before)\b")
# "not at the moment": a no to a question about now, a yes to "have you ever...?"
_NOT_NOW = re.compile(r"^(?:no+,? |nope,? )?(?:not|no) (?:at the moment|now|right now|currently|recently|anymore|any more|lately|"
                      r"these days|at present|at the minute|today)\b|\bno longer\b|\bnot anymore\b|\bnot any more\b|"
                      r"\bnot (?:at the moment|right now|currently)\b")
# "I haven't had one for years": a history
_NOT_FOR_AGES = re.compile(r"\b(?:have ?n[o']?t|havent|have not|not) (?:had|got|been) (?:one|them|any|it)?\s*(?:for|in|since) "
                           r"(?:years|ages|a while|a long time|months|\d+ years|a few years|a couple of years|i was)\b"
                           r"|^not (?:for|in|since) (?:years|ages|a while|a long time)\b")
_CONTRAST = re.compile(r"\b(?:but|although|though|except|apart from|only|however|just)\b")


def _clean(text: str) -> str:
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[!.,;:()\"*~]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _yes_or_no(t: str, key: Optional[str]) -> Optional[str]:
    """A plain yes or no from a clause that has no hedge."""
    no_hit = _NO.search(t)
    yes_hit = _YES.search(t)
    # "no, not anymore" and "i don't" also contain yes-ish words ("anymore"); the no at the start wins
    if no_hit and yes_hit:
        # "i had" inside "i had no..." / "i do" inside "i don't" are guarded by the patterns; a real mix is settled by
        # which came first unless a contrast follows ("no but i used to")
        return NO if no_hit.start() <= yes_hit.start() else YES
    if yes_hit:
        if key in PRESENT_KEYS and _PAST_ONLY.search(t) and not re.search(r"\b(?:still|now|currently|at the moment|right now|i do|i am|i'?m on|i take|i have one)\b", t):
            return NO   # "used to" to "do you take blood thinners?": not now
        return YES
    if no_hit:
        if re.search(r"\b(?:not anymore|no longer|not any more)\b", t) and key not in PRESENT_KEYS:
            return YES  # "not anymore" to "have you ever had cold sores?" means they had them
        return NO
    return None


def yes_no(text: str, key: Optional[str] = None) -> Optional[str]:
    """"yes" | "no" | "unsure" for a free answer to a yes/no question; None when it is not an answer ("banana").

    key (an answer key) tunes answers about the past: "used to" is a yes to "have you ever had cold sores?" and a no
    to "do you take blood thinners?". With no key, the past counts as yes (a person checks).
    """
    t = _clean(text)
    if not t or not re.search(r"[a-z]", t):
        return UNSURE if t.strip() == "?" else None
    if _NO_FIRST.search(t):
        return NO
    if _UNSURE.search(t) and not re.search(r"\b(?:i'?m sure|i am sure|definitely|certain that)\b", t):
        # "no i'm not sure" and "yes maybe" are both unsure: the hedge is the answer
        return UNSURE
    history = key is not None and key not in PRESENT_KEYS
    if _NOT_FOR_AGES.search(t):
        return NO if key in PRESENT_KEYS else YES
    if _NOT_NOW.search(t) and not re.search(r"\b(?:but|though|although)\b", t):
        return YES if history else NO
    parts = _CONTRAST.split(t, maxsplit=1)
    if len(parts) == 2 and key in PRESENT_KEYS and _NOT_NOW.search(parts[1].strip()):
        return NO    # "I do, but not right now" to "do you have a cold sore now?"
    if len(parts) == 2:
        first, rest = _yes_or_no(parts[0], key), _yes_or_no(parts[1], key)
        if first == NO and rest == YES:
            return YES      # "no, only when i'm run down", "no but i used to"
        if first is not None:
            return first
        if rest is not None:
            return rest
    answer = _yes_or_no(t, key)
    if answer is not None:
        return answer
    if key is not None:
        # "I take Eliquis" to the blood thinner question: the fact is the answer
        for fact in find_facts(text):
            if fact.other_person or _field_for(fact) != key:
                continue
            return NO if fact.negated else (UNSURE if fact.uncertain else YES)
    return None


# ---- facts ------------------------------------------------------------------------------------------------------

def find_facts(text: str, today: Optional[date] = None) -> List[Fact]:
    """Medicines and conditions in the text, in order, each with negation, other person, time and reason code."""
    return [f for f in context.analyse(text, today) if f.kind != "concern"]


_UNDER_18 = re.compile(r"\b(?:i'?m|i am|im|aged?)\s+(?P<age>1[0-7]|[1-9])\b(?!\s*(?:weeks?|months?|days?|mg|%|kg|stone|st\b|lbs?|cm|ft|times|hours?|mins?|minutes?|x\b|years? ago|percent))"
                       r"|\b(?P<age2>1[0-7])\s*(?:years? old|yrs? old|y/?o)\b|\bunder\s*(?:18|eighteen)\b|\bstill at school\b")


def _mention(fact: Fact) -> str:
    return fact.sentence if len(fact.sentence) <= 300 else fact.sentence[:297] + "..."


def volunteered(text: str, window_months: float = 6.0, today: Optional[date] = None) -> List[Dict[str, object]]:
    """The client's own, affirmed facts that bear a reason code, as answers.py volunteered entries.

    {"code", "mention" (the sentence), "name" (canonical, e.g. "Eliquis (apixaban)"), "confirmed": None}.
    Denied ("I don't take blood thinners") and other people's ("my mum gets cold sores") mentions never count; a
    hypothetical condition ("will it cause breakouts?") does not either, but a hypothetical medicine does ("can I have
    it if I'm on warfarin?" usually means they are).
    """
    out: List[Dict[str, object]] = []
    seen = set()
    for fact in find_facts(text, today):
        if not fact.own_affirmed or (fact.hypothetical and fact.kind == "condition"):
            continue
        code = fact.code
        if fact.drug_class == "oral_retinoid":
            # the clinic's window, not the lexicon's default
            within = fact.current or (fact.months_ago is not None and fact.months_ago <= window_months)
            code = "isotretinoin_recent" if within else None
        if not code:
            continue
        if (code, fact.canonical) in seen:
            continue
        seen.add((code, fact.canonical))
        out.append({"code": code, "mention": _mention(fact), "name": fact.canonical, "confirmed": None})
    m = _UNDER_18.search((text or "").lower().replace("\u2019", "'"))
    if m:
        out.append({"code": "under_18", "mention": (text or "").strip()[:300], "name": "under 18", "confirmed": None})
    return out


# ---- medicines ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MedicationFact:
    name: str                    # as written
    canonical: str               # "Eliquis (apixaban)"
    generic: str
    drug_class: str
    current: bool
    months_ago: Optional[float]
    negated: bool
    other_person: bool
    uncertain: bool = False
    code: Optional[str] = None
    start: int = 0
    end: int = 0

    def to_answer(self) -> Dict[str, object]:
        """A medication_facts entry (bot/screening/answers.py)."""
        return {"name": self.name, "generic": self.generic, "drug_class": self.drug_class, "current": self.current,
                "months_ago": self.months_ago}


@dataclass(frozen=True)
class MedicationReading:
    none_stated: bool                          # the client said they take nothing
    facts: Tuple[MedicationFact, ...] = ()     # every medicine named, denied and other people's included (flagged)
    unrecognised: Tuple[str, ...] = ()         # medicine-like words not in the lexicon, verbatim

    def own(self) -> List[MedicationFact]:
        return [f for f in self.facts if not f.negated and not f.other_person]

    def to_answers(self) -> Dict[str, object]:
        return {"medication_facts": [f.to_answer() for f in self.own()],
                "unrecognised_medications": list(self.unrecognised)}


_NONE = re.compile(
    r"^(?:none|nothing|nil|n/?a|no|nope|nah|zero|nada|no meds|no medication|no medications|no medicine|no medicines|"
    r"not any|none at all|nothing at all)\b"
    r"|\b(?:not (?:on|taking|currently taking|currently on) (?:any|anything)|(?:do ?n[o']?t|dont|do not) take (?:any|anything)|"
    r"no (?:regular |current |other |prescribed )?(?:meds|medication|medications|medicines|medicine|tablets|pills|drugs)|"
    r"nothing (?:regular|at the moment|currently|right now|prescribed)|none (?:at the moment|currently|right now)|"
    r"i'?m not on (?:any|anything)|im not on (?:any|anything)|i take nothing|i'?m on nothing|not on any meds)\b")
_DOSE = re.compile(r"^(?:\d+(?:[.,]\d+)?(?:mg|mcg|µg|ug|g|ml|iu|%|x)?|x\d+|\d+x|mg|mcg|µg|ug|ml|iu|units?|%|x|/|-|"
                   r"od|bd|tds|qds|prn|tabs?|caps?)$", re.IGNORECASE)


def _word_ok(word: str, everyday: frozenset, known: frozenset) -> bool:
    """True when the word is never an unrecognised medicine name: everyday, a dose, or part of a lexicon form."""
    w = word.lower().strip("'")
    if not w or not re.search(r"[a-z]", w) or len(w) < 3:
        return True
    if _DOSE.match(w) or w in everyday or w in known:
        return True
    if w.endswith("s") and (w[:-1] in everyday or w[:-1] in known):
        return True
    return False


def read_medications(text: str, today: Optional[date] = None) -> MedicationReading:
    """The medicines in a free answer to "what medicines do you take?"."""
    r = context.reader()
    facts = [f for f in context.analyse(text, today) if f.kind == "medication"]
    meds = tuple(MedicationFact(
        name=f.text, canonical=f.canonical, generic=f.generic or f.canonical, drug_class=f.drug_class or "other",
        current=bool(f.current), months_ago=f.months_ago, negated=f.negated, other_person=f.other_person,
        uncertain=f.uncertain, code=f.code, start=f.start, end=f.end) for f in facts)
    doc = r.doc(context.plain(text or ""))
    covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    known = r.lexicon.known_words
    unrecognised: List[str] = []
    i = 0
    tokens = list(doc)
    while i < len(tokens):
        tok = tokens[i]
        if tok.i in covered or tok.is_punct or tok.like_num or _word_ok(tok.text, r.everyday, known):
            i += 1
            continue
        start = i
        j = i + 1
        # a run of unknown words ("zorbitol forte"), then the dose that follows it ("20mg", "20 mg")
        while j < len(tokens) and tokens[j].i not in covered and not tokens[j].is_punct and not tokens[j].like_num \
                and not _word_ok(tokens[j].text, r.everyday, known):
            j += 1
        while j < len(tokens) and (tokens[j].like_num or _DOSE.match(tokens[j].text)) and tokens[j].text not in ("-", "/"):
            j += 1
        unrecognised.append((text or "")[doc[start].idx:doc[j - 1].idx + len(doc[j - 1].text)])  # verbatim
        i = j
    own = [m for m in meds if not m.negated and not m.other_person]
    none_stated = bool(_NONE.search(_clean(text))) and not own and not unrecognised
    if not none_stated and meds and not own and not unrecognised and re.search(r"\b(?:no|not|n't|nt|never|none)\b", _clean(text)):
        none_stated = True   # "I don't take any blood thinners": nothing taken
    return MedicationReading(none_stated=none_stated, facts=meds, unrecognised=tuple(dict.fromkeys(unrecognised)))


# ---- concerns -----------------------------------------------------------------------------------------------------

_CONDITION_CONCERN = {"keloid scars": "other_scars", "rosacea": "rosacea"}


def read_concerns(text: str) -> List[str]:
    """Concern codes (answers.CONCERNS) in the text, in order; ["other"] for a meaningful answer that names none."""
    facts = [f for f in context.analyse(text)]
    codes: List[str] = []
    has_acne = any(f.kind == "condition" and f.canonical == "acne" for f in facts)
    for fact in facts:
        if fact.negated:
            continue
        code: Optional[str] = None
        if fact.kind == "concern":
            code = fact.canonical
            if code == "other_scars" and has_acne:
                code = "acne_scarring"   # "scarring from my acne", "acne and the scars it left"
        elif fact.kind == "condition":
            code = _CONDITION_CONCERN.get(fact.canonical)
        if code and code in CONCERNS and code not in codes:
            codes.append(code)
    if not codes and (_meaningful(text) or any(f.kind != "concern" and not f.negated for f in facts)):
        codes.append("other")   # "acne": not a concern code, but an answer (and volunteered as active acne)
    return codes


def _meaningful(text: str) -> bool:
    r = context.reader()
    t = _clean(text)
    if yes_no(t) in (UNSURE, NO) and len(t.split()) <= 4:
        return False
    words = [w for w in re.findall(r"[a-z]+", t) if len(w) >= 3]
    return any(w not in r.everyday for w in words)


# ---- corrections --------------------------------------------------------------------------------------------------

_CODE_TO_FIELD = {
    "anticoagulant": "blood_thinners", "bleeding_disorder": "bleeding_disorder", "herpes_history": "herpes_history",
    "active_herpes": "herpes_active", "keloid_tendency": "keloid", "active_acne": "active_acne",
    "isotretinoin_recent": "isotretinoin", "pregnancy": "pregnancy", "skin_infection": "skin_infection",
}
_FIELD_WORDS: Sequence[Tuple[str, "re.Pattern[str]"]] = (
    ("contact", re.compile(r"\b(?:e-?mail|email address|phone|mobile|phone number|number|contact|cell|telephone|tel)\b")),
    ("name", re.compile(r"\b(?:my name|spelt my name|spelled my name|surname|first name|last name|name)\b")),
    ("pregnancy", re.compile(r"\b(?:pregnan\w*|breast ?feeding|breastfeeding|expecting|baby)\b")),
    ("blood_thinners", re.compile(r"\b(?:blood thinn\w*|anticoagulant\w*|antiplatelet\w*)\b")),
    ("isotretinoin", re.compile(r"\b(?:isotretinoin|roaccutane|accutane)\b")),
    ("herpes_history", re.compile(r"\b(?:cold ?sores?|herpes)\b")),
    ("keloid", re.compile(r"\b(?:keloids?|raised scars?)\b")),
    ("bleeding_disorder", re.compile(r"\b(?:bleeding|clotting|bleed|platelets?)\b")),
    ("active_acne", re.compile(r"\b(?:spots?|acne|breakouts?|pimples?)\b")),
    ("skin_infection", re.compile(r"\b(?:infect\w*|eczema|psoriasis|wound|flare)\b")),
    ("further_checks", re.compile(r"\b(?:the list|any of these|any of those|checklist|check list|those conditions|"
                                  r"the conditions|the checks|other conditions|my age|under 18|sunburn\w*|moles?|"
                                  r"diabet\w*|lupus|botox|fillers?|laser|peel|allerg\w*|vitiligo|tan)\b")),
    ("medications", re.compile(r"\b(?:medications?|medicines?|meds|tablets|pills|prescriptions?|drugs)\b")),
    ("concerns", re.compile(r"\b(?:concerns?|what i want (?:treated|done|to treat|to improve|help with|to fix)|"
                            r"want (?:treated|treating)|worried about|bothers me|goals?|treat(?:ed|ment)? for|reason)\b")),
    ("area", re.compile(r"\b(?:area|areas|face|neck|chest|decolletage|hands|arms|legs|back|stomach|tummy|cheeks?|"
                        r"forehead|scalp|body|where|jawline|chin|nose|thighs|bum|buttocks)\b")),
    ("notes", re.compile(r"\b(?:notes?|anything else|something else|add something|add a note|extra info|"
                         r"mention something|forgot to (?:say|mention))\b")),
)


def _field_for(fact: Fact) -> Optional[str]:
    if fact.code and fact.code in _CODE_TO_FIELD:
        return _CODE_TO_FIELD[fact.code]
    if fact.code and fact.code in FURTHER_CHECKS:
        return "further_checks"
    entry = context.entry_for(fact)
    return entry.field


def field_of(text: str) -> Optional[str]:
    """Which answer key a correction is about ("actually I do get cold sores" -> "herpes_history"), or None."""
    t = _clean(text)
    if not t:
        return None
    for name, pattern in _FIELD_WORDS[:2]:
        if pattern.search(t):
            return name
    for fact in context.analyse(text):
        if fact.other_person:
            continue
        field = "concerns" if fact.kind == "concern" else _field_for(fact)
        if field and field != "notes":
            return field
    for name, pattern in _FIELD_WORDS[2:]:
        if pattern.search(t):
            return name
    return None


# ---- the checklist --------------------------------------------------------------------------------------------------

def read_further_checks(text: str) -> List[str]:
    """Checklist codes the text says apply: the phrase list (bot.language.checklist) joined with the lexicon's facts.

    A code the phrase list found is dropped when every mention bearing it is denied or someone else's.
    """
    from bot.language.checklist import read_further_checks as by_phrase

    facts = find_facts(text)
    own = [f.code for f in facts if f.own_affirmed and f.code in FURTHER_CHECKS]
    denied = {f.code for f in facts if not f.own_affirmed and f.code in FURTHER_CHECKS} - set(own)
    found = [c for c in by_phrase(text) if c not in denied]
    for code in own + [v["code"] for v in volunteered(text) if v["code"] == "under_18"]:
        if code and code not in found:
            found.append(code)
    return [c for c in FURTHER_CHECKS if c in found]


# ---- not English ----------------------------------------------------------------------------------------------------

_FOREIGN = frozenset("""
el la los las del de que qué es por para con una unos unas pero como cómo está estoy tengo tiene quiero puedo hola
gracias buenos buenas dias días señor también muy mi mis su sus sí cuánto cuesta precio tratamiento piel
le les du des est et je suis vous nous une un avec pour pas très bonjour merci voudrais oui non peau c'est qu'est
combien coûte ce cette sont mais
der die das und ist ich nicht mit ein eine sie wir für haben bin guten tag danke bitte hallo wie viel kostet haut
il di che non sono per una gli della buongiorno ciao grazie vorrei quanto costa pelle sì
o os as um uma não sim obrigado obrigada olá bom dia quero pele você está
""".split())
_ENGLISH = frozenset("""
the a an and is are was were i you he she it we they my your me to of in on for with at by from this that have has
had do does did not no yes what how much can could would will should about get got take taking like want need please
hi hello thanks thank just really also but or if so any some skin face treatment microneedling price cost
""".split())


def detect_language_hint(text: str) -> bool:
    """True when the text is clearly not English ("¿Qué es el microneedling?", "Bonjour, je voudrais...")."""
    t = (text or "").lower()
    if "¿" in t or "¡" in t:
        return True
    words = re.findall(r"[a-zà-ÿ']+", t)
    if not words:
        return False
    foreign = sum(1 for w in words if w in _FOREIGN and w not in _ENGLISH)
    english = sum(1 for w in words if w in _ENGLISH)
    if len(words) <= 2:
        return foreign >= 1 and english == 0 and words[0] in {"hola", "bonjour", "hallo", "ciao", "olá", "buongiorno", "gracias", "merci", "danke", "grazie", "obrigado", "obrigada", "salut"}
    return foreign >= 2 and foreign > english and foreign / len(words) >= 0.25
