"""The synthetic city generator (``xinyong demo``)."""

from xinyong.demo.city import CityFiles, generate_city

__all__ = ["CityFiles", "generate_city"]
