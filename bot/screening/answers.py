"""The answer keys a consultation collects: shared by the form, the engine, the store and the dashboard.

Answers travel as a plain mapping (key -> value). Keys and value shapes:

    name              str
    contact_email     str | None      (one of email / phone is given)
    contact_phone     str | None
    concerns          list[str]       codes from CONCERNS
    concerns_other    str | None      free text when "other" was chosen or typed
    area              str             treatment area in the client's words
    medications       str             free text, "none" allowed
    medication_facts  list[dict]      recognised medicines: {"name", "generic", "drug_class", "current": bool,
                                      "months_ago": float | None}
    unrecognised_medications list[str] medicine names the assistant could not identify (verbatim)
    <yes/no keys>     "yes" | "no" | "unsure"   (YES_NO_KEYS; herpes_active may be absent when not asked)
    isotretinoin_months_ago float | None   months since the last dose, when the client said so
    further_checks    list[str]       codes from FURTHER_CHECKS that apply; [] = none apply; ["unsure"] = not sure
    notes             str | None      anything else the practitioner should know
    requested_human   bool            the client asked for a person
    volunteered       list[dict]      facts the client mentioned outside their question:
                                      {"code": reason code, "mention": text, "confirmed": bool | None}
"""

from __future__ import annotations

from typing import Final

YES: Final = "yes"
NO: Final = "no"
UNSURE: Final = "unsure"
YES_NO_VALUES: Final = (YES, NO, UNSURE)

# The yes/no screening questions, in the order they are asked.
YES_NO_KEYS: Final = (
    "blood_thinners",
    "bleeding_disorder",
    "herpes_history",
    "herpes_active",
    "keloid",
    "active_acne",
    "isotretinoin",
    "pregnancy",
    "skin_infection",
)

CONCERNS: Final = (
    "acne_scarring",
    "wrinkles_laxity",
    "pigmentation",
    "rosacea",
    "pores_texture",
    "stretch_marks",
    "hair_loss",
    "other_scars",
    "other",
)

# The multi-select "do any of these apply?" question; each code is also a reason code.
FURTHER_CHECKS: Final = (
    "under_18",
    "skin_lesion",
    "immunosuppression",
    "diabetes_uncontrolled",
    "autoimmune",
    "vitiligo",
    "rosacea_flare",
    "recent_sun_damage",
    "recent_procedure",
    "injectables_recent",
    "allergy_metal_or_anaesthetic",
)

OUTCOMES: Final = ("clear", "review", "defer")  # in order of severity
STATUSES: Final = ("in_progress", "complete", "abandoned", "handed_off")
