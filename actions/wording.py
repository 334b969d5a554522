"""Labels for answers and choices, shown on buttons and in the summary. Wording only, no logic."""

from __future__ import annotations

CONCERN_LABELS = {
    "acne_scarring": "Acne scarring",
    "wrinkles_laxity": "Wrinkles or lax skin",
    "pigmentation": "Pigmentation, sun damage or melasma",
    "rosacea": "Rosacea",
    "pores_texture": "Pores or texture",
    "stretch_marks": "Stretch marks",
    "hair_loss": "Hair loss",
    "other_scars": "Other scars",
    "other": "Something else",
}

CHECK_LABELS = {
    "under_18": "I'm under 18",
    "skin_lesion": "Skin cancer, or a changing or raised mole in the area",
    "immunosuppression": "Weakened immune system (immunosuppressants, high-dose steroids, HIV, transplant, chemo or "
    "radiotherapy)",
    "diabetes_uncontrolled": "Diabetes that's hard to control, or slow healing",
    "autoimmune": "Lupus, scleroderma or another autoimmune disease",
    "vitiligo": "Vitiligo",
    "rosacea_flare": "Rosacea that's flaring now",
    "recent_sun_damage": "Sunburn or a heavy tan in the last 2 weeks",
    "recent_procedure": "Laser, IPL, RF, a peel, dermabrasion or surgery on the area recently",
    "injectables_recent": "Botox or fillers in the area recently",
    "allergy_metal_or_anaesthetic": "Allergy to nickel/steel or to numbing creams",
    "unsure": "Not sure",
}

# The questions' own labels (summary, staff pages) are declared with them in data/questions.yml.

ANSWER_WORDS = {"yes": "Yes", "no": "No", "unsure": "Not sure"}

# How a volunteered fact is read back to the client before it counts ("You mentioned Eliquis, which ... ").
VOLUNTEERED_PHRASES = {
    "anticoagulant": "which thins the blood. Do you take it at the moment?",
    "isotretinoin_recent": "which is isotretinoin. Have you taken it in the last {window} months?",
    "bleeding_disorder": "which is a bleeding or clotting disorder. Is that something you have?",
    "herpes_history": "Have you had cold sores yourself?",
    "active_herpes": "Do you have a cold sore at the moment?",
    "keloid_tendency": "Do you get keloid or raised scars yourself?",
    "active_acne": "Do you have active acne or breakouts in the area at the moment?",
    "pregnancy": "Are you pregnant or breastfeeding at the moment?",
    "skin_infection": "Is that an infection, flare or wound in the area you'd like treated, now?",
    "under_18": "which would mean you're under 18. Is that right?",
}
# the further checks read back with their checklist label
for _code, _label in CHECK_LABELS.items():
    if _code != "unsure":
        VOLUNTEERED_PHRASES.setdefault(_code, f"which I'd note as: {_label[0].lower() + _label[1:]}. Is that right?")
DEFAULT_VOLUNTEERED_PHRASE = "which a practitioner should know about. Is that right for you?"
