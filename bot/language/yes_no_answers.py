"""Reading a free answer to a yes/no question (`yes_no`): "yes", "no", "unsure" or None, per question key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from bot.language import context, context_pipeline
from bot.language.context import Fact
from bot.language.facts import find_facts, without_idioms
from bot.screening.answers import NO, UNSURE, YES

# ---- yes / no -----------------------------------------------------------------------------------------------------
#
# How a free answer to a yes/no question is read (yes_no):
#  1. The answer is split into clauses (at punctuation, " - ", "but", "though", "and I ...") and each clause is cleaned
#     (case, quotes, emoji, chat spellings: "yh", "dnt", "im", "atm").
#  2. The consent question and the summary have words of their own ("ok", "happy to", "looks good", "no changes").
#  3. Each clause gets a verdict, in this order: a hedge about the answer (unsure; not "can't remember the name" or
#     "they might put it up"); someone else's ("my husband's on warfarin"); what it names for the question asked,
#     from the lexicon's facts (negated, someone else's, and at its time) or the question's own cues ("for my AF",
#     "my scars go lumpy", "12 weeks gone", "healed now"); a particle ("yeah", "nope"); a reply ("I do", "I'm not").
#     Time is settled per question: "had one last week" is a no to "a cold sore now?" and a yes to "ever?".
#  4. The clauses are combined: a hedge wins; then the last clause that decides ("not pregnant, but I'm still
#     breastfeeding" is a yes; "I have eczema but it's calm at the moment" a no); an answer only about other people is
#     a no. Isotretinoin is judged by its stop date against the rules' window (within: yes, beyond: no).

# Questions about the present ("do you take...", "are you pregnant"): "used to" answers them with a no.
PRESENT_KEYS = frozenset({"blood_thinners", "herpes_active", "active_acne", "pregnancy", "skin_infection"})
# Questions about ever / a tendency: the past answers them with a yes.
HISTORY_KEYS = frozenset({"herpes_history", "keloid", "bleeding_disorder"})
# "in the last N months, or now?": the stop date decides.
WINDOW_KEYS = frozenset({"isotretinoin"})
# the consent question and the summary's "is that all correct?"
AGREEMENT_KEYS = frozenset({"consent", "confirmed"})
SCREENING_KEYS = PRESENT_KEYS | HISTORY_KEYS | WINDOW_KEYS
# reason codes that say "yes" to each question (a fact's code is already read at its time)
_KEY_CODES = {
    "blood_thinners": {"anticoagulant"},
    "bleeding_disorder": {"bleeding_disorder"},
    "herpes_history": {"herpes_history", "active_herpes"},
    "herpes_active": {"active_herpes"},
    "keloid": {"keloid_tendency"},
    "active_acne": {"active_acne"},
    "isotretinoin": {"isotretinoin_recent"},
    "pregnancy": {"pregnancy"},
    "skin_infection": {"skin_infection"},
}

_NO_FIRST = re.compile(
    r"\b(?:(?:i )?do ?n[o']?t think so|do not think so|not that i(?:'m| am)? (?:know|aware)(?: of)?|not to my "
    r"knowledge|"
    r"not as far as i(?:'m| am)? (?:know|aware)|i do ?n[o']?t believe so|don'?t believe so|i doubt it|nothing that i "
    r"know of|"
    r"none that i know of|(?:i )?do ?n[o']?t think (?:i|i'?ve|i have|i am|i'?m|i do|i did|it|they|that|there|so)\b|"
    r"(?:i )?do ?n[o']?t believe (?:i|i'?ve|i have|i am|i'?m|i do|so)\b|(?:i )?can'?t say (?:i have|i do|i'?ve)|"
    r"not that i(?:'ve| have)? (?:noticed|seen|been told|remember|recall|can (?:see|tell|think of|remember))|"
    r"not that i'?ve ever|not as far as i can (?:tell|see)|not to my memory|i don'?t reckon|dont reckon)\b"
)
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|not certain|not 100|no idea|no clue|dunno|do ?n[o']?t know|do not know|dont know|idk|"
    r"ca ?n[o']?t remember|cannot remember|cant remember|can'?t recall|do ?n[o']?t remember|dont remember|"
    r"don'?t recall|not that sure|maybe|might|possibly|perhaps|probably|i think|think so|i guess|hard to say|"
    r"kind of|sort of|kinda|sorta|could be|unclear|i believe so|not really sure|not too sure|"
    r"forgot|forget|no sure|i suppose|suppose so|wouldn'?t know|would ?n[o']?t know|who knows|possible|not entirely "
    r"sure|"
    r"not totally sure|not completely sure|no clue|haven'?t a clue|not a clue|i reckon|i believe|i'?m guessing|"
    r"not confident|cannot say|depends|it varies|looking into it|being investigated|under investigation|"
    r"waiting (?:for|on) (?:results|tests|a diagnosis|the results|test results|blood results)|having tests|awaiting|"
    r"yes and no|yes or no|a bit of both|half and half|too (?:early|soon) to (?:tell|say|know)|hard to tell|can'?t say|"
    r"can'?t tell|cannot tell|(?:i'?d|i would|i'?ll|i will|i need to|need to|have to|let me|i'?ll have to|i'?d need to|"
    r"would have to|i must) (?:check|ask|look|find out)|no way of knowing|not been tested|never been tested|"
    r"haven'?t (?:been )?tested|not tested|"
    r"do ?n[o']?t (?:really |rightly |actually |honestly |genuinely |exactly |truly |even |properly |fully )+know|"
    r"(?:could ?n[o']?t|couldnt|can ?n[o']?t|cannot|can'?t) (?:honestly |really |rightly |truthfully |actually )?"
    r"(?:say|tell)|(?:can ?n[o']?t|can'?t|cannot|could ?n[o']?t|couldnt) be (?:sure|certain|100)|"
    r"would ?n[o']?t (?:like|want|dare|care) to (?:say|guess)|your guess is as good as mine|"
    r"(?:have ?n[o']?t|haven'?t|not) (?:got )?(?:the )?(?:foggiest|faintest|slightest)|not a scooby|search me|beats me|"
    r"(?:i'?ll|i will|i'?d|i would|i need to|need to|have to) (?:have to |need to )?(?:double[ -]?check|check|ask|"
    r"look)|"
    r"no (?:earthly )?idea)\b"
)
# hums on their own are a hedge; before an answer ("hmm not that I'm aware of") they are not
_HUM = re.compile(r"^(?:hmm*|um+|erm+|er+|uh+|well|ooh|oh)(?: (?:hmm*|um+|erm+|er+|uh+|well|ooh|oh))*$")
# "pretty sure not", "I'm fairly sure I don't": confidence, not a hedge
_CONFIDENT = re.compile(
    r"(?<!not )(?<!n't )\b(?:i'?m |i am )?(?:pretty|fairly|quite|very|100%|100 %|absolutely|99%|"
    r"reasonably|almost|totally|completely) (?:sure|certain|positive|confident)(?: that)?\b"
    r"|(?<!not )(?<!n't )(?<!un)\b(?:i'?m |i am )sure(?: that)?\b"
)
# a hedge about something else than the answer: the name, the dose ("I take something for clots, can't remember the
# name"), or what someone else might do ("they might put it up")
_HEDGE_ELSEWHERE = re.compile(
    r"\b(?:name|called|spell\w*|dose|dosage|mg|strength|brand|make|exact|which one|what it'?s for|how much|how many)\b"
    r"|\bescapes me\b"
)
_HEDGE_OTHER_SUBJECT = re.compile(
    r"^(?:and |but |so )?(?:they|they'?re|they'?ll|he|she|the (?:doctor|gp|nurse|derm\w*|"
    r"consultant|hospital|clinic)|my (?:doctor|gp|nurse|derm\w*|consultant|midwife)|"
    r"the doc|doc)\b"
)
_INVESTIGATION = re.compile(
    r"\b(?:looking into it|being investigated|under investigation|waiting (?:for|on) "
    r"(?:results|tests|"
    r"a diagnosis|the results|test results|blood results)|having tests|awaiting)\b"
)
# "maybe 2 years ago": a hedge on the time, read against the window
_TIME_HEDGE = re.compile(
    r"\b(?:maybe|probably|possibly|perhaps|i think)\s+(?:\d+|a|an|one|two|three|"
    r"four|five|six|seven|eight|nine|ten|eleven|twelve|a few|a couple of|couple of|few|several)\s+"
    r"(?:days?|weeks?|months?|years?|yrs?|mths?|wks?)\b"
)

_LEAD_NO = re.compile(
    r"^(?:no+|nope+|nah+|na|n|nay|never|none|nothing|negative|nil|not at all|no way|not really|not me|neither|nor|"
    r"definitely not|of course not|certainly not|absolutely not|sadly not|unfortunately not|thankfully not|luckily not|"
    r"happily not|not anymore|not any more|no longer|no thanks|no thank you|not|not yet|nowt|not a chance|god no|"
    r"do ?n't|do not|have ?n't|have not|did ?n't|did not|does ?n't|is ?n't|are ?n't|was ?n't|never have|never had|"
    r"hell no|heck no|no chance)\b"
)
_LEAD_YES = re.compile(
    r"^(?:yes+|yeah+|yea|yep+|yup+|ya|yah|y|ye|aye|sure|correct|right(?! (?:now|away|side|here|there))|affirmative|"
    r"definitely|absolutely|of course|indeed|true|uh huh|mhm+|mm+ hmm|yas+|totally|certainly|afraid so|"
    r"unfortunately|sadly|yes please|that'?s right|that is right|that'?s correct|yessir|yus)\b"
    r"|^(?:i do|i am|i have|i did|i'?ve had|i have had)(?: (?:yes|yeah|yep|unfortunately|sadly|actually|indeed|too|"
    r"as well|i'?m afraid|afraid so))*$"
)
_TRAIL_YES = re.compile(r"\b(?:yes+|yeah+|yep+|yup+)$")
_TRAIL_NO = re.compile(r"\b(?:no+|nope+|nah+)$")
_NO = re.compile(
    r"\b(?:i do ?n[o']?t|i dont|i do not|i have ?n[o']?t|i havent|i have not|i'?m not|im not|i am not|i did ?n[o']?t|"
    r"i didnt|i did not|i never|i'?ve never|ive never|have never|never had|never have|never been|never taken|never "
    r"used|"
    r"never got|never get|never noticed|none of|not me|not on any|not on anything|nothing like that|not pregnant|"
    r"have ?n[o']?t got|do ?n[o']?t have|do ?n[o']?t take|do ?n[o']?t get|not mine|is ?n[o']?t mine|not for me|"
    r"no i|nope|nah|not taking|not had|never ever|not got|on nothing|take nothing|nothing at all|"
    r"nothing(?! else| to (?:change|add|correct))|none(?! else)|nowt|zero)\b"
)
# a statement about something else ("I had a baby last year", "I broke my arm as a kid"): its time is not an answer
_SOMETHING_ELSE = re.compile(
    r"\b(?:i|i'?ve|i'?d|we|we'?ve|my \w+)\s+(?:had|have|broke|got|did|went|was|were|took|"
    r"lived|"
    r"moved|worked|tried|been|bought|saw|started|finished|left)\s+(?:a|an|my|the|to|in|at|"
    r"some|"
    r"loads of|lots of)\s+(?!one\b|few\b|couple\b|bit\b|little\b|lot\b|while\b|long\b|"
    r"course\b)\w+"
)
# a reply that takes an object counts when the object is the thing asked ("I've got one", "I take it daily"), not
# something else ("I've got a cold", "I take loads of tablets" with no blood thinner among them)
_YES_OBJECT = (
    r"(?:i have|i'?ve got|ive got|i have got|i got|i get|i take|i'?m on|im on|i use|i suffer(?: from| "
    r"with)?|"
    r"i had|i'?ve had|ive had|i'?m still(?: on)?|i still(?: have| get| take)?|still on|i carry|i form|"
    r"i'?ve been on|i'?m currently on|currently on)"
)
_YES_ADVERB = (
    r"(?:yes|yeah|too|as well|also|unfortunately|sadly|still|though|actually|sometimes|occasionally|often|"
    r"usually|regularly|every|now|right now|at the moment|currently|daily|on and off|from time to time|when|"
    r"whenever|if|after|since|a bit|a little|really|always|indeed|i'?m afraid|afraid so|once|twice|lately|"
    r"recently|but|again|on|at|in|around|near|by|under|over|from|for|of them|last|this|these days)"
)
# "I've had a few in my twenties", "I've got one now": a pronoun or an amount, then nothing or an adverb; not
# "I've had some tests"
_YES_NEXT = (
    r"(?:$|\s+" + _YES_ADVERB + r"\b|\s+(?:one|ones|them|it|some|any|a few|a couple|loads|lots|several|two|"
    r"three|those|these|both|all|plenty|quite a few|the odd one|a fair few)(?:$|\s+" + _YES_ADVERB + r"\b))"
)
_YES = re.compile(
    r"\b(?:" + _YES_OBJECT + _YES_NEXT + r"|(?:i am|i'?m)(?:$| (?:yes|yeah|afraid so|i'?m afraid|unfortunately|sadly|"
    r"still|currently|indeed|at the moment|right now|now)\b)|i do\b(?! not)|i did\b(?! not)|got one|have one|had one|"
    r"had them|had it|"
    r"had a few|had a couple|still do|that'?s right|that is right|yes i|they do|it does|it'?s mine|it is mine|"
    r"that'?s mine|they'?re mine|i'?m pregnant|i am pregnant)"
)
# with no question known (a correction, a read-back), "I have ..." is the client saying so, whatever the object
_YES_ANY_OBJECT = re.compile(
    r"\b(?:i have(?! (?:to|never|not|no|none)\b)|i'?ve got|ive got|i have got|i got|i get|i "
    r"take|i'?m on|im on|i use|"
    r"i suffer|i had(?! (?:to|never|not|no|none)\b)|i'?ve had|ive had|i'?m still on|i still "
    r"have|i'?ve been on)\b"
)
# the client had it: "had one last week", "used to on my chin", "a couple of times as a kid"
_PAST_AFFIRMED = re.compile(
    r"\b(?:had one|had it|had them|had a few|had a couple|i had$|it went|my last one|used to|"
    r"as a (?:kid|child|teenager|teen|baby|youngster)|in my (?:teens|twenties|20s|youth)|"
    r"when i was (?:younger|a kid|a child|little|a teen|a teenager|at school|\d+)|in the past|"
    r"years ago|once before|a while ago|ages ago|a long time ago)\b"
)
_FREQ = re.compile(
    r"\b(?:sometimes|occasionally|once|twice|a few times|every now and then|now and then|now and again|from time to "
    r"time|"
    r"only when|when i'?m|often|usually|regularly|rarely|hardly ever|on and off|every so often|"
    r"every (?:winter|summer|year|month|few months|few years)|a couple of times|when stressed|whenever|most winters|"
    r"times a year|the odd one|now and again|when i get|if i'?m|if i get|flare ups?|comes? and goes?)\b"
)
_PAST = re.compile(
    r"\b(?:used to|in the past|ago|as a (?:kid|child|teenager|teen|baby|youngster)|when i was|years back|before now|"
    r"previously|in my (?:teens|twenties|20s|youth|late teens|early twenties)|at school|at uni|back in|"
    r"last (?:year|month|week|summer|winter|spring|autumn|time|christmas|one)|my last one|"
    r"had (?:one|it|them|a|some|bad|acne|herpes|cold sores?|a flare|my)|i had|i'?ve had|ive had|i did|was on|were on|"
    r"took|finished|stopped|came off|come off|quit|in (?:19|20)\d\d|"
    r"was (?:in|about|around)|until|till|when i was younger|years ago|once before|as a teen)\b"
)
_NOW = re.compile(
    r"\b(?:right now|at the moment|at the mo|at the minute|currently|today|this week|still(?! (?:fine|clear|ok|okay|"
    r"good))|"
    r"(?<!healed )(?<!gone )(?<!clear )(?<!fine )(?<!nothing )(?<!none )(?<!not )now(?! and (?:then|again))|"
    r"these days|at present|presently|flaring|flared up|flare up|playing up|acting up|coming up|just starting|"
    r"starting|tingl\w*|i'?ve got|ive got|i have got|i'?ve a|got (?:a|one|some|a few|a couple)|"
    r"there'?s (?:a|one|an|some)|i have (?:a|one|some|a few|a couple)|on it|taking it|still on)\b"
)
# the thing asked about is over: a no to a question about now
_NOT_YET = r"(?<!nearly )(?<!almost )(?<!not )(?<!half )(?<!mostly )(?<!not quite )"  # "nearly healed" is not over
_RESOLVED = re.compile(
    r"\b(?:" + _NOT_YET + r"healed(?: up)?|" + _NOT_YET + r"(?<!weeks )(?<!months )(?<!week )(?<!month )gone"
    r"(?! (?:down|up|lumpy|hard|raised|red|thick|bumpy|infected|bad|septic|yellow|sore|worse|angry|crusty|weepy|"
    r"tingly|tingling|itchy|numb|swollen|puffy|scabby|blistery|blistered|raw|pink|purple|white|dark|brown|tight|hot))|"
    r"" + _NOT_YET + r"cleared(?: up)?|(?<!not )clear(?! (?:what|to me|on))|settled(?: down)?|(?<!not )calm(?:ed)?(?: "
    r"down)?|"
    r"under control|went away|gone away|it went|they went|disappeared|died down|fine now|better now|"
    r"(?:nothing|none|not) (?:now|at the moment|at the mo|at the minute|currently|right now|today|these days)|"
    r"no (?:longer|more)|not any ?more|nothing since|finished|stopped|came off|come off|quit|behaving|"
    r"(?:skin'?s|skin is|skin has been|it'?s|lips are|they'?re) (?:been )?(?:fine|good|great|ok|okay|clear|lovely))\b"
)
# "I'm clear", "all fine", "tests came back normal": nothing to report
_FINE = re.compile(
    r"\b(?:i'?m|i am|all|everything(?:'s| is)?|it'?s|it is|came back|come back|was|were|they'?re|they "
    r"are|"
    r"skin'?s|skin is|bloods? (?:are|is|were|was)|tests? (?:are|is|were|was))\s+(?:all\s+)?(?:clear|"
    r"fine|ok|okay|"
    r"normal|good|great|healthy|negative)\b|\ball (?:clear|fine|normal|good)\b"
)
_NOW_WORSE = re.compile(r"\b(?:except|apart from|but|though|other than)\b")
# "not at the moment": a no to a question about now, a yes to "have you ever...?"
_NOT_NOW = re.compile(
    r"^(?:no+ |nope )?(?:not|no|nothing|none) (?:at the moment|now|right now|currently|recently|"
    r"anymore|"
    r"any more|lately|these days|at present|at the minute|at the mo|today|atm|for now|just now)\b"
    r"|\bno longer\b|\bnot anymore\b|\bnot any more\b|\bnot (?:at the moment|right now|currently|at "
    r"the mo)\b"
)
# "I haven't had one for years": a history
_NOT_FOR_AGES = re.compile(
    r"\b(?:have ?n[o']?t|havent|have not|not) (?:had|got|been) (?:one|them|any|it|an? \w+|any "
    r"\w+)?\s*"
    r"(?:for|in|since) "
    r"(?:years|ages|a while|a long time|months|\d+ years|a few years|a couple of years|i was)\b"
    r"|^not (?:for|in|since) (?:years|ages|a while|a long time|a few years|a couple of years|"
    r"ages now)\b"
    r"|^not (?:had one|had any) (?:for|in) (?:years|ages|a while|a long time)\b"
    r"|^(?:not|none|nothing|never|no more|not had one|not had any) since(?: then| (?:i was \w+|"
    r"childhood|school|uni|my teens|i was a \w+))?$"
)
# "not in the area I want treated": a no to the questions about the area
_NOT_AREA = re.compile(
    r"\bnot (?:in|on|near|around) (?:the|that|this|my|those) (?:area|areas|bit|part|place|spot|zone|"
    r"face)\b"
    r"|\bnot where\b|\bnowhere near\b|\bnot (?:on|in) the (?:bit|area)\b|\bjust on my (?:legs|arms|"
    r"elbows|"
    r"hands|knees|back|scalp|body)\b|\bonly on my (?:legs|arms|elbows|hands|knees|back|scalp|"
    r"body)\b"
)
_AREA_KEYS = frozenset({"active_acne", "skin_infection"})
# looks like a negation, is not one: "nothing else", "not only", "not as often", "no problem"
_NOT_A_DENIAL = re.compile(
    r"\b(?:anything else|nothing else|no other|not only|not just|not as (?:often|bad|much)|"
    r"not so (?:often|bad|much)|not (?:that|too|very) (?:often|bad|much)|not often|not always|"
    r"not bad|no problem|no worries|not a problem|apart from that|besides that|otherwise)\b"
)
# whose clause it is: "my husband's on warfarin", "mum is on warfarin", "that's my dad's", "he takes clopidogrel"
_OTHER_NOUN = (
    r"(?:mum|mom|mam|mammy|mummy|mommy|mother|dad|daddy|father|husband|hubby|wife|partner|boyfriend|"
    r"girlfriend|bf|gf|fianc[eé]e?|other half|sister|brother|sis|bro|son|daughter|child|children|kids?|"
    r"toddler|twins|youngest|eldest|oldest|nan|nana|nanny|gran|granny|grandma|grandmother|grandad|grandpa|"
    r"grandfather|grandparents|aunt|auntie|aunty|uncle|cousin|niece|nephew|friend|mate|colleague|flatmate|"
    r"housemate|neighbour|neighbor|parents?|family|whole family|step ?mum|step ?dad|in-?laws|"
    r"mother-in-law|father-in-law|fella|stepson|stepdaughter|little girl|little boy|teenager|sibling)"
)
_OTHER_SUBJECT = re.compile(
    r"^(?:(?:yes|yeah|yep|no|nope|nah|well|oh|and|but|though|only|just|actually|sadly)\s+)*"
    r"(?:(?:both|all|one|two|three|all three|all of|one of|two of|both of) (?:of )?)?"
    r"(?:(?:(?:my|our|his|her|the|a)\s+(?:\w+\s+){0,2}?" + _OTHER_NOUN + r"s?(?:'s|s')?"
    r"|" + _OTHER_NOUN + r"(?:'s)?|he|she|he's|she's)\b"
    r"|(?:that|it|this|those|these)(?:'s| is| was| are| were|'re)?\s+(?:\w+\s+)?(?:my|our|his|her)\s+(?:\w+\s+){0,2}?"
    + _OTHER_NOUN
    + r"s?(?:'s|s')?\b)"
)
_OWN_TOO = re.compile(
    r"\b(?:and i|and me|me too|so do i|so have i|so am i|as do i|as have i|like me|both of us|we "
    r"both|"
    r"me as well|i also|i do too|i have too|same as me|as well as me|and myself|me included|"
    r"including me|myself included|same here|same with me|me also)\b"
)
# "is that the same?", "does that count?": the client asks whether what they have is what was asked
_COUNTS = re.compile(
    r"\b(?:does (?:that|it|this) count|would (?:that|it|this) count|is (?:that|it|this) the same|"
    r"is (?:that|it|this) what you mean|would (?:that|it|this) be|"
    r"is (?:that|this) (?:a|one)(?! (?:problem|issue|worry|concern|risk|big deal|bad|good))|"
    r"do(?:es)? (?:that|it|this) qualify|is that classed as|are they the same)\b"
)
_INTERROGATIVE = re.compile(
    r"^(?:who|what|whats|what's|why|how|when|where|which|whose|do|does|did|is|are|can|could|"
    r"will|would|should|shall|am|have|has|was|were|may|must)\b"
)
# a question with no question mark ("is there a risk of infection", "will it make my cold sores worse"): a question
# word, or an auxiliary before its subject; not an answer that starts the same way ("when I was a kid", "have eczema",
# "could be")
_QUESTION_LIKE = re.compile(
    r"^(?:(?:so|and|but|also|ok|okay|oh|just wondering|quick question|sorry)\s+)*(?:"
    r"(?:what|whats|what's|why|how|which|whose|who)\b(?! (?:i (?:was|had|did|used)|a shame|a pain|annoying))"
    r"|(?:when|where) (?:do|does|did|is|are|can|could|will|would|should|shall|am)\b"
    r"|(?:do|does|did|is|are|can|could|will|would|should|shall|am|was|were|may|must|have|has|is ?n't|are ?n't|do ?n't|"
    r"does ?n't|wo ?n't|can'?t|ca ?n't)\s+(?:i|i'm|you|u|it|there|that|this|they|we|he|she|your|anyone|someone|people|"
    r"everyone|the (?:treatment|needles?|needling|procedure|session|microneedling|micro-needling|results?|redness|"
    r"swelling|skin)|micro-?needling)\b"
    r"|(?:do|does|is|are|will|can|could|would|should)\s+\w+(?:\s+\w+)?\s+(?:a (?:problem|issue|risk|worry|concern)|"
    r"an (?:issue|problem)|matter|count|affect\w*|make|cause|stop|interfere|mean|okay|ok|safe|fine|allowed|"
    r"dangerous|bad|react|work|change)\b)"
)

# The questions' own words, with words between the parts of a phrase that the lexicon's exact phrases cannot hold.
_THINNER_FOR = re.compile(
    r"\b(?:tablets?|pills?|injections?|jabs?|medication|medicine|meds|something|one|them|it|stuff|drugs?|on|take|"
    r"taking|"
    r"inject|injecting)\b(?:\s+\S+){0,6}?\s+(?:for|to (?:stop|prevent|thin|help with)|because of|against)\s+"
    r"(?:me |my |the |a |an |any |more |blood |my blood |me from |it )?"
    r"(?:af|afib|a fib|a-fib|atrial fibrillation|clots?|clotting|dvt|pe|embolism|"
    r"pulmonary embolism|heart valve|valve|mechanical valve|stent|stroke|mini stroke|tia|blood|thrombosis)\b"
    r"|\bthin(?:s|ning)? (?:my|the|your) blood\b|\bblood ?thin\w*|\banti-?coag\w*"
)
_RAISED = re.compile(
    r"\b(?:raised|lumpy|lumps?|thick(?:ened|er)?|bumpy|bumps?|stick(?:s|ing)? (?:out|up)|stand(?:s|ing)? (?:out|up)|"
    r"go(?:es)? hard|hard and|hypertrophic|keloid\w*|raise up|puff(?:y|ed|s)? up|swell(?:s|ed)? up|ridged?|rope-?like|"
    r"overgrow\w*|grow(?:s)? (?:bigger|over)|spread(?:s)? (?:beyond|out)|proud|knobbly|ropey|rubbery)\b"
)
_SCAR_WORDS = re.compile(
    r"\b(?:scars?|scarring|scarred|piercings?|they|they'?re|them|it|it'?s|ones?|mine|cuts?|"
    r"wounds?|op|operation|surgery|c-section|caesarean|heal\w*|tattoos?|lumps?)\b"
)
_FLAT = re.compile(
    r"\b(?:flat|flatten\w*|fades?|faded|fade away|heal(?:s|ed)? (?:well|fine|nicely|neatly|normally|ok|okay|flat|"
    r"really well|cleanly|"
    r"great|properly)|barely (?:visible|noticeable|there)|can'?t (?:see|notice) them|thin (?:white )?lines?|pitted|"
    r"indented|dented|sunken|go away|disappear\w*|heal(?:s)? like normal|normal scars?|fine white)\b"
)
_PREGNANT = re.compile(
    r"\b(?:pregnant|preggers|preggo|pregnancy|expecting|bun in the oven|(?:\d+|[a-z]+) (?:weeks?|wks?|months?) "
    r"(?:gone|along|pregnant|in)|(?:i'?m|i am|about|nearly|almost|just over|over) \d+ ?(?:weeks?|wks?|months?)$|"
    r"trimester|due (?:in|on|at|date|any day|next|soon|this|around)|my due date|due date|baby'?s? (?:is )?due|"
    r"breast ?fe(?:ed|d)\w*|breast-fe\w*|bf'?ing|(?<!in )(?<!student )nursing(?! (?:home|degree|job|course|student))|"
    r"chest ?feeding|feeding (?:him|her|them|the baby|my baby|baby|my little one|my son|my daughter|my toddler|"
    r"at night|myself|my \w+ (?:month|week|year) old|my twins|my lo)|still feeding|night feeds?|expressing|pumping|"
    r"combi(?:nation)? feeding|combi fed|mixed feeding|boob|breast ?milk)\b"
)
_NOT_PREGNANT = re.compile(
    r"\b(?:formula|bottle ?fe[de]\w*|i'?m (?:a )?(?:male|man|bloke|guy|lad|fella|dude|gent|gentleman)|"
    r"i am (?:a )?(?:male|man)|past (?:all )?that|menopaus\w*|post ?menopausal|hysterectomy|"
    r"can'?t (?:have|get) (?:kids|children|pregnant)|trying(?: for a baby| to conceive| to get pregnant)?|ttc|"
    r"(?:finished|stopped|gave up|give up) (?:breast ?feeding|feeding|nursing|expressing|pumping)|weaned)\b"
)
_HERPES_NOW = re.compile(
    r"\b(?:tingl\w*|(?:one|it)(?:'s| is)? (?:just )?(?:coming|starting|brewing|forming|coming up|"
    r"flaring)|just (?:starting|coming up|come up|appeared|popped up)|coming up|got one|have one|"
    r"there'?s one|scab\w*|weeping|crust\w*|blister\w*)\b"
)
# "it's right on my lip": a yes with a place, and no "yes" (a cold sore, a spot or a wound the client has)
_IT_IS_ON = re.compile(
    r"\b(?:it'?s|it is|they'?re|they are|one'?s|one is|there'?s one|there'?s a \w+|got one|have one|"
    r"^(?:only |just )?(?:one|a few|a couple|two|three|some))\s+"
    r"(?:\w+ ){0,2}?(?:on|by|under|near|at|in the corner of|just above|just below|above|below|"
    r"inside)\s+"
    r"(?:my|the)\b"
)
_HERPES_EVER = re.compile(r"\b(?:get them|got them|had them|get one|had one|get it|carry the virus|the virus)\b")
_ACNE_NOW = re.compile(
    r"\b(?:whiteheads|blemish\w*|cysts?|spotty|broken out|breaking out|break out|flare ?up|pimples?|"
    r"zits?|(?<!dark )(?<!sun )(?<!age )(?<!brown )(?<!liver )(?<!red )(?<!beauty )spots?|angry "
    r"ones)\b"
)
_ACNE_NOT = re.compile(
    r"\b(?:just (?:the )?(?:scar\w*|marks?|red marks|dark marks|pigmentation|blackheads)|only "
    r"(?:the )?"
    r"(?:scar\w*|marks?)|blackheads? only|(?:just|only) (?:a few|some|a couple of|the odd|a bit of|"
    r"a handful of|a load of|loads of|lots of|\w+) (?:blackheads|whiteheads? and blackheads|milia|"
    r"enlarged pores|open pores)|blackheads(?: \w+){0,3} but (?:no|not)\b)\b"
)
_SKIN_NOW = re.compile(
    r"\b(?:cut|cuts|scratch(?:es|ed)?|graze\w*|scab\w*|still open|open (?:wound|sore|cut|skin|"
    r"graze)|"
    r"weeping|oozing|infected|flar\w*|playing up|acting up|blister\w*|burn|burnt|broken skin|"
    r"skin is broken|bleeding|crusty)\b"
)
# where a cut or a graze is not in the area treated (a finger, a heel), and the face, which is
_BODY_ELSEWHERE = re.compile(
    r"\b(?:fingers?|thumbs?|hands?|arms?|heels?|feet|foot|toes?|knees?|legs?|shins?|elbows?|"
    r"wrists?|ankles?|palms?|knuckles?)\b"
)
_FACE = re.compile(
    r"\b(?:face|cheeks?|chin|jaw\w*|forehead|nose|lips?|mouth|eyes?|brow|temples?|neck|scalp|ears?|"
    r"decollet\w*|chest|treat\w*|area)\b"
)
_BLEED_SIGN = re.compile(
    r"\b(?:bruise|bruises|bruising|bleed|bleeds|bleeding)\b(?:\s+\S+){0,3}?\s+(?:easily|a lot|"
    r"for ages|loads|heavily|badly|like mad|forever|longer)\b"
)
_AGE_STATEMENT = re.compile(
    r"\b(?:i'?m|i am|im) (?:\d+|[a-z]+ty(?:[- ][a-z]+)?)(?: years old| yrs old| now)?\b(?! "
    r"?(?:weeks?|"
    r"wks?|months?|days?|mg|%))"
)

# consent and the summary
_AGREE_YES = re.compile(
    r"\b(?:ok(?:ay|ey|ie)?|k|kk|alright|all right|fine|go ahead|go on(?: then)?|go for it|do it|proceed|continue|"
    r"let'?s (?:go|do it|start|begin)|carry on|fire away|crack on|happy to|"
    r"happy for you to|happy with that|i'?m happy|i agree|agreed|agree|i consent|i do consent|i give (?:my )?consent|"
    r"consent|consented|give consent|i accept|accepted|accept|yes please|please do|sounds good|sounds fine|no problem|"
    r"no probs|no worries|np|sure thing|looks? (?:good|fine|right|correct|great|ok|okay|perfect|spot on)|"
    r"all (?:correct|good|fine|ok|okay|right|looks \w+|accurate|spot on)|perfect|spot on|bang on|"
    r"that'?s (?:everything|it|all|all correct|correct|right|all right|perfect|fine|grand|great)|send(?: it)?|submit|"
    r"nothing to (?:change|add|correct|fix)|no changes?(?: needed| required| to make)?|nothing wrong|accurate|grand|"
    r"lovely|brilliant|great|cool|cheers|by all means|definitely|absolutely|of course|correct|yes|yeah|yep|yup)\b"
)
_AGREE_NO = re.compile(
    r"\b(?:i'?d rather not|rather not|(?:i'?d |i would )?prefer (?:not|you didn'?t|you did not)|do ?n[o']?t consent|"
    r"do not consent|not consent|no consent|withdraw|do ?n[o']?t agree|do not agree|disagree|not happy|"
    r"not comfortable|uncomfortable|decline|refuse|do ?n[o']?t want|do not want|no thanks|no thank you|"
    r"rather you didn'?t|no way|absolutely not|definitely not|not really|not at all|nope|nah|not ok(?:ay)?)\b"
)
# the summary: anything to change is a no to "is that all correct?"
_CONFIRM_NO = re.compile(
    r"\b(?:not (?:quite|right|correct|all correct|accurate|fine)|that'?s (?:not right|wrong|incorrect|not correct)|"
    r"(?:is|are|was|were|looks) wrong|wrong|incorrect|mistake|need(?:s)? (?:to )?(?:chang|correct|fix|amend|updat)\w*|"
    r"want to (?:change|correct|fix|amend|update)|something'?s (?:wrong|off|not right)|"
    r"not (?:everything|all)(?: of it)? (?:is )?(?:right|correct)?|hang on|wait|change (?:something|one|that|my|the)|"
    r"not yet|typo|spelt|spelled|misspel\w*)\b"
)
_AGREE_ANYWAY = re.compile(
    r"\b(?:do ?n[o']?t mind|do not mind|not bothered|not a problem|no problem|no probs|no "
    r"worries|"
    r"fine (?:by|with) me)\b"
)

_WORD_FIXES = {
    "yh": "yeah",
    "yeh": "yeah",
    "yea": "yeah",
    "ya": "yeah",
    "yah": "yeah",
    "yus": "yes",
    "yesh": "yes",
    "yip": "yep",
    "yas": "yes",
    "yass": "yes",
    "nop": "nope",
    "naw": "nah",
    "noo": "no",
    "nooo": "no",
    "nopee": "nope",
    "yess": "yes",
    "yeahh": "yeah",
    "dnt": "don't",
    "dont": "don't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "arent": "aren't",
    "cant": "can't",
    "wont": "won't",
    "aint": "ain't",
    "im": "i'm",
    "ive": "i've",
    "u": "you",
    "ur": "your",
    "coz": "because",
    "cos": "because",
    "cuz": "because",
    "atm": "at the moment",
    "rn": "right now",
    "tbh": "",
    "tbf": "",
    "lol": "",
    "haha": "",
    "hahaha": "",
    "lmao": "",
    "omg": "",
    "x": "",
    "xx": "",
    "xxx": "",
    "ta": "thanks",
    "thx": "thanks",
    "pls": "please",
    "plz": "please",
    "defo": "definitely",
    "deffo": "definitely",
    "deff": "definitely",
    "probs": "probably",
    "prob": "probably",
    "abt": "about",
    "bc": "because",
    "wks": "weeks",
    "wk": "week",
    "mnths": "months",
    "mths": "months",
    "yrs": "years",
    "yr": "year",
    "fortnight": "2 weeks",
    "fortnights": "2 weeks",
    "okey": "okay",
    "okie": "okay",
    "preg": "pregnant",
    "sorta": "sort of",
    "kinda": "kind of",
}
# words that never name a medicine or a condition: an answer made only of these needs no spaCy reading
_ANSWER_WORDS = frozenset(
    """
yes yeah yep yup ya yah y ye aye sure correct right definitely absolutely of course indeed true totally certainly
no nope nah na n never none nothing not nil neither nor at all really thanks thank you please
i i'm i've i'd me my mine do don't does doesn't did didn't have haven't has hasn't am is isn't are aren't was wasn't
it they them one ones some any a an the that this so too also still now then just only ever anymore any more longer
think so know don't sure unsure idk dunno maybe perhaps possibly probably might could be guess suppose believe
not that i'm aware of as far to my knowledge remember recall can't cannot idea clue hmm hm um umm erm er well oh ok okay
sometimes occasionally once twice often usually rarely few couple times every now and again when used to ago years year
months month weeks week days day last recently lately currently moment at the mo minute present today these days
afraid unfortunately sadly luckily thankfully happily touch wood mate love hun x
""".split()
)
_THUMBS_UP = frozenset("\U0001f44d\U0001f44c\u2705\u2714\U0001f197")
_THUMBS_DOWN = frozenset("\U0001f44e\u274c\u2716")


def _clean_answer(text: str) -> str:
    """An answer (or one clause of it) as the yes/no patterns read it: lower case, no emoji, chat spellings fixed."""
    t = context.plain(text or "").lower()
    t = re.sub(r"[^a-z0-9'%/&+\- ]+", " ", t)  # punctuation, emoji and symbols
    t = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", t)  # quotes that are not apostrophes
    t = re.sub(r"([a-z])\1{2,}", r"\1\1", t)  # "yesss", "nooooo"
    t = re.sub(r"(?<![a-z0-9])-+|-+(?![a-z0-9])", " ", t)
    words = [_WORD_FIXES.get(w, w) for w in t.split()]
    return re.sub(r"\s+", " ", " ".join(words)).strip()


# A clause ends at punctuation, a dash, a contrast, or "and" before a new statement ("and I'm not on anything").
_CLAUSE_END = re.compile(
    r"[.;!?\n]+|,|\s[-\u2013\u2014]+\s|[\u2013\u2014]|\s-(?=[a-z])|\(|\)"
    r"|\b(?:but|though|although|however|except|whereas|whilst)\b"
    r"|\band(?=\s+(?:i|i'm|im|i've|ive|i'd|it|it's|its|they|they're|my|now|he|she|nothing|none|not|never)\b)",
    re.IGNORECASE,
)
_CONTRAST_WORD = re.compile(r"^(?:but|though|although|however|except|whereas|whilst)$", re.IGNORECASE)


@dataclass
class _Clause:
    start: int
    end: int
    text: str  # cleaned
    question: bool = False  # ended with "?"
    contrast: bool = False  # opened by "but", "though", ...
    facts: Tuple[Fact, ...] = ()


def _clauses(original: str, facts: Sequence[Fact]) -> List[_Clause]:
    plain_text = context.plain(original)
    out: List[_Clause] = []
    last, contrast = 0, False
    marks = list(_CLAUSE_END.finditer(plain_text)) + [None]
    for m in marks:
        end = m.start() if m is not None else len(plain_text)
        raw = plain_text[last:end]
        cleaned = _clean_answer(raw)
        if cleaned:
            question = m is not None and "?" in m.group(0)
            out.append(
                _Clause(
                    last,
                    end,
                    cleaned,
                    question=question,
                    contrast=contrast,
                    facts=tuple(f for f in facts if last <= f.start < end),
                )
            )
            contrast = False
        if m is not None:
            contrast = contrast or bool(_CONTRAST_WORD.match(m.group(0).strip()))
            last = m.end()
    return out


_entries: Dict[str, object] = {}  # entry key -> lexicon entry, for the reader yes_no last looked up


def _refresh_entries() -> None:
    """Once per yes_no call: the lexicon entries by key (looking the reader up costs more than reading an answer)."""
    r = context_pipeline.pipeline()
    if _entries.get("") is not r:
        table: Dict[str, object] = {e.key: e for e in r.lexicon.entries}
        table[""] = r
        _entries.clear()
        _entries.update(table)


def _entry(fact: Fact):
    """The fact's lexicon entry (context.entry_for, from the table _refresh_entries keeps)."""
    return _entries.get(fact.entry_key) or context.entry_for(fact)


def _relevant(fact: Fact, key: Optional[str]) -> bool:
    """Whether a fact answers the question asked (by its lexicon entry's field, or its class)."""
    if key not in SCREENING_KEYS or fact.kind == "concern":
        return False
    entry = _entry(fact)
    if entry.field == key:
        return True
    if key == "herpes_active" and entry.field == "herpes_history" and fact.kind == "condition":
        return True
    # aciclovir, valaciclovir: taken for cold sores
    return key == "herpes_history" and fact.kind == "medication" and entry.code_now == "herpes_history"


# verdict strengths: a strong verdict is the client's answer; a weak one counts only if nothing strong is said
_STRONG, _WEAK = 2, 1


@dataclass
class _Verdict:
    answer: Optional[str]  # YES | NO | UNSURE | "other" | None
    strength: int = _STRONG
    hedged_no: bool = False  # "I don't think so"
    named: bool = False  # from what the clause names (a fact or the question's cues)
    particle_yes: bool = False
    particle: bool = False  # a "yes" / "no" word
    plain_reply: bool = False  # "I got...", "I have...": does not overturn a particle before it without a "but"
    contrast: bool = False  # the clause opened with "but", "though", "only", "just"
    topic: Optional[bool] = None  # "X yes" / "X no": whether X is the condition asked (None: not such a clause)


_OTHER = "other"


def _answer_hedge(s: str) -> bool:
    """A hedge about the answer itself in a cleaned clause."""
    s = _CONFIDENT.sub(" ", s)
    s = _NO_FIRST.sub(" ", s)
    s = _TIME_HEDGE.sub(" ", s)
    # "I get them maybe once a year": the hedge is on how often, not whether
    s = re.sub(
        r"(?<=\w )(?:maybe|probably|possibly|perhaps)\s+(?=(?:once|twice|one|two|three|four|a few|a couple|"
        r"every|"
        r"\d+)\b)",
        " ",
        s,
    )
    m = _UNSURE.search(s)
    if not m:
        return False
    if _INVESTIGATION.search(s):
        return True
    if _HEDGE_OTHER_SUBJECT.search(s) or _HEDGE_ELSEWHERE.search(s[m.start() :]):
        return False
    # "I think it's called ...": unsure of the name, not of the answer
    return not re.search(
        r"\b(?:i think|i believe|i'?m guessing)\s+(?:it'?s|its|it is|the name is|"
        r"they'?re)\s+called\b",
        s,
    )


def _timely(fact: Fact, key: str, clause: _Clause) -> Optional[str]:
    """An own, affirmed mention of what was asked, judged at its time: YES, NO (over) or None (no time said)."""
    codes = _KEY_CODES.get(key, set())
    if key in HISTORY_KEYS:
        entry = _entry(fact)
        return YES if (fact.code in codes or entry.code_now in codes or entry.code_past in codes) else NO
    if key in WINDOW_KEYS:
        return YES if fact.code in codes else None  # the window is judged on the whole answer
    if fact.code in codes and not _RESOLVED.search(clause.text):
        return YES
    in_the_past = fact.months_ago is not None or _PAST.search(clause.text) or _RESOLVED.search(clause.text)
    if fact.current is False and in_the_past:
        return NO  # "I had impetigo last year", "used to be on warfarin"
    if fact.current and fact.code not in codes:
        entry = _entry(fact)
        if entry.code_now not in codes and entry.code_flare not in codes:
            return NO  # "trying for a baby" to "are you pregnant?"; eczema that is not flaring is still "now"
    return None


def _sign(s: str, key: Optional[str]) -> Optional[str]:
    """The question's own words in a cleaned clause (not the lexicon's): YES, NO or None."""
    neg = r"(?:not|never|no|n't|don't|doesn't|didn't|haven't|hasn't|isn't|aren't|wasn't|without|nothing)"
    if key == "blood_thinners":
        m = _THINNER_FOR.search(s)
        if m:
            return NO if re.search(r"\b" + neg + r"\b", s[: m.start()]) or re.search(r"\bnothing\b", s) else YES
    elif key == "keloid":
        if _FLAT.search(s):
            return NO
        m = _RAISED.search(s)
        if m and (m.group(0).startswith(("keloid", "hypertrophic")) or _SCAR_WORDS.search(s)):
            return NO if re.search(r"\b" + neg + r"(?:\s+\S+){0,3}\s*$", s[: m.start()]) else YES
    elif key == "pregnancy":
        if _NOT_PREGNANT.search(s):
            return NO
        m = _PREGNANT.search(s)
        if m:
            return NO if re.search(r"\b" + neg + r"\b", s[: m.start()]) else YES
    if (
        key in ("herpes_active", "herpes_history", "active_acne", "skin_infection")
        and _IT_IS_ON.search(s)
        and not re.search(r"\b" + neg + r"\b", s)
        and not _RESOLVED.search(s)
        and not (key == "active_acne" and _ACNE_NOT.search(s))
    ):
        return YES
    if key in ("herpes_active", "herpes_history"):
        m = _HERPES_NOW.search(s) or (_HERPES_EVER.search(s) if key == "herpes_history" else None)
        if m and not re.search(r"\b" + neg + r"\b", s[: m.start()]) and not _RESOLVED.search(s):
            return YES
    elif key == "active_acne":
        if _ACNE_NOT.search(s):
            return NO
        m = _ACNE_NOW.search(s)
        if m and not re.search(r"\b" + neg + r"\b", s[: m.start()]) and not _PAST.search(s) and not _RESOLVED.search(s):
            return YES
    elif key == "skin_infection":
        m = _SKIN_NOW.search(s)
        if m and _BODY_ELSEWHERE.search(s) and not _FACE.search(s):
            return None  # "I cut my finger cooking", "a blister on my heel": not the area treated
        if m and not re.search(r"\b" + neg + r"\b", s[: m.start()]) and not _PAST.search(s) and not _RESOLVED.search(s):
            return YES
    elif key == "bleeding_disorder":
        m = _BLEED_SIGN.search(s)
        if m:
            return NO if re.search(r"\b" + neg + r"\b", s[: m.start()]) else YES
    return None


def _at_its_time(answer: str, s: str, key: Optional[str]) -> str:
    """A yes in a clause about the past, for a question about now, is a no ("yes I used to" to "do you take...")."""
    if answer != YES or key not in PRESENT_KEYS:
        return answer
    if _RESOLVED.search(s):
        return NO
    if _PAST.search(s) and not _NOW.search(s):
        return NO
    if _FREQ.search(s) and not _NOW.search(s) and key in ("herpes_active", "skin_infection"):
        return NO  # "only when I'm run down", "it comes and goes": a history, not one now
    return answer


_MEDICINE_KEYS = frozenset({"blood_thinners", "isotretinoin"})

# "cold sores no", "sore throats yes": a topic, then its answer (the topic is a few words, not "I do", "currently",
# "a few")
_TOPIC_PARTICLE = re.compile(
    r"^(?:(?:but|and|though|so|although|whereas) )?(?P<x>(?!(?:i|i'm|i've|i'd|me|my|it|it's|they|they're|we|he|she|yes|"
    r"yeah|yep|no|nope|nah|not|never|none|definitely|currently|sadly|unfortunately|only|just|a|an|one|once|twice|every|"
    r"still|right|at|on|in|used|that|that's|this|those|these|some|all|both|ugh|oh|well|so|sometimes|occasionally|"
    r"usually|normally|probably|maybe|actually|obviously|honestly|absolutely|of|for|with|as|when|since|last|now|then|"
    r"hmm|um|er|erm)\b)[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,3}) (?P<p>yes|yeah|yep|yup|no|nope|nah|never|none)$"
)
# the questions' conditions by name, for a topic ("bleeding disorder no", "infection no")
_KEY_NOUNS = {
    "blood_thinners": r"blood ?thinners?|anti-?coagulants?",
    "bleeding_disorder": r"bleeding (?:disorders?|problems?|conditions?)|clotting (?:disorders?|problems?|conditions?)",
    "herpes_history": r"cold ?sores?|herpes|hsv\w*|fever "
    r"blisters?",
    "herpes_active": r"cold ?sores?|herpes|hsv\w*|fever blisters?",
    "keloid": r"keloids?|raised scars?|scarring "
    r"raised",
    "active_acne": r"acne|spots|breakouts?|pimples?|zits?|blemishes",
    "isotretinoin": r"isotretinoin|roaccutane|accutane",
    "pregnancy": r"pregnan\w*|breast ?feeding",
    "skin_infection": r"infections?|infected|wounds?|cuts?|flares?|eczema|psoriasis|dermatitis|rash\w*",
}
# a history that is not over: "nothing since", "not had one since", "not lately", "not this year so far"
_SINCE_NONE = re.compile(
    r"^(?:(?:but|and|though|although|just) )?(?:not|nothing|none|never|no)(?: (?:had|got|been|seen|had to))?"
    r"(?: (?:one|any|them|it|a \w+|any \w+|many|much|anything|another))?"
    r"(?: (?:problems?|issues?|trouble|bother|bad ones?|flare ups?|flares?|episodes?|outbreaks?|bother with it))?"
    r"(?: (?:since|lately|recently|of late|this year|so far|in a while|since then|since that))+"
    r"(?: (?:then|that|thankfully|luckily|touch wood|though|now|so far|this year|fingers crossed))*$"
)
# an aside after a "no" that points back to what was asked: "no, but I used to get them", "no, I did once"
_POINTS_BACK = re.compile(
    r"\b(?:them|it|its|it's|one|ones|those|these|they|they're|any|a few|a couple|some)\b"
    r"|\b(?:used to|i do|i did|i have|i had|i get|i got|still do)$"
)
_ASIDE_WORDS = _ANSWER_WORDS | frozenset(
    "get got had have take took as kid child teen teenager younger little was "
    "school "
    "when stressed run down ill poorly properly sick tired past".split()
)


def _names_condition(topic: str, c: _Clause, key: Optional[str]) -> bool:
    """Whether a topic ("cold sores", "raised scars", "von willebrand") is the condition asked about."""
    if key not in _KEY_NOUNS:
        return False
    if re.search(r"\b(?:" + _KEY_NOUNS[key] + r")\b", topic):
        return not re.search(r"\b(?:scars?|marks?)\b", topic) or key == "keloid" and _RAISED.search(topic) is not None
    if any(_relevant(f, key) and not f.other_person for f in c.facts):
        return True
    return _sign(topic, key) is not None


def _verdict(
    c: _Clause, key: Optional[str], own_too: bool, others_meds: bool = False, agreement: bool = False
) -> _Verdict:
    s = c.text
    history = key in HISTORY_KEYS or key in WINDOW_KEYS or key is None
    if c.question and _COUNTS.search(s):
        return _Verdict(UNSURE)  # "my BCG scar is raised, is that the same?"
    if _HUM.match(s):
        return _Verdict(UNSURE, strength=_WEAK)
    if (
        _OTHER_SUBJECT.match(s)
        and not own_too
        and not re.search(r"\b(?:i|i'm|i'?ve|i'd|me|myself|mine)\b", s)
        and _UNSURE.search(s)
        and not _LEAD_NO.match(s)
    ):
        return _Verdict(_OTHER)  # "my mum might have them": someone else's, however sure
    if _answer_hedge(s):
        return _Verdict(UNSURE)
    topic = _TOPIC_PARTICLE.match(s) if key in SCREENING_KEYS else None
    if topic and not _OTHER_SUBJECT.match(s):
        if _names_condition(topic.group("x"), c, key):
            return _Verdict(YES if topic.group("p") in ("yes", "yeah", "yep", "yup") else NO, named=True, topic=True)
        topic_other = True
    else:
        topic_other = False
    if (
        _NOT_A_DENIAL.search(s)
        and not _LEAD_NO.match(s)
        and not _LEAD_YES.match(s)
        and not any(_relevant(f, key) for f in c.facts)
    ):
        return _Verdict(None)  # "I don't take anything else", "no problems with it"
    s = _CONFIDENT.sub(" ", s).strip()
    s = re.sub(r"\s+", " ", s)
    lead_no = bool(_LEAD_NO.match(s)) and not _NOT_A_DENIAL.match(s)
    lead_yes = bool(_LEAD_YES.match(s)) and not lead_no
    # someone else's
    other_subject = bool(_OTHER_SUBJECT.match(s))
    relevant = [f for f in c.facts if _relevant(f, key)]
    irrelevant = [f for f in c.facts if not _relevant(f, key)]
    if other_subject and not own_too:
        if lead_no:
            return _Verdict(NO)
        return _Verdict(_OTHER, particle_yes=lead_yes)
    # what the clause names
    named: List[str] = []
    for f in relevant:
        if f.other_person and not own_too:
            named.append(_OTHER)
        elif f.negated:
            named.append(NO)
        else:
            timely = _timely(f, key, c) if key is not None else None  # relevant facts come with a key
            if timely is not None:
                named.append(timely)
    if key in _AREA_KEYS and _NOT_AREA.search(s):
        return _Verdict(NO, named=True)
    if YES in named:
        return _Verdict(YES, named=True)  # a fact is already read at its time ("put me on it last week")
    sign = _sign(s, key)
    if sign is not None:
        named.append(_at_its_time(sign, s, key))
    if YES in named:
        return _Verdict(YES, named=True)
    if NO in named:
        return _Verdict(NO, named=True)
    if _OTHER in named and not lead_yes:
        return _Verdict(_OTHER)
    # particles, replies and time
    if topic_other and topic is not None:
        return _Verdict(YES if topic.group("p") in ("yes", "yeah", "yep", "yup") else NO, topic=False)
    if _SINCE_NONE.match(s) and key in SCREENING_KEYS and key not in WINDOW_KEYS:
        # "had one in the summer, nothing since": over, for a question about now; a history all the same
        return _Verdict(YES, strength=_WEAK) if key in HISTORY_KEYS else _Verdict(NO)
    if _NO_FIRST.search(s):
        return _Verdict(NO, hedged_no=True)
    if _NOT_FOR_AGES.search(s):
        return _Verdict(NO if key in PRESENT_KEYS else YES)
    if _NOT_NOW.search(s) and not lead_yes:
        if key in WINDOW_KEYS:
            return _Verdict(UNSURE, strength=_WEAK)  # "not at the moment": and in the last 6 months? (a date decides)
        return _Verdict(YES if key in HISTORY_KEYS else NO)
    if lead_no:
        return _Verdict(NO, particle=True)
    if lead_yes:
        return _Verdict(_at_its_time(YES, s, key), particle_yes=True, particle=True)
    if _TRAIL_YES.search(s):
        return _Verdict(_at_its_time(YES, s, key), particle_yes=True, particle=True)
    if _TRAIL_NO.search(s) and not re.search(r"\b(?:or|and) no$", s):
        return _Verdict(NO, particle=True)
    # a reply about another medicine or condition ("I'm on sertraline") says nothing about this question
    trusted = not (key in SCREENING_KEYS and irrelevant and not relevant) and not (
        key in _MEDICINE_KEYS and others_meds
    )
    no_hit = _NO.search(s)
    if no_hit and re.search(r"\b(?:nothing|none|nowt|zero)\b", s) and not _NOT_A_DENIAL.search(s):
        return _Verdict(NO)
    yes_hit = None
    if trusted:
        yes_hit = _YES.search(s) or (_YES_ANY_OBJECT.search(s) if key is None and not agreement else None)
    freq = _FREQ.search(s) if trusted else None
    if no_hit and not _NOT_A_DENIAL.search(s) and (not yes_hit or no_hit.start() <= yes_hit.start()):
        if re.search(r"\b(?:not anymore|no longer|not any more)\b", s) and history:
            return _Verdict(UNSURE, strength=_WEAK) if key in WINDOW_KEYS else _Verdict(YES)
        return _Verdict(NO)
    if agreement:
        return (
            _Verdict(_at_its_time(YES, s, key), plain_reply=True)
            if yes_hit
            and re.fullmatch(
                r"(?:i do|i did|i am|i'?m|i have|i'?ve|i will|i shall)(?: (?:yes|yeah|consent|agree|"
                r"indeed))*",
                s,
            )
            else _Verdict(None)
        )
    if trusted and _SOMETHING_ELSE.search(s):
        freq = None
        trusted = False
    if freq or (trusted and _PAST_AFFIRMED.search(s)):
        return _Verdict(_at_its_time(YES, s, key))  # "only when I'm run down", "used to as a teen"
    if yes_hit:
        return _Verdict(_at_its_time(YES, s, key), plain_reply=True)
    if own_too and other_subject:
        return _Verdict(_at_its_time(YES, s, key))
    if trusted and key in PRESENT_KEYS and _RESOLVED.search(s):
        return _Verdict(NO)  # "healed now", "it's calm at the moment"
    if trusted and _PAST.search(s) and key in PRESENT_KEYS and not _NOW.search(s):
        return _Verdict(None)
    if trusted and _FINE.search(s) and not _NOW_WORSE.search(s):
        return _Verdict(NO)  # "I've been checked and I'm clear", "all fine"
    if trusted and _RESOLVED.search(s) and key == "herpes_history":
        return _Verdict(YES, strength=_WEAK)  # "healed now" to "have you ever...?": they had one
    if re.fullmatch(
        r"(?:a bit|a little|a few|some|currently|still|at the moment|right now|recently|now|"
        r"just finished|(?:only |just )?(?:the one|the odd one|one|a couple|a few|two|a small one|a little "
        r"one)|"
        r"loads|lots)",
        s,
    ):
        return _Verdict(_at_its_time(YES, s, key))
    return _Verdict(None)


# past with no date, and long ago ("a while ago" or "in the summer" may be within the window: not these)
_LONG_AGO = re.compile(
    r"\b(?:in my (?:early |late |mid )?(?:teens|twenties|20s|thirties|30s|youth)|as a (?:teenager|teen|kid|child)|"
    r"when i was (?:younger|a teenager|a teen|a kid|little|at school|at uni|in school|at college|\d+|[a-z]+teen|"
    r"twenty\w*|thirty\w*)|at school|in school|at uni|at university|at college|in (?:my )?(?:high school|"
    r"secondary school|sixth form)|ages ago|a long time ago|long time ago|long ago|way back|back in the day|"
    r"years and years ago|donkey'?s years)\b"
)
# the answer speaks of the medicine: "on it", "came off it", "finished my course", "stopped last month"
_DRUG_REF = re.compile(
    r"\b(?:it|them|tablets?|pills?|capsules?|course|dose|doses|treatment|on it|off it|stopped|stop|"
    r"finished|"
    r"finish|came off|come off|quit|ended|completed|started|start|taking|took|was on|been on)\b"
)
_VAGUE_ANSWER = re.compile(
    r"^(?:(?:yes|yeah|no|only|just|back|way back|ages ago|years ago|not|never|none) )*(?:when i "
    r"was|"
    r"as a (?:teen|teenager|kid|child)|in my (?:early |late |mid )?(?:teens|twenties|20s|"
    r"thirties|30s)|"
    r"at (?:uni|school|"
    r"college|university)|since (?:uni|school|college|university|my teens)|back (?:in|when)|"
    r"ages ago|years ago|a long time ago|a few years ago|years back)\b"
)


def _window_months() -> float:
    try:
        from bot.screening.rules import load_rules

        return float(load_rules().settings.get("isotretinoin_window_months", 6))
    except Exception:  # no rules file here: the clinic's default
        return 6.0


def _window_answer(clauses: Sequence[_Clause], key: str) -> Optional[str]:
    """ "Stopped in August", "came off it 5 weeks ago", "in my teens": the stop date against the window."""
    from bot.language import timeexpr

    window = _window_months()
    relevant = any(_relevant(f, key) for c in clauses for f in c.facts)
    irrelevant = any(not _relevant(f, key) for c in clauses for f in c.facts)
    if irrelevant and not relevant:
        return None  # "I've only used tretinoin cream", "I've had botox before"
    said = " ".join(c.text for c in clauses)
    if (
        not relevant
        and not _DRUG_REF.search(said)
        and not _VAGUE_ANSWER.match(said)
        and not (
            re.search(r"^(?:yes|yeah|yep|no|nope|nah)\b|\b(?:that was|last time|the last|it was)\b", said)
            and timeexpr.months_ago(said) is not None
        )
    ):
        return None  # "I'm worried about the pain": no medicine, no stop, no time
    months: List[float] = []
    current = vague = False
    hedged_time = False
    for c in clauses:
        s = c.text
        if _OTHER_SUBJECT.match(s) or any(f.other_person for f in c.facts if _relevant(f, key)):
            continue
        s = _AGE_STATEMENT.sub(" ", s)
        if not s.strip():
            continue
        hedged_time = hedged_time or bool(_TIME_HEDGE.search(s))
        negated = bool(_LEAD_NO.match(s) or _NO.search(s))
        reading = timeexpr.read_time(s)
        found = timeexpr.months_ago(s)
        if reading.months_ago is not None:
            months.append(reading.months_ago)
        elif reading.status == timeexpr.CURRENT and found == 0.0 and not negated and not _RESOLVED.search(s):
            current = True
        elif _LONG_AGO.search(s) or (
            negated
            and re.search(
                r"\bsince (?:uni|university|school|college|sixth form|"
                r"my teens|i was (?:a )?\w+|my twenties|my 20s)\b",
                s,
            )
        ):
            vague = True  # "in my teens", "at uni", "not since school": long ago, date unknown
    if any(
        re.search(
            r"\b(?:due to start|going to start|about to start|will be starting|will start|starting (?:it |"
            r"them )?"
            r"(?:next|soon|in)|start(?:ing)? it next|supposed to start|meant to "
            r"start)\b",
            c.text,
        )
        for c in clauses
    ):
        return UNSURE  # "I'm due to start it next month": not yet, but a person should know
    if current:
        return YES
    if months:
        nearest = min(months)
        if hedged_time and window * 0.75 <= nearest <= window * 1.5:
            return UNSURE  # "maybe 6 months ago": too close to call
        return YES if nearest <= window else NO
    if vague:
        return NO  # past with no date ("in my teens"): not recent
    return None


def _agreement(t: str, key: str) -> Optional[str]:
    """Consent and the summary: "ok", "happy to", "looks good", "no changes" / "I'd rather not", "that's wrong"."""
    if _answer_hedge(t):
        return None
    if key == "confirmed" and re.search(
        r"\b(?:nothing to (?:change|add|correct|fix)|no changes?(?: needed| required| "
        r"to make)?|"
        r"nothing wrong|nothing needs changing|don'?t need to change)\b",
        t,
    ):
        return YES
    if _AGREE_ANYWAY.search(t) and not _AGREE_NO.search(_AGREE_ANYWAY.sub(" ", t)):
        return YES  # "I don't mind", "no problem"
    if _AGREE_NO.search(t) or (key == "confirmed" and _CONFIRM_NO.search(t)):
        return NO
    if _AGREE_YES.search(t) and not re.search(r"\b(?:not|never|no)\b|n't\b", t):
        return YES
    return None


# "probably yes", "yes, most likely", "I'd say yes": the client leans to yes; only "maybe", "I think so", "not sure"
# are hedges. (A lean to no stays a hedge: a lost flag costs more than a question at the consultation.)
_LEAN_YES = re.compile(
    r"\b(?:(?:probably|most likely|more than likely|very likely|almost certainly|i'?d say|i would say)[\s,]+"
    r"(?:a )?(?:yes|yeah|yep)\b|(?:yes|yeah|yep)[\s,]+(?:probably|most likely|very likely|almost certainly)\b"
    r"(?![\s,]*(?:not|no)\b))",
    re.IGNORECASE,
)


def yes_no(text: str, key: Optional[str] = None) -> Optional[str]:
    """ "yes" | "no" | "unsure" for a free answer to a yes/no question; None when it is not an answer ("banana").

    key (an answer key) tunes the reading: "used to" is a yes to "have you ever had cold sores?" and a no to "do you
    take blood thinners?"; what the answer names counts for the question asked ("I'm on Eliquis", "12 weeks gone",
    "my scars go lumpy"), someone else's never does ("my husband's on warfarin" is a no); for isotretinoin the stop
    date is read against the window ("finished it in August"). With no key (or a key that is not a screening
    question), the past counts as yes (a person checks). "consent" and "confirmed" also read "ok", "looks good".
    """
    # "so probably yes": more likely than not is a yes (a person checks)
    raw = _LEAN_YES.sub("yes", without_idioms(text))
    t = _clean_answer(raw)
    if not t or not re.search(r"[a-z]", t):
        if any(ch in _THUMBS_UP for ch in raw) and not any(ch in _THUMBS_DOWN for ch in raw):
            return YES
        if any(ch in _THUMBS_DOWN for ch in raw):
            return NO
        return UNSURE if raw.strip() == "?" else None
    if key in AGREEMENT_KEYS:
        agreed = _agreement(t, key)
        if agreed is not None:
            return agreed
    k = key if key in SCREENING_KEYS else None
    # the spaCy reading only when the answer has a word that could name something ("yes", "not sure" cannot)
    facts = find_facts(raw) if k is not None and not set(re.findall(r"[a-z']+", t)) <= _ANSWER_WORDS else []
    if facts:
        _refresh_entries()
    clauses = _clauses(raw, facts)
    if not clauses:
        return None
    if len(clauses) == 1 and not clauses[0].question and _QUESTION_LIKE.match(clauses[0].text):
        clauses[0].question = True  # "is there a risk of infection": a question with no "?"
    # a question back ("who sees it?", "do I have to?") is not an answer, unless it names the client's own medicine
    opening = clauses[0].text
    if (
        all(c.question for c in clauses)
        and _INTERROGATIVE.match(opening)
        and not _LEAD_YES.match(opening)
        and not _LEAD_NO.match(opening)
        and not _answer_hedge(t)
    ):
        own_med = [f for f in facts if _relevant(f, k) and f.kind == "medication" and f.own_affirmed]
        if not re.search(
            r"\b(?:i|i'm|i'?ve|me|my|"
            r"mine)\b",
            t,
        ) or re.match(r"(?:what|who|why|where|which|whats|what's)\b", t):
            own_med = []  # "what's isotretinoin?" asks about the word, not about the client
        takes_it = own_med and k in ("blood_thinners", "isotretinoin") and _timely(own_med[0], k, clauses[0]) == YES
        return YES if takes_it else None
    own_too = bool(_OWN_TOO.search(t))
    # "I take loads of tablets: amlodipine, metformin": other medicines and no blood thinner
    others_meds = any(f.kind == "medication" and not _relevant(f, k) for f in facts) and not any(
        _relevant(f, k) for f in facts
    )
    # consent and the summary: a particle, "I do", a hedge or a denial; not a time ("I had covid last month")
    agreement = key in AGREEMENT_KEYS
    verdicts = [_verdict(c, k, own_too, others_meds, agreement) for c in clauses]
    for c, v in zip(clauses, verdicts, strict=True):
        v.contrast = c.contrast or bool(re.match(r"(?:only|just|except|apart from|although|though)\b", c.text))
    strong = [v for v in verdicts if v.strength == _STRONG and v.answer is not None]
    if any(v.answer == UNSURE for v in strong):
        return UNSURE
    decided = [v for v in strong if v.answer in (YES, NO)]
    # "I don't think so, I do bleed a lot from cuts": a hedged no and a yes in the client's own words
    if any(v.hedged_no for v in decided) and any(v.answer == YES and v.named for v in decided):
        return UNSURE
    if k in WINDOW_KEYS:
        by_date = _window_answer(clauses, k)
        if by_date is not None:
            return by_date
    # "yes, my mum does": a bare yes, then only someone else's, is not clear ("yes, my husband too" is)
    bare_yes = [c for v, c in zip(verdicts, clauses, strict=True) if v.answer == YES]
    if (
        bare_yes
        and all(v.answer == YES for v in decided)
        and all((lead := _LEAD_YES.match(c.text)) is not None and lead.group(0) == c.text for c in bare_yes)
        and any(
            v.answer == _OTHER and not re.search(r"\b(?:too|as well|also)\b", c.text)
            for v, c in zip(verdicts, clauses, strict=True)
        )
    ):
        return None
    # "sore throats yes, cold sores no": when a topic names the condition, the other topics are about something else
    if any(v.topic for v in decided):
        decided = [v for v in decided if v.topic is not False]
        if any(v.topic and v.answer == YES for v in decided) and any(v.topic and v.answer == NO for v in decided):
            return YES  # "psoriasis yes, eczema no" to "a flare?": one of them is
    # "no, though I nearly fainted at the dentist once": after a plain "no", an aside about something else (not naming
    # the condition, not pointing back to it: "no, but I used to get them") does not overturn it
    ids = {id(v) for v in decided}
    first = next((c for v, c in zip(verdicts, clauses, strict=True) if id(v) in ids), None)
    if decided and decided[0].answer == NO and decided[0].particle and first is not None and _LEAD_NO.match(first.text):
        pairs = zip(verdicts, clauses, strict=True)
        decided = decided[:1] + [
            v
            for v, c in pairs
            if id(v) in ids
            and v is not decided[0]
            and (
                v.answer != YES
                or v.named
                or _POINTS_BACK.search(c.text)
                or re.match(r"(?:only|just|except|apart from|other than|bar|besides|unless|mainly|mostly)\b", c.text)
                or (_NOT_FOR_AGES.search(c.text) and not re.search(r"\bsince\b", c.text))
                or set(re.findall(r"[a-z']+", c.text)) <= _ASIDE_WORDS
            )
        ]
    if decided:
        answer = decided[0].answer
        particle_said = decided[0].particle
        for v in decided[1:]:
            if v.plain_reply and particle_said and v.answer != answer and not v.contrast:
                continue  # "no sorry, I got muddled"
            answer = v.answer
            particle_said = particle_said or v.particle
        return answer
    weak = [v for v in verdicts if v.answer in (YES, NO, UNSURE)]
    if any(v.answer == _OTHER for v in strong):
        # only about someone else: a no ("my sister has keloids"); "yes, my mum does" is not clear, and neither is a
        # question about someone else ("my friend's face was red for a week, is that normal?"): it asks, not answers
        if any(v.particle_yes for v in strong):
            return None
        if (
            any(c.question for c in clauses)
            and not any(_relevant(f, k) for f in facts)
            and not any(_sign(c.text, k) or re.search(r"\b(?:one|ones|them|those|these)\b", c.text) for c in clauses)
        ):
            return None  # ("my dad takes warfarin, does that matter?" names the thing asked: a no)
        return NO
    if weak:
        return weak[-1].answer
    return None
