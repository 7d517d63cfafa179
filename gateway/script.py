"""Telling Persian written in Latin letters ("Finglish": ``salam, ghabzam pardakht
nashode``) from English and from Persian script.

The seed asks customers not to write Finglish: agents search, read and quote in
Persian script. A department may require Persian script
(``GATEWAY_PERSIAN_ONLY_DEPARTMENTS``): then such text is refused with a clear
message. Elsewhere it is accepted and flagged (``latin_script_persian``) for the agent.

The test is a heuristic, by design cheap and conservative (a false refusal is worse
than a missed flag): text counts as Finglish only when Latin letters outnumber
Persian ones, at least two words (or the only word of a short text) are common
Finglish words, and they outnumber common English words. English, Persian with a few
Latin brand names, numbers and codes pass.
"""

from __future__ import annotations

import re

LATIN_SCRIPT_PERSIAN = "latin_script_persian"

_LATIN_LETTER = re.compile(r"[A-Za-z]")
_PERSIAN_LETTER = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that are common in Finglish and are not English words.
_FINGLISH = _words(
    """
    salam slm salaam lotfan lotfa mamnoon mamnun mamnoonam mersi merci tashakor shoma
    ina oona una chera chie chetor chetori chand kojast koja kei hast hastam hastid
    hastin nist nistam nistid nemishe mishe mitoonam mitunam nemitoonam nemitunam
    mikham mikhastam mikhaym mikhastim bekhaham khastam khahesh khaheshan kardam kardim
    kardid kardin kard kardan konid konin bokonid bokonin kon shode shod nashode nashod
    shodeh mishavad midam midim dadam dadim dadid gereftam begirid befrestid ersal
    dariaft daryaft pardakht pardakhtam hesab hesabam ghabz ghabzam sefaresh sefareshe
    kharid kharidam poshtibani moshkel moshkeli moshkele moshtari takhfif bargasht
    poolam pulam vajh mablagh sabt sabte sabtnam vorood vorud ramz ramze eshterak
    tamdid dorost dorosteh kharab kharabe hanooz hanuz alan zood zud faghat vali amma
    ama chon choon agar baraye barayeh ba az dar va ke ro ra bood bud boodam budam dige
    digeh inja oonja injast rooz ruz roz hafte mah saat daghighe khodam khodet khodesh
    hamin hamun bayad nabayad mitavanid mitoonid agha aghaye khanoom khanom jenab ostad
    telefon tamas peygiri peigiri jadid ghadimi kheili kheyli kheily besiar
    """
)
# Frequent English words, to keep English text from being taken for Finglish.
_ENGLISH = _words(
    """
    the a an and or but is are was were be been am i you he she it we they my your our
    their this that these those to of for from with without on at by in into not no yes
    have has had do does did can could will would should please thanks thank hello hi
    dear problem issue payment account order help need want his her him me us all just
    so if when what why how there here get got still again very
    """
)


def is_latin_script_persian(text: str | None) -> bool:
    if not text:
        return False
    latin = len(_LATIN_LETTER.findall(text))
    persian = len(_PERSIAN_LETTER.findall(text))
    if latin == 0 or persian >= latin:
        return False
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    finglish = sum(1 for w in words if w in _FINGLISH)
    english = sum(1 for w in words if w in _ENGLISH)
    if finglish <= english:
        return False
    return finglish >= 2 or (finglish == 1 and len(words) == 1)


def script_flags(*texts: str | None) -> list[str]:
    """The flags to show an agent for these texts (empty when there is nothing to say)."""
    return [LATIN_SCRIPT_PERSIAN] if any(is_latin_script_persian(t) for t in texts) else []
