"""Voices: the catalogue (which voices exist, as data) and the engines that speak them.

    catalogue = voices.load_catalogue()
    engine = voices.load_engine(catalogue.find("female"))   # loaded once per process
    audio = engine.synthesize("Hello there.", speed=1.0)
"""

from voices.catalogue import Catalogue, CatalogueError, Voice, load_catalogue
from voices.engines import load_engine, load_voices

__all__ = ["Catalogue", "CatalogueError", "Voice", "load_catalogue", "load_engine", "load_voices"]
