"""The small simulated population of tests/genomic/genomic_population.py as a module fixture."""
import pytest
from genomic_population import small_population


@pytest.fixture(scope="module")
def population():
    return small_population()
