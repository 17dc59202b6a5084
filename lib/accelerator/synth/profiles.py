"""Named populations: the ways real populations differ from the default one.

A :class:`Profile` changes only what its fields say; ``default`` is the generator as it always was
(the same seed gives the same bytes). Every other profile draws its own extra randomness from
generators seeded by ``"<seed>:profile:..."`` labels, so a profile is deterministic too.

- ``movers``: many households move during the history (two fifths of them to a neighbouring
  authority), most adult movers' records share no identifier across the move (one side comes from
  a service that records the NI number, DWP, the other from services that record the NHS number
  or none: health, early help, police), and names have real-world-like frequencies (Zipf over the
  whole lists). This is the population where an exact name and date of birth at two addresses is
  the only evidence, and the name is often a common one.
- ``no_ids``: a quarter of people have no NHS number or NI number (new arrivals, unregistered).
- ``common_names``: names drawn with a steep frequency curve from the head of the lists (many
  people share a forename and surname).
- ``rare_names``: names drawn from a large set of generated names (most names are held by a
  handful of people).
- ``twins_namesakes``: three times the twins and five times the namesakes.
- ``noisy``: twice the name, date-of-birth and identifier noise (not "realistic": reported, not
  held to the targets).
- ``gm_mix``: movers, missing identifiers and common names together, at the rates the hidden
  population suggests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from accelerator.synth import vocab


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    inter_move: float = 0.06  # households moving to a neighbouring authority during the history
    intra_move: float = 0.07  # households moving within their authority
    split_movers: float = (
        0.0  # people of a moving household whose records share no identifier across the move
    )
    no_identifier: float = 0.0  # people with no NHS number and no NI number
    names: str = "default"  # default | zipf (real-world-like frequencies) | common | rare
    twins: float = 0.05  # households with children that have twins
    namesakes_per: int = 250  # one person in this many is made a namesake of someone elsewhere
    noise: float = 1.0  # multiplier of the name, date-of-birth and identifier noise rates
    realistic: bool = True  # held to the linkage targets


PROFILES: dict[str, Profile] = {
    "default": Profile(),
    "movers": Profile("movers", inter_move=0.12, intra_move=0.20, split_movers=0.9, names="zipf"),
    "no_ids": Profile("no_ids", no_identifier=0.25),
    "common_names": Profile("common_names", names="common"),
    "rare_names": Profile("rare_names", names="rare"),
    "twins_namesakes": Profile("twins_namesakes", twins=0.15, namesakes_per=50),
    "noisy": Profile("noisy", noise=2.0, realistic=False),
    "gm_mix": Profile(
        "gm_mix", inter_move=0.08, intra_move=0.15, split_movers=0.6, no_identifier=0.1, names="common"
    ),
}

# The value-level rates the ``noise`` multiplier scales (layout, address and key noise are not scaled).
NOISE_SCALED: frozenset[str] = frozenset(
    {
        "name_typo",
        "nickname",
        "names_swapped",
        "married_name_stale",
        "married_name_early",
        "dob_missing",
        "dob_day_month_swap",
        "dob_off_by_one",
        "dob_future",
        "sex_unknown",
        "nhs_missing_health",
        "nhs_missing_csc",
        "nhs_bad_check",
        "nino_missing",
        "nino_temporary",
    }
)

# Which identifiers a split mover's records carry before and after the move (never one in common).
SPLIT_PATTERNS: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (frozenset({"nino"}), frozenset({"nhs", "upn"})),
    (frozenset({"nhs", "upn"}), frozenset({"nino"})),
    (frozenset(), frozenset({"nhs", "upn"})),
    (frozenset({"nino"}), frozenset()),
)


def profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}") from None


def scaled(rates: dict[str, float], factor: float) -> dict[str, float]:
    """The value-level rates with the noise multiplier applied (capped at 0.5)."""
    if factor == 1.0:
        return dict(rates)
    return {k: min(0.5, v * factor) if k in NOISE_SCALED else v for k, v in rates.items()}


_SYLLABLES = [
    "ab",
    "ad",
    "al",
    "am",
    "an",
    "ar",
    "as",
    "ba",
    "be",
    "bi",
    "bo",
    "da",
    "de",
    "di",
    "do",
    "el",
    "en",
    "er",
    "fa",
    "fe",
    "fi",
    "ga",
    "ge",
    "go",
    "ha",
    "he",
    "hi",
    "ja",
    "jo",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "or",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "wa",
    "ya",
    "yo",
    "za",
    "ze",
    "zo",
]


@cache
def rare_names(kind: str) -> tuple[str, ...]:
    """A large fixed set of generated names (``forename`` or ``surname``), about 6,000 of each."""
    rng = random.Random(f"rare-names:{kind}")
    out: set[str] = set()
    while len(out) < 6000:
        n = rng.choice((2, 3, 3, 4)) if kind == "surname" else rng.choice((2, 2, 3))
        out.add("".join(rng.choice(_SYLLABLES) for _ in range(n)).capitalize())
    return tuple(sorted(out))


def _zipf(n: int, s: float) -> tuple[float, ...]:
    return tuple(1.0 / (i + 1) ** s for i in range(n))


class Names:
    """Forenames and surnames as the profile draws them. ``default`` is ``rng.choice`` over the
    vocabulary lists, exactly as before."""

    def __init__(self, p: Profile) -> None:
        self.kind = p.names

    def forename(self, rng: random.Random, sex: str) -> str:
        names = vocab.FEMALE_FORENAMES if sex == "F" else vocab.MALE_FORENAMES
        if self.kind == "common":
            return rng.choices(names[:40], _zipf(40, 1.1))[0]
        if self.kind == "zipf":
            return rng.choices(names, _zipf(len(names), 1.0))[0]
        if self.kind == "rare":
            return rng.choice(names) if rng.random() < 0.2 else rng.choice(rare_names("forename"))
        return rng.choice(names)

    def surname(self, rng: random.Random) -> str:
        if self.kind == "common":
            return rng.choices(vocab.SURNAMES[:30], _zipf(30, 1.0))[0]
        if self.kind == "zipf":
            return rng.choices(vocab.SURNAMES, _zipf(len(vocab.SURNAMES), 1.0))[0]
        if self.kind == "rare":
            return rng.choice(vocab.SURNAMES) if rng.random() < 0.2 else rng.choice(rare_names("surname"))
        return rng.choice(vocab.SURNAMES)
