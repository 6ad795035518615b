"""Find the listings a delisting order (停止销售名单, opinion 四(二)) reaches: same trademark, same spec/model.

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
from itertools import compress, product, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Final, NamedTuple, NoReturn, cast

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

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
_DIGITS: Final = frozenset("0123456789")
_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz")

# The caches of what orders and titles bring are cleared when full: simple and bounded (what listings bring is
# kept while a listing uses it, and forgotten by ListingMatcher.compact).
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


# ASCII formatting characters (all but letters, digits and "+"), deleted from the encoded text by bytes.translate.
_ASCII_FORMATTING: Final = bytes(code for code in range(128) if not chr(code).isalnum() and chr(code) != "+")
_ASCII_NUMBER_GAP: Final = re.compile(r"[0-9][^0-9a-z+]+[0-9]")
# Non-ASCII characters that only format a model: not letters, digits, spaces or a dimension sign (×).
_NON_ASCII_SEPARATORS: Final = re.compile(r"[^\x00-\x7f\w\s×✕✖]")


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
    # Fast paths for what most models look like once folded: ASCII, maybe after a label or before a "型". Each
    # gives what _normalise_model_fully gives: the tests compare them on arbitrary and on targeted text.
    if spec_model.isascii():
        text = spec_model.lower()
        if "model" in text:
            text = _without_label(text)
        return _normalise_ascii_model(text)
    text = _without_label(_fold(spec_model).strip())
    suffix = text.endswith("型")
    body = text[:-1] if suffix else text
    if not body.isascii():
        # Any other dash or punctuation formats a model as "-" does (a run of them between digits reads "-").
        body = _NON_ASCII_SEPARATORS.sub("-", body)
        if not body.isascii():
            return _normalise_model_fully(spec_model)
    model = _normalise_ascii_model(body)
    if suffix and not (model and (model[-1].isalnum() or model[-1] == "+")):
        return model + "型"
    return model


def _without_label(text: str) -> str:
    """``text`` without a leading ``型号``/``Model No.`` label, if something follows the label."""
    label = _MODEL_LABEL.match(text)
    if label is not None and _WORD_CHAR.search(text, label.end()) is not None:
        return text[label.end() :]
    return text


def _normalise_ascii_model(text: str) -> str:
    """The model in lower-case ASCII ``text`` that holds no label: formatting dropped, decimals and gaps kept."""
    if text.isalnum():
        return text
    # Without a "*" or a gap between two numbers, every formatting character simply goes.
    if "*" not in text and _ASCII_NUMBER_GAP.search(text) is None:
        return text.encode("ascii").translate(None, _ASCII_FORMATTING).decode("ascii")
    return _join_model_pieces(_DIMENSION_SIGN.sub("x", text.strip()))


def _normalise_model_fully(spec_model: str) -> str:
    """:func:`normalise_model` without its shortcuts: the reference the tests hold the shortcuts to."""
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


def _title_models(title: str, normalise: Callable[[str], str] = normalise_model) -> set[str]:
    """Normalised models found in a title: whole Latin tokens with a letter and a digit, edition words glued."""
    return {
        normalise(token)
        for token in _TITLE_TOKEN.findall(_fold(title))
        if not _DIGITS.isdisjoint(token) and not _LETTERS.isdisjoint(token)
    }


# A listing id moved here has been removed: no list of listing ids is this one.
_REMOVED: Final[list[str]] = []
# The table's entry for a spelling whose model is blank: its listings are indexed one by one by title.
_BLANK: Final[list[str]] = []
_LISTING_ID: Final = itemgetter(0)
_SPELLING: Final = itemgetter(1, 2)
_WRITTEN_TRADEMARK: Final = itemgetter(0)
_WRITTEN_MODEL: Final = itemgetter(1)

# Swept when stale entries outnumber live listings (and at least this many): amortised O(1) per change.
_COMPACT_AT_LEAST: Final = 4096


def _refuse(listing_id: object, trademark: object, spec_model: object, title: object) -> NoReturn:
    """Raise the ``TypeError`` for a row whose fields are not strings (a title may be ``None``)."""
    raise TypeError(
        "a listing is (listing_id: str, trademark: str, spec_model: str, title: str | None), got "
        f"({type(listing_id).__name__}, {type(trademark).__name__}, {type(spec_model).__name__}, "
        f"{type(title).__name__})"
    )


class ListingMatcher:
    """An in-memory index of a platform's listings by canonical brand and normalised model.

    ``aliases`` maps a brand to its other names (``{"美的": ["Midea"], "格力": ["GREE"]}``); names are compared
    after :func:`normalise_brand`, and a name may belong to one brand only (``ValueError`` otherwise). The module
    docstring states the matching rules.

    Adding a listing is amortised O(1): one look-up of its trademark and spec/model as written, one append and one
    set insert of its id. Normalisation runs once per distinct trademark and per distinct spec/model (and on the
    title of each listing whose model is blank). :meth:`remove` is O(1); :meth:`match` costs O(matches + the
    brand's trademarks × the model's spellings), a few dozen look-ups. Not thread-safe: guard a shared matcher with
    a lock.
    """

    def __init__(self, aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        self._canonical: dict[str, str] = {}
        for brand, others in (aliases or {}).items():
            self._add_alias_group(brand, [others] if isinstance(others, str) else list(others))
        # (trademark, spec/model) as written → the ids of the listings written so (_BLANK for a blank model)
        self._table: dict[tuple[str, str], list[str]] = {}
        self._held: set[str] = set()
        # Listing id → the list it now belongs to, for the ids removed or added again since the last sweep. An id
        # not in here sits in exactly one list, where it is live: the common case needs no per-listing map.
        self._moved: dict[str, list[str]] = {}
        self._stale = 0
        # What each trademark and spec/model written in the table stands for, and the reverse: an order for
        # (brand, model) reaches the table's spellings (trademark of the brand, spec/model of the model). Work per
        # distinct trademark and spec/model, none per spelling, and matching stays a handful of look-ups.
        self._trademarks: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
        self._by_brand: dict[str, list[str]] = {}
        self._models: dict[str, str] = {}
        self._by_model: dict[str, list[str]] = {}
        # (canonical brand, model named in the title) → one single-id list per listing whose model field is blank
        self._title_index: dict[tuple[str, str], list[list[str]]] = {}
        # Bounded caches for what orders and titles bring, which need not be held
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
        return len(self._held)

    def __contains__(self, listing_id: object) -> bool:
        """Whether a listing with this id is held."""
        return listing_id in self._held

    def add(self, listing_id: str, *, trademark: str, spec_model: str, title: str | None = None) -> None:
        """Index one listing; adding an id that is already held replaces that listing."""
        self._add(((listing_id, trademark, spec_model, title),))
        self._compact_if_due()

    def add_many(self, listings: Iterable[tuple[str, str, str, str | None]]) -> None:
        """Index many listings given as :class:`ListingRecord` or ``(id, trademark, spec_model, title)`` tuples.

        An id already held (or repeated within ``listings``) is replaced by its latest data. Rows are taken in
        order: a row refused with ``TypeError`` or ``ValueError`` stops the batch, the rows before it stay added.
        A title is read only when the row's model is blank.
        """
        batch: list[tuple[str, str, str, str | None]] | tuple[tuple[str, str, str, str | None], ...]
        if type(listings) is list or type(listings) is tuple:
            batch = listings
        else:
            batch = []
            try:
                batch.extend(listings)
            except BaseException:
                # The iterable itself failed: what it yielded before stays added, as if added row by row.
                self._add(batch)
                raise
        self._add(batch)
        self._compact_if_due()

    def _add(self, rows: Sequence[tuple[str, str, str, str | None]]) -> None:
        """Add listings in order; a refused row raises, the rows before it stay added."""
        table_get = self._table.get
        blank: list[tuple[int, list[str]]] = []
        done = 0
        try:
            # The hot loop: per row one look-up of the spelling as written and one append (ids are noted after).
            for done, (listing_id, trademark, spec_model, title) in enumerate(rows):
                ids = table_get((trademark, spec_model))
                if ids is None or type(listing_id) is not str:
                    ids = self._spelling(listing_id, trademark, spec_model, title)
                if ids is _BLANK:
                    if not (title is None or isinstance(title, str)):
                        _refuse(listing_id, trademark, spec_model, title)
                    ids = self._index_title(listing_id, self._trademarks[trademark][1], title)
                    blank.append((done, ids))
                else:
                    ids.append(listing_id)
            done = len(rows)
        finally:
            self._settle(rows[:done] if done < len(rows) else rows, blank)

    def _spelling(self, listing_id: object, trademark: object, spec_model: object, title: object) -> list[str]:
        """Check a row, and return the list its spelling's ids go to (made for a new spelling)."""
        if not (isinstance(listing_id, str) and isinstance(trademark, str) and isinstance(spec_model, str)) or not (
            title is None or isinstance(title, str)
        ):
            _refuse(listing_id, trademark, spec_model, title)
        ids = self._table.get((trademark, spec_model))
        if ids is None:
            if trademark not in self._trademarks:
                self._register_trademark(trademark)
            model = self._models.get(spec_model)
            if model is None:
                model = self._register_model(spec_model)
            # A blank model's spelling is noted as such: its listings are matched one by one through their titles.
            ids = self._table[trademark, spec_model] = _BLANK if model in _PLACEHOLDER_MODELS else []
        return ids

    def _settle(self, rows: Sequence[tuple[str, str, str, str | None]], blank: list[tuple[int, list[str]]]) -> None:
        """Note the ids of ``rows`` just added: earlier entries of theirs are stale, the last row of an id wins."""
        held, moved = self._held, self._moved
        held_before = len(held)
        held.update(map(_LISTING_ID, rows))
        added = len(held) - held_before
        self._stale += len(rows) - added
        if added < len(rows) or (moved and not moved.keys().isdisjoint(map(_LISTING_ID, rows))):
            # Some id was held, removed or repeated: noting where each id of the batch lives is simple and right,
            # and this costs a look-up per row only in this uncommon case.
            lists: list[list[str]] = list(map(self._table.__getitem__, map(_SPELLING, rows)))
            for position, entry in blank:
                lists[position] = entry
            moved.update(zip(map(_LISTING_ID, rows), lists, strict=True))

    def _register_trademark(self, trademark: str) -> None:
        """Note the normalised names and canonical brands of a trademark not seen before."""
        brand = self._trademarks[trademark] = self._brand_of(trademark)
        for canonical in brand[1]:
            spellings = self._by_brand.get(canonical)
            if spellings is None:
                self._by_brand[canonical] = [trademark]
            else:
                spellings.append(trademark)

    def _register_model(self, spec_model: str) -> str:
        """Note and return the normalised form of a spec/model not seen before."""
        model = self._models[spec_model] = normalise_model(spec_model)
        if model not in _PLACEHOLDER_MODELS:
            spellings = self._by_model.get(model)
            if spellings is None:
                self._by_model[model] = [spec_model]
            else:
                spellings.append(spec_model)
        return model

    def _index_title(self, listing_id: str, brands: tuple[str, ...], title: str | None) -> list[str]:
        """Index a listing whose model is blank under the models its title names; return its single-id list."""
        entry = [listing_id]
        if title and brands:
            index = self._title_index
            for model in _title_models(title, self._model):
                for brand in brands:
                    bucket = index.get((brand, model))
                    if bucket is None:
                        index[brand, model] = [entry]
                    else:
                        bucket.append(entry)
        return entry

    def _brand_of(self, trademark: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """The normalised names a trademark carries and the canonical brands they stand for (sorted)."""
        whole, halves = _brand_forms(trademark)
        canonical = self._canonical
        brands = {canonical.get(half, half) for half in halves}
        # Halves the alias table assigns to two brands (Haier/美的) are not one brand's two names.
        if halves and not (len(brands) == 2 and all(half in canonical for half in halves)):  # noqa: PLR2004
            forms = halves
        else:
            forms = frozenset((whole,)) if whole else frozenset()
            brands = {canonical.get(whole, whole)} if whole else set()
        return forms, tuple(sorted(brands))

    def _brand(self, trademark: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """:meth:`_brand_of`, from what is held or cached."""
        cached = self._trademarks.get(trademark) or self._brand_cache.get(trademark)
        if cached is None:
            if len(self._brand_cache) >= _CACHE_LIMIT:
                self._brand_cache.clear()
            cached = self._brand_cache[trademark] = self._brand_of(trademark)
        return cached

    def _model(self, spec_model: str) -> str:
        """:func:`normalise_model`, from what is held or cached."""
        cached = self._models.get(spec_model)
        if cached is None:
            cached = self._model_cache.get(spec_model)
            if cached is None:
                if len(self._model_cache) >= _CACHE_LIMIT:
                    self._model_cache.clear()
                cached = self._model_cache[spec_model] = normalise_model(spec_model)
        return cached

    def _compact_if_due(self) -> None:
        """Sweep stale entries once they outnumber the live listings."""
        if self._stale > _COMPACT_AT_LEAST and self._stale > len(self._held):
            self.compact()

    def compact(self) -> None:
        """Drop the entries that removed or replaced listings left behind, and what they leave unused.

        Runs by itself when stale entries outnumber live listings; call it to reclaim memory sooner.
        """
        where = self._moved.get
        table = self._table
        for spelling, ids in list(table.items()):
            if ids is _BLANK:
                del table[spelling]
                continue
            # dict.fromkeys drops the duplicate an id re-added to its own spelling leaves.
            ids[:] = dict.fromkeys(listing_id for listing_id in ids if where(listing_id, ids) is ids)
            if not ids:
                del table[spelling]
        for key, entries in list(self._title_index.items()):
            kept = [entry for entry in entries if where(entry[0], entry) is entry]
            if kept:
                self._title_index[key] = kept
            else:
                del self._title_index[key]
        # Trademarks and spec/models no spelling uses any more are forgotten (they come back if written again).
        trademarks, spec_models = set(map(_WRITTEN_TRADEMARK, table)), set(map(_WRITTEN_MODEL, table))
        self._trademarks = {name: brand for name, brand in self._trademarks.items() if name in trademarks}
        self._by_brand = _kept(self._by_brand, trademarks)
        self._models = {name: model for name, model in self._models.items() if name in spec_models}
        self._by_model = _kept(self._by_model, spec_models)
        self._moved.clear()
        self._stale = 0

    def remove(self, listing_id: str) -> bool:
        """Forget a listing; return whether it was held."""
        if listing_id not in self._held:
            return False
        self._held.remove(listing_id)
        self._moved[listing_id] = _REMOVED
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
        found = self._found_by_spelling(trademark, spec_model, forms, brands, model)
        entries = [entry for brand in brands for entry in self._title_index.get((brand, model), ())]
        if entries:
            where = self._moved.get
            # dict.fromkeys: a listing indexed under two of the order's brands (a bilingual trademark) counts once.
            found[MatchRule.MODEL_IN_TITLE] = list(
                dict.fromkeys(entry[0] for entry in entries if where(entry[0], entry) is entry)
            )
        if len(found) == 1:
            ((rule, listing_ids),) = found.items()
            listing_ids.sort()
            return list(map(ListingMatch, listing_ids, repeat(rule)))
        matches: list[ListingMatch] = []
        for rule, listing_ids in found.items():
            matches.extend(map(ListingMatch, listing_ids, repeat(rule)))
        matches.sort(key=_BY_LISTING_ID)
        return matches

    def _found_by_spelling(
        self, trademark: str, spec_model: str, forms: frozenset[str], brands: tuple[str, ...], model: str
    ) -> dict[MatchRule, list[str]]:
        """The ids of the listings whose spelling reaches the order, by rule (fresh lists, free to sort)."""
        found: dict[MatchRule, list[str]] = {}
        spec_models = self._by_model.get(model)
        if not spec_models:
            return found
        by_brand = self._by_brand
        if len(brands) == 1:
            trademarks: Iterable[str] = by_brand.get(brands[0], ())
        else:
            # A trademark of two of the order's brands (a bilingual one) is read once.
            trademarks = dict.fromkeys(name for brand in brands for name in by_brand.get(brand, ()))
        # Every (trademark of the brand, spelling of the model) pair is looked up at C speed; few are held.
        spellings = list(product(trademarks, spec_models))
        lists = list(map(self._table.get, spellings))
        registered, moved = self._trademarks, self._moved
        for (written_trademark, written_model), held in compress(zip(spellings, lists, strict=True), lists):
            if written_model == spec_model and written_trademark == trademark:
                rule = MatchRule.EXACT
            elif forms.isdisjoint(registered[written_trademark][0]):
                rule = MatchRule.ALIAS
            else:
                rule = MatchRule.NORMALISED
            ids = self._live(cast("list[str]", held)) if moved else cast("list[str]", held)
            listing_ids = found.get(rule)
            if listing_ids is None:
                found[rule] = ids if moved else ids[:]
            else:
                listing_ids.extend(ids)
        return found

    def _live(self, ids: list[str]) -> list[str]:
        """The ids in a spelling list that still belong to it, once each (all of them while nothing moved)."""
        moved = self._moved
        if not moved:
            return ids
        where = moved.get
        # dict.fromkeys drops the duplicate an id re-added to its own spelling leaves.
        return list(dict.fromkeys(listing_id for listing_id in ids if where(listing_id, ids) is ids))


def _kept(spellings: dict[str, list[str]], used: set[str]) -> dict[str, list[str]]:
    """``spellings`` without the names not in ``used``, and without the keys that leaves with none."""
    kept: dict[str, list[str]] = {}
    for key, names in spellings.items():
        names_kept = [name for name in names if name in used]
        if names_kept:
            kept[key] = names_kept
    return kept


_BY_LISTING_ID: Final = attrgetter("listing_id")
