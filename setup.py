"""Package data that lives outside the package: pyproject.toml holds everything else.

The ontology, the named queries and the seed articles stay at the top of the checkout (where the
README, the tests and other tools expect them) and travel in the wheel as ``kg_service/_data/<folder>``,
where `kg_service.paths` finds them. pyproject.toml cannot list found packages and mapped ones
together, hence these few lines.
"""

from setuptools import find_packages, setup

DATA = {f"kg_service._data.{name}": name for name in ("ontology", "seeds", "sparql")}

setup(
    packages=find_packages(include=["kg_service", "kg_service.*"]) + list(DATA),
    package_dir=DATA,
    package_data={
        "kg_service.web": ["templates/*.html", "static/*"],
        **{package: ["*"] for package in DATA},
    },
)
