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

        before, count = shown()
        assert before == [mask(city.listed)]
        removal = delisting(city, Path(data).parent)
        cli(data, "ingest", str(removal), "--source", "demo-court")
        wait_for(lambda: shown()[0] == [], 30, "the delisted person to leave the search")
        assert shown()[1] == count - 1
