"""Plain checks for the non-clinical answers: name, contact details, free text. Pure functions, no Rasa."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import List, Optional, Tuple

MAX_NAME = 80
MAX_FREE_TEXT = 2000

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{5,20}\d")

# ---- markup -------------------------------------------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]{0,300}>")
_MD_LINK = re.compile(r"\[([^\]\n]{0,200})\]\([^)\s]{0,500}\)")
_MD_EDGE_STAR = re.compile(r"(?<!\w)\*+|\*+(?!\w)")
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![\w@.])_+|_+(?![\w@.])")
_MD_LINE_MARK = re.compile(r"(?m)^\s*(?:#{1,6}|>+|[-*+]\s)\s*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
        "\u2066\u2067\u2068\u2069\u180e\ufe0e\ufe0f",
    ),
    None,
)


def strip_markup(text: str) -> str:
    """The text without HTML tags, markdown emphasis (** __ ~~ ` and * or _ at a word's edge), zero-width and
    control characters; whitespace collapsed. Letters (accents included), apostrophes and hyphens are kept:
    "<b>Tom Lee</b>" -> "Tom Lee", "**Cerys Hargreaves**" -> "Cerys Hargreaves", "Siân O’Neill-Jones" as it is."""
    t = unicodedata.normalize("NFC", text or "")
    if "&" in t:
        t = html.unescape(t)  # "&lt;b&gt;", "&amp;", "&nbsp;"
    if "<" in t:
        t = _TAG.sub(" ", _COMMENT.sub(" ", t))
    if "](" in t:
        t = _MD_LINK.sub(r"\1", t)
    t = _MD_LINE_MARK.sub(" ", t)
    t = _CONTROL.sub(" ", t.translate(_INVISIBLE))
    t = t.replace("**", "").replace("__", "").replace("~~", "").replace("`", "")
    if "*" in t:
        t = _MD_EDGE_STAR.sub("", t)
    if "_" in t:
        t = _MD_EDGE_UNDERSCORE.sub("", t)
    return " ".join(t.split())


# ---- names ----------------------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u2032": "'", "`": "'"})
_EMOTICON = re.compile(r"(?:(?<=\s)|^)(?:[:;=8][-^']?[)(\]\[dpo3/\\|*]+|<3+|\^_?\^|xd)(?=\s|$)", re.IGNORECASE)
_GREETING = re.compile(
    r"^\s*(?:(?:hi+|hello+|hey+|hiya|heya|hullo|yo|howdy|greetings|good\s+(?:morning|afternoon|evening|day)|morning|"
    r"afternoon|evening|ok(?:ay)?|sure|yes|yeah|yep|of\s+course|no\s+problem|np|right|so|well|um+|erm+|uh|oh|ah|"
    r"sorry|dear|there|again|thanks|thank\s+you|cheers|great|lovely|perfect|fine|just)\b[\s,!.:;-]*)+",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"^\s*(?:my\s+(?:full\s+)?name\s*(?:is|'s|s|:|-|=)?|(?:the\s+)?(?:full\s+)?name\s*(?:is|'s|s|:|-|=)|names?\b|"
    r"(?:you\s+can\s+|they\s+|people\s+|everyone\s+|just\s+|please\s+)?calls?\s+me|i\s+go\s+by|(?:i\s+am|i'm|im)\s+"
    r"(?:called|known\s+as)|known\s+as|i\s+am|i'm|im|it\s+is|it's|its|this\s+is|here\s+is|here's|that's|that\s+is|"
    r"it'll\s+be|put|write)\b[\s,:=-]*(?:just\s+)?",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"(?:[\s,.!:;-]+|^)(?:here|speaking|thanks|thank\s+you|thankyou|thx|ty|cheers|ta|please|pls|x+|xo+|"
    r"thanks\s+(?:a\s+lot|so\s+much)|many\s+thanks|bye|hi|hello|by\s+the\s+way|btw|lol|haha)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_LABEL = re.compile(
    r"\b(?P<kind>first|fore|given|christian|sur|last|family|second)[\s-]*name\s*(?:is|'s|:|-|=)?\s*"
    r"(?P<value>[^\W\d_][^\s,.;:!?]*(?:\s+(?!(?:and|surname|last|first|family|second|forename|given)\b)"
    r"[^\W\d_][^\s,.;:!?]*){0,2})",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r"\s*(?:[,.;!]|\s-\s|\s(?:and|but|&)\s|\s(?=(?:email|e-mail|phone|mobile|tel|number|dob|"
    r"age|address)\b))\s*",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(
    r"\(?\b(?:she|he|they|ze|xe)\s*/\s*(?:her|hers|him|his|them|theirs|they|zir|xem)\b\)?", re.IGNORECASE
)
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['\-.][^\W\d_]+)*\.?$")
# words a name never holds: "how much does it cost", "can I talk to a person", "this is my first time"
_FUNCTION_WORDS = frozenset(
    """
the is are am was were be been being does do did doing done don't doesn't didn't isn't aren't can can't cannot could
couldn't would wouldn't should shouldn't must might shall to too you your yours you're u ur what what's whats why how
when where which who whom whose much many need needs want wants wanna my mine me myself it it's its this that that's
these those there here of for from with without about at on in into onto by if or but not no nope yes yeah yep so just
only also because have has had having get got know think tell telling give ask asking please any anything some
something nothing none all i i'm im i've ive i'd id we us our they them their she hers than then very really thanks
thank okay ok hello hi hey like and sure else some anyone someone as
je tu vous nous est suis voudrais que qué quiero tengo es ist ich und nicht wie por para como cómo gracias merci
bonjour hola danke bitte grazie vorrei
""".split()
)
# ... and words that, when every word of the answer is one, are not a name ("acne scars", "fine", "call back"); a
# name may hold one beside a first name ("Rose Cost", "Rich Person", "Sunny Price", "Grace Nurse")
_NOT_NAME_WORDS = frozenset(
    """
price prices cost costs help booking book appointment appointments consultation acne scar scars scarring skin face
treatment treatments microneedling micro-needling needling human humans person people nurse doctor staff agent
operator stop cancel quit exit restart skip pass later fine good great well alright grand happy sad sorry ready back
pregnant nervous worried scared unsure interested looking wondering new breastfeeding allergic taking thinking hoping
keen curious excited anxious busy free available aged confused lost tired stressed male female single married cool
bot glad fab fabulous brilliant excellent lovely amazing awesome meh unwell ill poorly sick better worse anonymous anon
private secret test testing asdf qwerty idk na n/a unknown nobody whatever wrinkles pigmentation lines pores cheeks
forehead neck chest hands area areas aftercare downtime pain painful results sessions info information details question
questions menu options start begin next continue done finished bye goodbye maybe none nothing dunno nah nope
thanks cheers stretch marks rosacea eczema spots pimples cold sore sores age old young here call callback ring phone
email number mobile surname name firstname lastname forename first last full prefer rather say saying telling see
above below same before already told again user username dummy fake mr mrs miss ms mx dr prof rev sir dame lady lord
mister missus
""".split()
)
_PARTICLES = frozenset("van der den de da di du von dos das del della la bin binti ter ten af zu ap".split())
# "Rhiannon Evans here, hope that's ok"
_HERE = re.compile(r"^(?P<name>[^,.!?;:]{1,60}?)\s+(?:here|speaking)\b[\s,.!;:-]+(?P<rest>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Contact:
    email: Optional[str]
    phone: Optional[str]

    @property
    def display(self) -> str:
        return " / ".join(v for v in (self.email, self.phone) if v)


# "harpreet.sandhu at example dot com", "sam (at) mail [dot] co [dot] uk", "jo@gmail dot com"
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.@'-])(?P<local>[a-z0-9][a-z0-9._%+'-]*(?:\s+dot\s+[a-z0-9._%+'-]+)*)"
    r"(?:\s+at\s+|\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s*@\s*)"
    r"(?P<domain>[a-z0-9][a-z0-9-]*(?:(?:\s*\.\s*|\s+dot\s+|\s*[(\[{<]\s*dot\s*[)\]}>]\s*)[a-z0-9][a-z0-9-]*)+)",
    re.IGNORECASE,
)
_DOT_SEPARATOR = re.compile(r"\s*\.\s*|\s+dot\s+|\s*[(\[{<]\s*dot\s*[)\]}>]\s*", re.IGNORECASE)
_NOT_LOCAL_PARTS = frozenset(
    """
i im i'm me we us you is am are be here there it that this back home work look see meet arrive arrived stay staying
call ring text email e-mail mail contact reach at me on or and my name number best just
""".split()
)


def _spelled_email(text: str) -> Optional[str]:
    for m in _SPELLED_EMAIL.finditer(text):
        local = re.sub(r"\s+dot\s+", ".", m.group("local"), flags=re.IGNORECASE)
        if local.lower() in _NOT_LOCAL_PARTS:
            continue
        labels = _DOT_SEPARATOR.split(m.group("domain"))
        if len(labels) < 2 or not re.fullmatch(r"[a-z]{2,24}", labels[-1], re.IGNORECASE):
            continue
        candidate = f"{local}@{'.'.join(labels)}"
        if _EMAIL.fullmatch(candidate):
            return candidate.lower()
    return None


def parse_contact(text: str) -> Optional[Contact]:
    """An email address and/or a phone number found in the text, or None when there is neither.

    Emails as written ("jo@example.com") or spelled out ("harpreet.sandhu at example dot com"); phone numbers with
    spaces, dashes, dots or brackets, and +44 with or without its (0) ("+44 (0)7700 900123" -> "+447700900123").
    """
    text = strip_markup((text or "")[:500])
    email_match = _EMAIL.search(text)
    email = email_match.group(0).lower() if email_match else None
    rest = _EMAIL.sub(" ", text)
    if email is None:
        email = _spelled_email(text)
        if email:
            rest = _SPELLED_EMAIL.sub(" ", text)
    phones: List[str] = []
    for candidate in _PHONE_CANDIDATE.findall(rest):
        international = candidate.strip().startswith("+")
        digits = re.sub(r"\D", "", candidate.replace("(0)", ""))
        if international and digits.startswith("440"):
            digits = "44" + digits[3:]  # "+44 07700 900123": the trunk 0 is not dialled from abroad
        if digits.startswith("0") and not international and len(digits) < 10:
            continue  # a UK number written from its trunk 0 has 10 or 11 digits: "07700 9004" is missing some
        if 7 <= len(digits) <= 15:
            phones.append(("+" if international else "") + digits)
    # several numbers ("0131 496 0817 is my work number but mobile is better, 07700 900704"): the mobile
    mobiles = [p for p in phones if p.startswith("07") or p.startswith("+447")]
    found = mobiles or phones
    phone = found[0] if found else None
    if not email and not phone:
        return None
    return Contact(email=email, phone=phone)


def _name_text(text: str) -> str:
    """The answer with markup, emoji and emoticons gone, apostrophes straightened and whitespace collapsed."""
    t = strip_markup(unicodedata.normalize("NFKC", text or "").translate(_APOSTROPHES))
    t = _PRONOUNS.sub(" ", t)  # "Sam (they/them)"
    t = "".join(" " if unicodedata.category(ch)[0] in "SC" else ch for ch in t)
    t = _EMOTICON.sub(" ", " ".join(t.split()))
    return " ".join(t.split())


def _strip_intro(t: str) -> Tuple[str, bool]:
    """Greetings and an intro ("hi, I'm", "my names", "it's", "call me") off the front, sign-offs ("thanks", "here",
    "x") off the end. Returns the rest and whether an intro was there."""
    intro = False
    for _ in range(3):
        before = t
        t = _GREETING.sub("", t)
        stripped = _INTRO.sub("", t, count=1)
        if stripped != t:
            intro = True
            t = stripped
        if t == before:
            break
    here = _HERE.match(t)
    if here:
        t, intro = here.group("name"), True
    for _ in range(3):
        trimmed = _TAIL.sub("", t).strip(" ,.!-:;\"'")
        if trimmed == t:
            break
        if len(trimmed.split()) == 1 and len(t.split()) == 2 and re.fullmatch(r"[^\W\d_][\w'-]* [A-Z][\w'-]*", t):
            break  # "Sunny Bye": a capitalised second word with nothing before it is a surname, not a sign-off
        t = trimmed
    return t.strip(" ,.!-:;\"'"), intro


def _capitalise(word: str, first: bool, shout: bool) -> str:
    if shout:
        word = word.lower()
    if word != word.lower():
        return word  # as typed: "McDonald", "DeShawn"
    if not first and word in _PARTICLES:
        return word  # "van der Merwe", "de Souza"
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:], word)


def _labelled(t: str) -> Optional[str]:
    """ "first name Gethin, surname Rees" -> "Gethin Rees" (in either order)."""
    first = last = None
    for m in _LABEL.finditer(t):
        kind = m.group("kind").lower()
        value = m.group("value").strip()
        if kind in ("first", "fore", "given", "christian"):
            first = first or value
        else:
            last = last or value
    if first is None and last is None:
        return None
    if first is None:
        first = _first_before_label(t)
    return " ".join(v for v in (first, last) if v)


# "everyone calls me Gwen", "Kate for short", "I go by Liz": a nickname, not the name to store
_NICKNAME = re.compile(r"\b(?:calls? me|call me|known as|go by|goes by|for short|nickname|short for)\b", re.IGNORECASE)


def _first_before_label(t: str) -> Optional[str]:
    """ "it's Gwendolyn, everyone calls me Gwen, and the surname is Ashby" -> "Gwendolyn": the first name-like clause
    said before the surname's label, nicknames left out."""
    m = _LABEL.search(t)
    before = t[: m.start()] if m else ""
    for clause in _CLAUSE_BREAK.split(before):
        clause = clause.strip(" ,.!-:;\"'()")
        if not clause or _NICKNAME.search(clause):
            continue
        rest, _ = _strip_intro(clause)
        rest = re.sub(r"^(?:the|my|and|so)\s+$", "", rest.strip(" ,.!-:;\"'()"), flags=re.IGNORECASE)
        words = rest.split()
        if (
            words
            and not re.search(r"[\d@]", rest)
            and _is_name(words)
            and not all(w.lower() in _NOT_NAME_WORDS for w in words)
        ):
            return rest
    return None


def _is_name(words: List[str]) -> bool:
    if not 1 <= len(words) <= 6:
        return False
    if not all(_NAME_WORD.match(w) for w in words):
        return False
    lowered = [w.lower().rstrip(".") for w in words]
    for w, low in zip(words, lowered, strict=True):
        if low in _FUNCTION_WORDS and not (len(w) == 1 and w.isupper() and low not in ("i",)):
            return False  # "A" as an initial is fine; "a" in a sentence is not
    return not all(low in _NOT_NAME_WORDS for low in lowered)


def parse_name(text: str) -> Optional[str]:
    """The client's name from a free answer, or None when it isn't one.

    Accepts any name-like text (accents, hyphens, apostrophes, particles, one word or several) after a greeting or
    an intro ("hi, I'm Anjali", "Rhys Llewellyn here", "first name Gethin, surname Rees", "**Cerys Hargreaves**",
    "it's Harpreet 🙂"); lower-case names are capitalised ("ciarán doherty" -> "Ciarán Doherty"). Rejects questions,
    requests and sentences (words names never hold: the, is, can, to, you, what, my...), "no", "not telling you",
    emails, phone numbers and digits. Names that are ordinary words are names: "Grace Hope", "Rich Person".
    """
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw or len(raw) > 200 or raw.startswith("/"):
        return None
    t = _name_text(raw)
    if not t or "?" in t:
        return None
    labelled = _labelled(t)
    if labelled:
        t, intro = labelled, True
    else:
        t, intro = _strip_intro(t)
        if intro:
            # "I'm Sarah, I'd like to book", "my name is Tom Lee and my email is tom@example.com"
            clauses = [c.strip(" ,.!-:;\"'()") for c in _CLAUSE_BREAK.split(t)]
            head = clauses[0] if clauses else ""
            if head and not re.search(r"[\d@]", head) and _is_name(head.split()):
                t = head
                if len(head.split()) == 1:
                    # "I'm called Finn, Finn Doyle", "it's Margery - well, Marjorie actually, ... Marjorie Sutcliffe":
                    # the fuller name said after it is the name
                    fuller = [
                        c
                        for c in clauses[1:]
                        if len(c.split()) >= 2 and not re.search(r"[\d@]", c) and _is_name(c.split())
                    ]
                    if fuller:
                        t = max(reversed(fuller), key=lambda c: len(c.split()))
    if not t or any(ch in t for ch in "<>{}[]@\\/=;|#%&*+_~^$") or re.search(r"\d", t):
        return None
    t = t.strip(" ,.!-:;\"'()")
    words = t.replace(",", " ").split()
    if not _is_name(words):
        return None
    letters = [ch for ch in "".join(words) if ch.isalpha()]
    shout = len(letters) > 3 and all(ch.isupper() for ch in letters)
    name = " ".join(_capitalise(w, i == 0, shout) for i, w in enumerate(words))
    return name[:MAX_NAME].strip()


def name_as_written(text: str) -> Optional[str]:
    """The answer as the client wrote it, for when parse_name missed twice: markup and emoji gone, greeting and
    intro ("hi, my name is") taken off, whitespace collapsed, capped at MAX_NAME. None only when it has no letters."""
    t = _name_text(text or "")
    if not any(ch.isalpha() for ch in t):
        return None
    rest = _labelled(t) or _strip_intro(t)[0]
    if any(ch.isalpha() for ch in rest):
        t = rest
    return " ".join(t.split())[:MAX_NAME].strip() or None


def has_words(text: str) -> bool:
    """True when the text holds at least one letter (not only emoji, digits or punctuation)."""
    return any(ch.isalpha() for ch in (text or ""))


def clean_free_text(text: str, limit: int = MAX_FREE_TEXT) -> str:
    """Collapse whitespace and cap the length; markup stays as typed (pages escape it when shown)."""
    collapsed = " ".join((text or "").split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"
