"""Find the listings a delisting order (停止销售名单, seed 四(二)) reaches: same trademark, same spec/model.

A regulator names one trademark and one spec/model; every merchant on the platform must stop selling "the same
trademark's same spec/model". Merchants spell both freely, so :class:`ListingMatcher` compares normalised forms,
and only those: it never guesses, because a false match takes a lawful product off sale.

The rules, in the order they apply:

* **Brand.** :func:`normalise_brand` drops what does not name the brand: the ®, ™, ©, ℠ signs, the width of
  characters, letter case, accents, spaces and punctuation, a ``品牌:``/``商标:``/``brand:`` label, a trailing
  ``牌``/``品牌`` and corporate legal-form suffixes (``有限公司``, ``集团``, ``Co., Ltd.``, ``Inc.``), the latter two
  only when at least two characters of name remain (``金牌`` stays ``金牌``). A bilingual trademark written as
  ``Midea/美的`` or ``美的（Midea）`` names one brand in two scripts and is reached by an order for either part.
  Otherwise brands written differently are different brands unless the ``aliases`` table says they are one.
* **Model.** :func:`normalise_model` drops formatting only: width, case, spaces, dashes of every kind, ``_``,
  ``/``, ``·``, brackets and other punctuation, a ``型号:``/``Model No.`` label and a trailing ``型``. Three things
  are kept because they change the product: a decimal point between digits (``1.5P`` is 1.5 HP, ``15P`` is not),
  a boundary between two numbers (``FS40-1`` is not ``FS401``; written ``-``) and ``+`` (``X1+`` is not ``X1``).
  ``×`` or ``*`` between digits is written ``x`` (``60×60`` is ``60x60``).
* **No prefix matching.** Models match only when their normalised forms are equal. Characters after the ordered
  model, with or without a separator, make another model: ``KFR-35GW/BP3`` is the inverter variant of the
  ``KFR-35GW`` line, a different 规格型号, so an order for either does not reach the other; ``X1`` never reaches
  ``X10`` or ``X1S``.
* **Model in the title.** Only when a listing's model field is empty or a placeholder (``无``, ``其他``,
  ``见详情``…) is its title searched, for whole tokens of Latin letters and digits (joined by dashes, ``/``,
  ``.``, ``_``) that hold a letter and a digit, with a following ``+`` or edition word (``Pro``, ``Max``,
  ``Plus``, ``Mini``, ``Lite``, ``Ultra``, ``SE``) glued on: ``KFR-35GW/BP3`` or ``X12 Pro`` in a title does not
  reach an order for ``KFR-35GW`` or ``X12``. A model field that names a model always wins over the title.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Final, NamedTuple

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["ListingMatch", "ListingMatcher", "ListingRecord", "MatchRule", "normalise_brand", "normalise_model"]


class MatchRule(StrEnum):
    """How a listing was found to carry the ordered trademark and spec/model; compares equal to its value."""

    EXACT = "exact"
    """Trademark and model strings are identical to the order's."""
    NORMALISED = "normalised"
    """Equal after :func:`normalise_brand` and :func:`normalise_model` (or one half of a bilingual trademark)."""
    ALIAS = "alias"
    """The brands are equal only through the matcher's alias table (``美的`` and ``Midea``)."""
    MODEL_IN_TITLE = "model-in-title"
    """The listing's model field is blank or a placeholder; the ordered model is a whole token of its title."""


class ListingMatch(msgspec.Struct, frozen=True, gc=False):
    """One listing an order reaches, and the rule by which it was reached."""

    listing_id: str
    rule: MatchRule


class ListingRecord(NamedTuple):
    """One listing as :meth:`ListingMatcher.add_many` takes it (any 4-tuple in this order will do)."""

    listing_id: str
    trademark: str
    spec_model: str
    title: str | None = None


# Models whose normalised form says nothing about the product; such a listing is matched through its title.
_PLACEHOLDER_MODELS: Final = frozenset(
    {
        "",
        "无",
        "暂无",
        "型号",
        "其他",
        "其它",
        "other",
        "others",
        "na",
        "none",
        "null",
        "nil",
        "unknown",
        "未知",
        "见详情",
        "详见详情",
        "见详情页",
        "详见详情页",
        "见描述",
        "详见描述",
        "见图",
        "如图",
        "以实物为准",
        "默认",
        "通用",
    }
)

# Latin letters with accents → the bare letter (NFD's first code point), so "Müller" and "Muller" are one brand.
_LATIN_DIACRITICS: Final = {
    code: decomposed[0]
    for code in range(0xC0, 0x250)
    if len(decomposed := unicodedata.normalize("NFD", chr(code))) > 1
    and all(unicodedata.combining(mark) for mark in decomposed[1:])
}
_LATIN_ACCENTED: Final = re.compile("[\u00c0-\u024f]")
_TRADEMARK_SIGNS: Final = str.maketrans("", "", "®©™℠")

_MODEL_LABEL: Final = re.compile(
    r"^[\W_]*(?:规格\s*型\s*号|产品\s*型\s*号|型\s*号|规格(?=[\s:])|型(?=[\s:#.\-_0-9a-z])"
    r"|model(?![a-z])(?:\s*(?:no|number)(?![a-z]))?)[\s:#.\-_]*"
)
_DIMENSION_SIGN: Final = re.compile(r"(?<=\d)\s*[×*✕✖]\s*(?=\d)")
# A run of formatting characters, captured so that the digits on either side can be inspected.
_MODEL_SEPARATORS: Final = re.compile(r"((?:[^\w+]|_)+)")
_WORD_CHAR: Final = re.compile(r"[^\W_]")

_BRAND_LABEL: Final = re.compile(r"^[\W_]*(?:品\s*牌|商\s*标|brand|trademark)(?![a-z])[\s:#\-_]*")
_BRAND_MARK_NOTE: Final = re.compile(r"\((?:r|tm|c)\)")
_LATIN_LEGAL_SUFFIX: Final = re.compile(
    r"[\s,.&\-]+(?:co|company|corp|corporation|inc|incorporated|ltd|limited|llc|gmbh|ag|group|plc|holdings?)"
    r"[\s,.]*$"
)
_CHINESE_SUFFIX: Final = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团公司|集团|公司|品牌|牌)$")
_BRAND_SEPARATORS: Final = re.compile(r"(?:[^\w+&]|_)+")
_BILINGUAL_SLASH: Final = re.compile(r"^([^/|]+)[/|]([^/|]+)$")
_BILINGUAL_BRACKET: Final = re.compile(r"^([^(\[【〔《]+)[(\[【〔《]([^)\]】〕》]+)[)\]】〕》]$")
_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# A model in a title: alphanumerics joined by connectors, with a trailing "+" or edition word ("X12 Pro") glued on.
_TITLE_TOKEN: Final = re.compile(
    r"[0-9a-z]+(?:[\-_/.×*‐‑‒–—―・·][0-9a-z]+)*(?:\s*\+)*"
    r"(?:\s+(?:pro|max|plus|mini|lite|ultra|se)(?![0-9a-z])(?:\s*\+)*)*"
)
_HAS_DIGIT: Final = re.compile(r"[0-9]")
_HAS_LETTER: Final = re.compile(r"[a-z]")

# Caches are cleared when full: simple, bounded, and a platform's brand and model vocabularies fit many times over.
_CACHE_LIMIT: Final = 1 << 18


def _fold(text: str) -> str:
    """NFKC (full-width → half-width, ① → 1), case-fold and strip Latin accents; ASCII takes the cheap path."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.translate(_LATIN_DIACRITICS) if _LATIN_ACCENTED.search(folded) else folded


def _join_model_pieces(text: str) -> str:
    """Drop formatting runs, keeping ``.`` between digits as a decimal point and ``-`` between two numbers."""
    pieces = _MODEL_SEPARATORS.split(text)
    if len(pieces) == 1:
        return text
    out = [pieces[0]]
    for index in range(1, len(pieces), 2):
        before, separator, after = pieces[index - 1], pieces[index], pieces[index + 1]
        if before and after and before[-1].isdigit() and after[0].isdigit():
            out.append("." if separator == "." else "-")
        out.append(after)
    return "".join(out)


_ASCII_FORMATTING: Final = str.maketrans(
    "", "", "".join(char for char in map(chr, range(128)) if not char.isalnum() and char != "+")
)
_ASCII_NUMBER_GAP: Final = re.compile(r"[0-9][^0-9a-z+]+[0-9]")


def normalise_model(spec_model: str) -> str:
    """Return the canonical form of a spec/model; two models name the same product iff their forms are equal.

    Width, case, spaces, dashes of every kind, ``_``, ``/``, ``·``, brackets, Chinese and Latin punctuation, a
    leading ``型号``/``规格型号``/``型``/``Model No.`` label and a trailing ``型`` after a letter or digit are removed.
    Kept: ``.`` between two digits (``1.5P`` ≠ ``15P``), a ``-`` where a separator stood between two digits
    (``FS40-1`` ≠ ``FS401``) and ``+``; ``×``/``*`` between digits becomes ``x``. An empty result means the text
    names no model.

    >>> normalise_model("型号：ＫＦＲ－35ＧＷ／BP3")
    'kfr35gwbp3'
    >>> normalise_model("1.5 P"), normalise_model("FS40 1")
    ('1.5p', 'fs40-1')
    """
    if spec_model.isascii():
        text = spec_model.lower()
        if text.isalnum():
            return text
        # Without a label, a "*" or a gap between two numbers, every ASCII formatting character simply goes.
        if "model" not in text and "*" not in text and _ASCII_NUMBER_GAP.search(text) is None:
            return text.translate(_ASCII_FORMATTING)
    return _normalise_model_fully(spec_model)


def _normalise_model_fully(spec_model: str) -> str:
    """:func:`normalise_model` without its ASCII shortcut (kept separate so tests can compare the two)."""
    text = _fold(spec_model).strip()
    label = _MODEL_LABEL.match(text)
    if label is not None and _WORD_CHAR.search(text, label.end()) is not None:
        text = text[label.end() :]
    text = _DIMENSION_SIGN.sub("x", text)
    text = _join_model_pieces(text)
    if len(text) > 1 and text[-1] == "型" and text[-2].isascii() and (text[-2].isalnum() or text[-2] == "+"):
        text = text[:-1]
    return text


def _strip_suffixes(text: str, suffix: re.Pattern[str]) -> str:
    """Strip ``suffix`` repeatedly while at least two name characters would remain (``金牌`` stays ``金牌``)."""
    while (found := suffix.search(text)) is not None:
        stem = text[: found.start()]
        if len(_WORD_CHAR.findall(stem)) < 2:  # noqa: PLR2004 - a one-character stem is a name of its own
            break
        text = stem
    return text


def _brand_name(folded: str) -> str:
    """The normalised form of one folded brand name: labels, legal forms, ``牌`` and punctuation removed."""
    text = _BRAND_MARK_NOTE.sub("", folded).strip()
    while (label := _BRAND_LABEL.match(text)) is not None and _WORD_CHAR.search(text, label.end()) is not None:
        text = text[label.end() :]
    # Latin legal forms are words: strip them while the separators still mark word boundaries.
    text = _BRAND_SEPARATORS.sub("", _strip_suffixes(text, _LATIN_LEGAL_SUFFIX))
    return _strip_suffixes(text, _CHINESE_SUFFIX)


def normalise_brand(trademark: str) -> str:
    """Return the canonical form of a trademark as written; equal forms are the same brand.

    ®/™/©/℠ and ``(R)``/``(TM)``, width, case, Latin accents, spaces and punctuation are removed, as are a
    ``品牌``/``商标``/``Brand`` label, a trailing ``牌``/``品牌`` and corporate legal-form suffixes (``有限公司``,
    ``集团``, ``Co., Ltd.``, ``Inc.``, ``Group``) while at least two characters of the name remain. ``&`` and ``+``
    are kept. Aliases across scripts (``美的``/``Midea``) are the matcher's business, not this function's.

    >>> normalise_brand("美的®集团股份有限公司"), normalise_brand(" GREE Co., Ltd. ")
    ('美的', 'gree')
    """
    return _brand_name(_fold(trademark.translate(_TRADEMARK_SIGNS)))


def _brand_forms(trademark: str) -> tuple[str, frozenset[str]]:
    """A trademark's normalised whole name, and both halves when it is written bilingually (``Midea/美的``)."""
    folded = _BRAND_MARK_NOTE.sub("", _fold(trademark.translate(_TRADEMARK_SIGNS))).strip()
    whole = _brand_name(folded)
    bilingual = _BILINGUAL_SLASH.match(folded) or _BILINGUAL_BRACKET.match(folded)
    if bilingual is not None:
        first, second = bilingual.group(1), bilingual.group(2)
        # Two scripts side by side are one brand's two names; two Chinese or two Latin names are not.
        if (_CJK.search(first) is None) != (_CJK.search(second) is None):
            halves = {_brand_name(part) for part in (first, second)}
            halves.discard("")
            if len(halves) == 2:  # noqa: PLR2004 - exactly the two halves
                return whole, frozenset(halves)
    return whole, frozenset()


def _title_models(title: str) -> frozenset[str]:
    """Normalised models found in a title: whole Latin tokens with a letter and a digit, edition words glued."""
    tokens = _TITLE_TOKEN.findall(_fold(title))
    return frozenset(
        normalise_model(token)
        for token in tokens
        if _HAS_DIGIT.search(token) is not None and _HAS_LETTER.search(token) is not None
    )


class _Group:
    """The listings of one (canonical brands, normalised model), by how their trademark and model are written.

    Each ``spellings`` list only grows between sweeps: a listing belongs to it while the matcher's
    ``where[listing_id] is`` that list; entries of removed or re-added listings are skipped, later swept away.
    A listing whose model is a placeholder gets a group of its own, indexed by the models in its title.
    """

    __slots__ = ("from_title", "keys", "spellings")

    def __init__(self, keys: tuple[tuple[str, str], ...], *, from_title: bool) -> None:
        self.keys = keys
        self.from_title = from_title
        self.spellings: dict[tuple[str, str], list[str]] = {}


_NO_MODELS: Final[Mapping[str, list[str]]] = {}

# Swept when stale entries outnumber live listings (and at least this many): amortised O(1) per change.
_COMPACT_AT_LEAST: Final = 4096


class ListingMatcher:
    """An in-memory index of a platform's listings by canonical brand and normalised model.

    ``aliases`` maps a brand to its other names (``{"美的": ["Midea"], "格力": ["GREE"]}``); names are compared
    after :func:`normalise_brand`, and a name may belong to one brand only (``ValueError`` otherwise). The module
    docstring states the matching rules. Adding is amortised O(1): normalisation runs once per distinct
    trademark and per distinct spec/model as written, and is cached; :meth:`match` costs O(number of matches).
    Not thread-safe: guard a shared matcher with a lock.
    """

    def __init__(self, aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        self._canonical: dict[str, str] = {}
        for brand, others in (aliases or {}).items():
            self._add_alias_group(brand, [others] if isinstance(others, str) else list(others))
        # trademark as written → spec/model as written → the listing ids of that spelling (the hot path's look-ups)
        self._table: dict[str, dict[str, list[str]]] = {}
        # listing id → the spelling list it belongs to now
        self._where: dict[str, list[str]] = {}
        self._stale = 0
        self._groups: dict[tuple[tuple[str, ...], str], _Group] = {}
        self._title_groups: list[_Group] = []
        self._model_index: dict[tuple[str, str], list[_Group]] = {}
        self._title_index: dict[tuple[str, str], list[_Group]] = {}
        self._brand_cache: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
        self._model_cache: dict[str, str] = {}

    def _add_alias_group(self, brand: str, others: list[str]) -> None:
        """Join ``others`` to ``brand``'s alias group; a name already in another group is ambiguous."""
        head = normalise_brand(brand)
        if not head:
            raise ValueError(f"alias table: brand {brand!r} normalises to nothing")
        canonical = self._canonical.setdefault(head, head)
        for other in others:
            name = normalise_brand(other)
            if not name:
                raise ValueError(f"alias table: alias {other!r} of {brand!r} normalises to nothing")
            if self._canonical.setdefault(name, canonical) != canonical:
                raise ValueError(f"alias table: {other!r} is listed under {brand!r} and under another brand")

    def __len__(self) -> int:
        """Number of listings held."""
        return len(self._where)

    def __contains__(self, listing_id: object) -> bool:
        """Whether a listing with this id is held."""
        return listing_id in self._where

    def add(self, listing_id: str, *, trademark: str, spec_model: str, title: str | None = None) -> None:
        """Index one listing; adding an id that is already held replaces that listing."""
        self.add_many(((listing_id, trademark, spec_model, title),))

    def add_many(self, listings: Iterable[tuple[str, str, str, str | None]]) -> None:
        """Index many listings given as :class:`ListingRecord` or ``(id, trademark, spec_model, title)`` tuples.

        An id already held (or repeated within ``listings``) is replaced by its latest data.
        """
        table_get = self._table.get
        where = self._where
        add_slowly = self._add_slowly
        held_before = len(where)
        count = 0
        try:
            # The hot path is two look-ups of strings as written and two stores; the rest waits for a new spelling.
            for listing_id, trademark, spec_model, title in listings:
                count += 1
                models = table_get(trademark)
                if models is not None:
                    ids = models.get(spec_model)
                    if ids is not None:
                        ids.append(listing_id)
                        where[listing_id] = ids
                        continue
                add_slowly(listing_id, trademark, spec_model, title)
        finally:
            # Every add of an id already held leaves one stale entry behind; a row refused with TypeError is
            # counted too, which is safe: matching trusts the lists only while the count is zero.
            self._stale += count - (len(where) - held_before)
        self._compact_if_due()

    def _add_slowly(self, listing_id: str, trademark: str, spec_model: str, title: str | None) -> None:
        """Add a listing whose trademark and spec/model are written in a new way, or whose model is a placeholder."""
        if not (isinstance(listing_id, str) and isinstance(trademark, str) and isinstance(spec_model, str)) or not (
            title is None or isinstance(title, str)
        ):
            raise TypeError(
                "a listing is (listing_id: str, trademark: str, spec_model: str, title: str | None), got "
                f"({type(listing_id).__name__}, {type(trademark).__name__}, {type(spec_model).__name__}, "
                f"{type(title).__name__})"
            )
        ids = self._table.get(trademark, _NO_MODELS).get(spec_model)
        if ids is None:
            ids = self._new_spelling(trademark, spec_model, title)
        ids.append(listing_id)
        self._where[listing_id] = ids

    def _brand(self, trademark: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """The normalised names a trademark carries and the canonical brands they stand for (sorted), cached."""
        cached = self._brand_cache.get(trademark)
        if cached is None:
            if len(self._brand_cache) >= _CACHE_LIMIT:
                self._brand_cache.clear()
            whole, halves = _brand_forms(trademark)
            canonical = self._canonical
            brands = {canonical.get(half, half) for half in halves}
            # Halves the alias table assigns to two brands (Haier/美的) are not one brand's two names.
            if halves and not (len(brands) == 2 and all(half in canonical for half in halves)):  # noqa: PLR2004
                forms = halves
            else:
                forms = frozenset((whole,)) if whole else frozenset()
                brands = {canonical.get(whole, whole)} if whole else set()
            cached = (forms, tuple(sorted(brands)))
            self._brand_cache[trademark] = cached
        return cached

    def _model(self, spec_model: str) -> str:
        """:func:`normalise_model`, cached."""
        cached = self._model_cache.get(spec_model)
        if cached is None:
            if len(self._model_cache) >= _CACHE_LIMIT:
                self._model_cache.clear()
            cached = normalise_model(spec_model)
            self._model_cache[spec_model] = cached
        return cached

    def _new_spelling(self, trademark: str, spec_model: str, title: str | None) -> list[str]:
        """Register a new way of writing a trademark and a model; return its (empty) list of listing ids."""
        brand = self._brand_cache.get(trademark)
        if brand is None:
            brand = self._brand(trademark)
        model = self._model_cache.get(spec_model)
        if model is None:
            model = self._model(spec_model)
        ids: list[str] = []
        if model in _PLACEHOLDER_MODELS:
            self._new_title_group(trademark, spec_model, title, brand[1]).spellings[trademark, spec_model] = ids
            return ids
        group_key = (brand[1], model)
        group = self._groups.get(group_key)
        if group is None:
            keys = ((brand[1][0], model),) if len(brand[1]) == 1 else tuple([(one, model) for one in brand[1]])
            group = self._groups[group_key] = _Group(keys, from_title=False)
            self._index(group, self._model_index)
        group.spellings[trademark, spec_model] = ids
        models = self._table.get(trademark)
        if models is None:
            self._table[trademark] = {spec_model: ids}
        else:
            models[spec_model] = ids
        return ids

    def _new_title_group(self, trademark: str, spec_model: str, title: str | None, brands: tuple[str, ...]) -> _Group:
        """A one-listing group for a listing whose model is a placeholder, indexed by the models in its title."""
        found = sorted(_title_models(title)) if title and brands else []
        group = _Group(tuple((brand, one) for brand in brands for one in found), from_title=True)
        self._title_groups.append(group)
        self._index(group, self._title_index)
        return group

    @staticmethod
    def _index(group: _Group, index: dict[tuple[str, str], list[_Group]]) -> None:
        """Make ``group`` reachable under each of its keys."""
        for key in group.keys:
            bucket = index.get(key)
            if bucket is None:
                index[key] = [group]
            else:
                bucket.append(group)

    def _compact_if_due(self) -> None:
        """Sweep stale entries once they outnumber the live listings."""
        if self._stale > _COMPACT_AT_LEAST and self._stale > len(self._where):
            self.compact()

    def compact(self) -> None:
        """Drop the entries that removed or replaced listings left behind, and what they leave empty.

        Runs by itself when stale entries outnumber live listings; call it to reclaim memory sooner.
        """
        for group_key, group in list(self._groups.items()):
            if not self._sweep(group):
                del self._groups[group_key]
                self._unindex(group, self._model_index)
        kept: list[_Group] = []
        for group in self._title_groups:
            if self._sweep(group):
                kept.append(group)
            else:
                self._unindex(group, self._title_index)
        self._title_groups = kept
        self._stale = 0

    def _sweep(self, group: _Group) -> bool:
        """Keep only the live, distinct ids of each spelling; drop empty spellings; return whether any is left."""
        where_get = self._where.get
        for spelling, ids in list(group.spellings.items()):
            # dict.fromkeys drops the duplicate an id re-added to its own spelling leaves.
            ids[:] = dict.fromkeys(listing_id for listing_id in ids if where_get(listing_id) is ids)
            if ids:
                continue
            del group.spellings[spelling]
            trademark, spec_model = spelling
            models = self._table.get(trademark)
            if models is not None and models.get(spec_model) is ids:
                del models[spec_model]
                if not models:
                    del self._table[trademark]
        return bool(group.spellings)

    @staticmethod
    def _unindex(group: _Group, index: dict[tuple[str, str], list[_Group]]) -> None:
        """Make ``group`` unreachable (by identity)."""
        for key in group.keys:
            bucket = [other for other in index[key] if other is not group]
            if bucket:
                index[key] = bucket
            else:
                del index[key]

    def remove(self, listing_id: str) -> bool:
        """Forget a listing; return whether it was held."""
        if self._where.pop(listing_id, None) is None:
            return False
        self._stale += 1
        self._compact_if_due()
        return True

    def match(self, trademark: str, spec_model: str) -> list[ListingMatch]:
        """Return every held listing of the same trademark and the same spec/model, sorted by listing id.

        Raises:
            TypeError: the trademark or the spec/model is not a ``str``.
            ValueError: the trademark or the spec/model normalises to nothing (or to a placeholder such as
                ``其他``): such an order names no product and would reach unrelated listings.
        """
        if not (isinstance(trademark, str) and isinstance(spec_model, str)):
            raise TypeError(
                f"an order is (trademark: str, spec_model: str), got "
                f"({type(trademark).__name__}, {type(spec_model).__name__})"
            )
        forms, brands = self._brand(trademark)
        if not brands:
            raise ValueError(f"order trademark {trademark!r} names no brand")
        model = self._model(spec_model)
        if model in _PLACEHOLDER_MODELS:
            raise ValueError(f"order spec/model {spec_model!r} names no model")
        found: dict[MatchRule, list[str]] = {}
        for group in self._reachable(self._model_index, brands, model):
            for (written_trademark, written_model), ids in group.spellings.items():
                if written_trademark == trademark and written_model == spec_model:
                    rule = MatchRule.EXACT
                elif not forms.isdisjoint(self._brand(written_trademark)[0]):
                    rule = MatchRule.NORMALISED
                else:
                    rule = MatchRule.ALIAS
                found.setdefault(rule, []).extend(self._live(ids))
        for group in self._reachable(self._title_index, brands, model):
            for ids in group.spellings.values():
                found.setdefault(MatchRule.MODEL_IN_TITLE, []).extend(self._live(ids))
        if len(found) == 1:
            ((rule, listing_ids),) = found.items()
            listing_ids.sort()
            return list(map(ListingMatch, listing_ids, repeat(rule)))
        matches = [ListingMatch(listing_id, rule) for rule, listing_ids in found.items() for listing_id in listing_ids]
        matches.sort(key=_BY_LISTING_ID)
        return matches

    @staticmethod
    def _reachable(index: dict[tuple[str, str], list[_Group]], brands: tuple[str, ...], model: str) -> list[_Group]:
        """The groups indexed under any of ``brands`` with ``model``, each once."""
        if len(brands) == 1:
            return index.get((brands[0], model), [])
        # A group indexed under two of the order's brands (a bilingual trademark) is read once.
        return list({id(group): group for brand in brands for group in index.get((brand, model), ())}.values())

    def _live(self, ids: list[str]) -> list[str]:
        """The ids in a spelling list that still belong to it, once each (all of them while nothing is stale)."""
        if not self._stale:
            return ids
        where_get = self._where.get
        # dict.fromkeys drops the duplicate an id re-added to its own spelling leaves.
        return list(dict.fromkeys(listing_id for listing_id in ids if where_get(listing_id) is ids))


_BY_LISTING_ID: Final = attrgetter("listing_id")
