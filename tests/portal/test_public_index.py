"""The public index follows the ledger: a removal that the court files while the service
runs takes the person off the public search and the list within seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.live import City, cli, delisting, serving, wait_for
from xinyong.ids.masking import mask


def test_a_removal_takes_the_person_off_the_public_pages(
    city: City, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = city.copy(tmp_path_factory.mktemp("public-index") / "data")
    with serving(data) as server, server.client() as client:

        def shown() -> tuple[list[str], int]:
            found = client.get("/v1/public/search", params={"q": city.listed}).json()
            listed = client.get("/v1/public/lists").json()
            count = next(x["entries"] for x in listed["lists"] if x["id"] == "judicial_defaulters")
            return [r["identifier"] for r in found["results"]], count

        def page() -> str:  # rendered once per version of the data, then from the cache
            return client.get("/lists/judicial_defaulters", params={"lang": "en"}).text

        before, count = shown()
        assert before == [mask(city.listed)]
        assert mask(city.listed) in page() and mask(city.listed) in page()
        removal = delisting(city, Path(data).parent)
        cli(data, "ingest", str(removal), "--source", "demo-court")
        wait_for(lambda: shown()[0] == [], 30, "the delisted person to leave the search")
        assert shown()[1] == count - 1
        assert mask(city.listed) not in page()


def test_a_search_page_by_number_is_never_served_from_the_cache(
    city: City, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two resident numbers can share a mask; the page of one must not answer the other."""
    data = city.copy(tmp_path_factory.mktemp("public-cache") / "data")
    # Another birth date with the same sequence and, for one in eleven dates, the same check.
    twin = next(
        t
        for day in range(1, 29)
        for t in [f"{city.listed[:6]}198001{day:02d}{city.listed[14:17]}"]
        if _check(t) == city.listed[17] and t + city.listed[17] != city.listed
    )
    twin += city.listed[17]
    assert mask(twin) == mask(city.listed) and twin != city.listed
    with serving(data) as server, server.client() as client:
        listed = client.get("/search", params={"q": city.listed, "lang": "en"}).text
        other = client.get("/search", params={"q": twin, "lang": "en"}).text
        assert "Nothing public matches this search." not in listed
        assert "Nothing public matches this search." in other


def _check(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
