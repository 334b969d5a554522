"""A hint that a message is not in English (`is_not_english`): the assistant then answers with the clinic's contacts."""

from __future__ import annotations

import re

_FOREIGN = frozenset(
    """
el la los las del de que qué es por para con una unos unas pero como cómo está estoy tengo tiene quiero puedo hola
gracias buenos buenas dias días señor también muy mi mis su sus sí cuánto cuesta precio tratamiento piel
le les du des est et je suis vous nous une un avec pour pas très bonjour merci voudrais oui non peau c'est qu'est
combien coûte ce cette sont mais
der die das und ist ich nicht mit ein eine sie wir für haben bin guten tag danke bitte hallo wie viel kostet haut
il di che non sono per una gli della buongiorno ciao grazie vorrei quanto costa pelle sì
o os as um uma não sim obrigado obrigada olá bom dia quero pele você está
""".split()
)
# a greeting alone, in one or two words, says the language
_GREETINGS = frozenset(
    """
hola bonjour hallo ciao olá buongiorno gracias merci danke grazie obrigado obrigada salut
""".split()
)
_ENGLISH = frozenset(
    """
the a an and is are was were i you he she it we they my your me to of in on for with at by from this that have has
had do does did not no yes what how much can could would will should about get got take taking like want need please
hi hello thanks thank just really also but or if so any some skin face treatment microneedling price cost
""".split()
)


def is_not_english(text: str) -> bool:
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
        return foreign >= 1 and english == 0 and words[0] in _GREETINGS
    return foreign >= 2 and foreign > english and foreign / len(words) >= 0.25
