from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MILK = ROOT / "henderson" / "data" / "milk.csv"
PED = ROOT / "henderson" / "data" / "pedCows.csv"
SLEEP = ROOT / "tests" / "data" / "sleepstudy.csv"
MILK_FORMULA = "milk ~ lact + np.log(dim) + (1|id) + (1|herd)"


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def milk_job(tmp_path):
    return write_toml(tmp_path / "milk.toml", f'''
data = "{MILK}"
pedigree = "{PED}"
pedigree_term = "id"
formula = "{MILK_FORMULA}"
scale = ["milk"]
factors = ["herd"]
out = "milk_out"
''')
