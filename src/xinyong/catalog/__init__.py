"""The credit information catalogue: what may be recorded, by whom, about whom, for how long."""

from xinyong.catalog.loader import default_catalog_path, load_catalog
from xinyong.catalog.model import Catalog, Category, DetailField

__all__ = ["Catalog", "Category", "DetailField", "default_catalog_path", "load_catalog"]
