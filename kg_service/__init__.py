"""kg-service: a knowledge graph of the disputes and talks between South Korea and Japan, served over SPARQL."""

__version__ = "0.1.0"
