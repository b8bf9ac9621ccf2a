"""Simulator arguments: zero generations is an error (API and CLI); one generation is founders only."""
import pytest

from henderson.cli import main
from henderson.simulate import simulate


@pytest.mark.parametrize("generations", [0, -2, 2.5, True])
def test_generations_below_one_or_not_an_integer_is_an_error(generations):
    with pytest.raises(ValueError, match=r"n_generations must be an integer >= 1"):
        simulate(100, n_generations=generations, seed=1)


def test_cli_zero_generations_is_bad_input(tmp_path, capsys):
    code = main(["simulate", "--animals", "100", "--generations", "0", "--out", str(tmp_path / "sim")])
    assert code == 2
    assert "n_generations must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "sim").exists()


def test_one_generation_is_founders_only():
    data, ped, truth = simulate(60, n_generations=1, seed=3)
    assert len(ped) == 60 and set(ped["sire"]) == {"0"} and set(ped["dam"]) == {"0"}
    assert (truth["inbreeding"] == 0).all()
    assert len(data) > 0 and set(data["id"]) <= set(ped["id"])
