"""Load a catalogue file and refuse what xinyong will not hold."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xinyong.catalog.model import COMMERCIAL_SCORE_CLASSES, Catalog, Category
from xinyong.catalog.prohibited import PROHIBITED_DATA_CLASSES, prohibited_class_of_name
from xinyong.errors import CatalogError, ProhibitedDataClassError
from xinyong.sql import MAX_NAME, is_identifier

DEFAULT_CATALOG = "default.toml"


def default_catalog_path() -> Path:
    return Path(str(resources.files("xinyong.catalog").joinpath(DEFAULT_CATALOG)))


def load_catalog(path: Path | None = None) -> Catalog:
    """Read, validate and check a catalogue file (the packaged default when ``path`` is None)."""
    path = Path(path) if path is not None else default_catalog_path()
    return _load(str(path.resolve()))


@lru_cache(maxsize=8)
def _load(path: str) -> Catalog:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(
            f"Catalogue file {path} does not exist.",
            hint="Point XINYONG_CATALOG at an existing file, or unset it to use the default.",
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"Catalogue file {path} is not valid TOML: {exc}.") from None

    categories: dict[str, dict[str, Any]] = raw.get("categories", {})
    if not categories:
        raise CatalogError(f'Catalogue file {path} declares no [categories."..."] tables.')
    for code, body in categories.items():
        _refuse_prohibited(path, code, body)
        body["code"] = code
    try:
        catalog = Catalog(
            version=str(raw.get("version", "unversioned")),
            source=path,
            subject_kinds=raw.get("subject_kinds", {}),
            source_kinds=raw.get("source_kinds", {}),
            categories=categories,  # type: ignore[arg-type]  # raw TOML tables; pydantic validates them
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogError(
            f"Catalogue file {path}: {where}: {first['msg']}.",
            hint="See docs/catalog.md for the fields each category takes.",
        ) from None
    for category in catalog.categories.values():
        _check_consistency(catalog, category)
    return catalog


def _refuse_prohibited(path: str, code: str, body: dict[str, Any]) -> None:
    declared = list(body.get("data_classes", []) or [])
    details = body.get("details", {}) or {}
    for name, field in details.items():
        field_class = field.get("data_class") if isinstance(field, dict) else None
        if field_class:
            declared.append(field_class)
        implied = prohibited_class_of_name(name)
        if implied:
            raise ProhibitedDataClassError(
                f"Catalogue file {path}: category {code!r} has a detail field {name!r} that "
                f"would hold {PROHIBITED_DATA_CLASSES[implied]} (data class {implied!r}), "
                "which xinyong refuses to hold.",
                hint="Remove the field; DESIGN.md lists the data classes xinyong never stores.",
            )
    for data_class in declared:
        if data_class in PROHIBITED_DATA_CLASSES:
            raise ProhibitedDataClassError(
                f"Catalogue file {path}: category {code!r} declares the data class "
                f"{data_class!r} ({PROHIBITED_DATA_CLASSES[data_class]}), which xinyong "
                "refuses to hold.",
                hint="Remove the category; DESIGN.md lists the data classes xinyong never stores.",
            )


def _check_consistency(catalog: Catalog, category: Category) -> None:
    where = f"Catalogue file {catalog.source}: category {category.code!r}"
    if category.commercial_score:
        other = sorted(set(category.data_classes) - COMMERCIAL_SCORE_CLASSES)
        if other or not category.data_classes:
            raise CatalogError(
                f"{where}: `commercial_score = true` marks conduct a commercial score may read,"
                f" but the category holds {', '.join(other) or 'no declared data class'}.",
                hint="Only records of how a subject met their own obligations ("
                + ", ".join(sorted(COMMERCIAL_SCORE_CLASSES))
                + ") may feed the commercial score; remove the mark.",
            )
        protected = [n for n, f in category.details.items() if f.protected]
        if protected:
            raise CatalogError(
                f"{where}: `commercial_score = true` on a category with protected details"
                f" ({', '.join(protected)}).",
                hint="A commercial score reads conduct, never who the subject is; remove the mark.",
            )
    if category.code.count(".") < 1 or category.code != category.code.lower():
        raise CatalogError(f"{where}: codes are lower-case and dotted, like 'domain.thing'.")
    for kind in category.source_kinds:
        if kind not in catalog.source_kinds:
            raise CatalogError(f"{where}: source kind {kind!r} is not declared in [source_kinds].")
    for ended in category.ends:
        if ended not in catalog.categories or ended == category.code:
            raise CatalogError(f"{where}: `ends` names {ended!r}, which is no other category.")
    for name, field in category.details.items():
        if not is_identifier(name):
            raise CatalogError(
                f"{where}: detail field {name!r} must be lower-case letters, digits and '_',"
                f" starting with a letter, at most {MAX_NAME} characters (it names a column)."
            )
        if field.type == "enum" and not field.values:
            raise CatalogError(f"{where}: enum detail {name!r} lists no values.")
    by = category.publicity.period_by
    if by is not None:
        period_field = category.details.get(by.field)
        if period_field is None or period_field.type != "enum":
            raise CatalogError(
                f"{where}: publicity.period_by names {by.field!r}, not an enum detail."
            )
        missing = set(period_field.values) - set(by.months)
        if missing:
            raise CatalogError(
                f"{where}: publicity.period_by has no period for {', '.join(sorted(missing))}."
            )
