"""Data classes xinyong refuses to hold, by construction (DESIGN.md).

This list is part of the product, not a setting: no catalogue, flag or environment
variable can shorten it. The loader refuses any category or detail field that declares
one of these classes, or whose field name says it holds one.
"""

from __future__ import annotations

import re

PROHIBITED_DATA_CLASSES: dict[str, str] = {
    "political_opinion": "political opinion or speech",
    "speech": "political opinion or speech",
    "religion": "religion or belief",
    "ethnicity": "ethnicity",
    "health": "health",
    "sexual_life": "sexual life or orientation",
    "biometric": "biometrics (faces, fingerprints)",
    "location": "location traces and movements",
    "movement": "location traces and movements",
    "communications": "communications content",
    "browsing_history": "browsing histories",
    "purchase_history": "purchase histories",
    "social_relationship": "social relationships or contacts",
    "contacts": "social relationships or contacts",
    "physical_appearance": "physical appearance",
}

# Field names that give a prohibited class away even when none is declared.
_NAME_PATTERNS: dict[str, str] = {
    r"politic|opinion|speech|post(s|ing)?$|weibo|petition": "political_opinion",
    r"relig|faith|belief|church|mosque|temple": "religion",
    r"ethnic|nationality_group|minzu|race": "ethnicity",
    r"health|medical|diagnos|disease|illness|disabilit|hospital": "health",
    r"sexual|orientation": "sexual_life",
    r"face|facial|fingerprint|biometric|iris|voiceprint|gait|dna": "biometric",
    r"gps|latitude|longitude|geo|location|whereabouts|trajector|movement|checkin": "location",
    r"message|chat|call_log|phone_record|email_content|communication": "communications",
    r"browsing|url_history|search_history|clickstream": "browsing_history",
    r"purchase|shopping|basket|consumption_record": "purchase_history",
    r"friend|contact|relative|spouse|family|follower|social_graph|relationship": "contacts",
    r"appearance|height|weight|photo|tattoo|clothing": "physical_appearance",
}
_NAME_RE = [(re.compile(p, re.IGNORECASE), c) for p, c in _NAME_PATTERNS.items()]


def prohibited_class_of_name(field_name: str) -> str | None:
    """The prohibited class a field name points to, if any."""
    for pattern, data_class in _NAME_RE:
        if pattern.search(field_name):
            return data_class
    return None
