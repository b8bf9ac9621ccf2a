"""The small simulated population of tests/genomic/simulated.py as a module fixture."""
import pytest

from tests.genomic.simulated import small_population


@pytest.fixture(scope="module")
def population():
    return small_population()
