"""The consent answer in everyday words: yes, no, a question about the data, or a hedge.

Consent is not an ordinary yes/no: "no problem, go ahead" and "no worries, fire away" are a yes; "I'd rather not",
"not comfortable with that" are a no; "who will see this?" asks about the data. A yes must be clear: anything hedged
is "unsure", and a person (or the client's clear yes later) decides. Pure functions of text.
"""

from __future__ import annotations

import re
from typing import Optional

from bot.screening.answers import NO, UNSURE, YES

WHY = "why"


def _clean(text: str) -> str:
    t = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"[*_~`<>]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


# A yes phrase that starts with "no" must be read before any no.
_YES_WITH_NO = re.compile(r"\b(?:no (?:problem|probs|prob|worries|bother|issue|issues)|not a problem|no objection)\b")
_NO = re.compile(
    r"\b(?:(?:i )?(?:do ?n[o']?t|dont|do not|won'?t|will not|can'?t|cannot) (?:consent|agree|want|give|accept|"
    r"feel comfortable|like)|not (?:consent|agreeing|agree|comfortable|happy|keen|okay|ok|willing)|"
    r"(?:rather|prefer) (?:not|you didn'?t|you did not|to not|not to)|decline|declined|refuse|no thanks|no thank you|"
    r"no way|absolutely not|definitely not|certainly not|i'?ll (?:phone|call|ring|email|contact)|nope|nah|"
    r"withdraw|not (?:right )?now|not today|^no+\b|^n$)"
)
_UNSURE = re.compile(
    r"\b(?:not (?:really |too |so |quite )?sure|unsure|don'?t know|dont know|do not know|dunno|maybe|perhaps|"
    r"possibly|let me think|think about it|depends|wary|hesitant|not certain|idk|hmm+|umm*|erm+)\b"
)
_YES = re.compile(
    r"^(?:y|ya|ye|yes+|yeah+|yea|yep|yup|yh|aye|ok+|okay|okey|oki|k|kk|sure|fine|alright|all right|right|absolutely|"
    r"definitely|certainly|of course|course|go ahead|go for it|agreed|agree|consent|sound|grand|cool|great|perfect|"
    r"happy|fire away|crack on|carry on|proceed|please do|by all means|whatever)\b"
    r"|\b(?:i (?:do )?(?:consent|agree)|i (?:do )?con[sc]\w*nt|i give (?:my )?consent|consent given|i'?m (?:fine|happy|"
    r"ok|okay|good) "
    r"(?:with|for|to)|happy to|fine (?:with|by) me|that'?s (?:fine|ok|okay|grand|alright|good)|all good|"
    r"you can (?:store|keep|use|have|hold)|go ahead|crack on|fire away|carry on|proceed|okey dokey|"
    r"whatever you need|of course|yes please|yes pls|yes i|i understand)\b"
)
_YES_SIGNS = ("✅", "👍", "👌", "✔")
_WHY = re.compile(
    r"\b(?:why|what (?:is|'s|s)? ?(?:it|this|that) for|what for|who (?:will|can|gets to|would) (?:see|read|access|"
    r"have)|"
    r"how long (?:do|will|would) you (?:keep|store|hold)|where (?:is|'s|will) (?:it|this|my data) (?:be )?(?:stored|"
    r"kept)|"
    r"is it (?:secure|safe|private|confidential)|what (?:do|will) you do with|what happens to|"
    r"(?:who|what) (?:sees|is it shared)|shared with|gdpr|data protection|privacy)\b"
)


def read_consent(text: str) -> Optional[str]:
    """ "yes" | "no" | "unsure" | "why" for an answer to "Do you consent?", or None when it is none of them."""
    t = _clean(text)
    if not t:
        return None
    asking = t.endswith("?") or bool(re.match(r"(?:why|what|who|how|where|when|will|is|are|do|does|can)\b", t))
    if asking and (_WHY.search(t) or re.search(r"\b(?:data|information|info|answers|stored|kept|see)\b", t)):
        return WHY  # a question about the data ("I agree, I've read the privacy bit" is no question)
    if re.search(
        r"\b(?:then|so|but|in that case|if so)\W+(?:it'?s a )?(?:yes|ok|okay|fine|go ahead|sure|i agree|i "
        r"consent)(?: again| please| then)?\W*$",
        t,
    ) or re.search(
        r"\b(?:then|so|in that case)\W+yes\b|\byou (?:have|'ve got) my (?:consent|permission|"
        r"ok)\b",
        t,
    ):
        return YES  # "I'm wary, but if it's only the clinic that sees it then yes": the last word is the answer
    if _YES_WITH_NO.search(t) and not re.search(r"\b(?:not (?:comfortable|happy|consent))\b", t):
        return YES
    if _NO.search(t):
        return NO
    if _UNSURE.search(t):
        return UNSURE
    if _YES.search(t) or re.search(r"\byes\b", t) or any(sign in text for sign in _YES_SIGNS):
        return YES
    return None
