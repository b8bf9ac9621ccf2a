"""The residual structures through the CLI: TOML keys and flags give the Python API's numbers; bad strings exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import henderson as hd
from henderson.cli import main

D = Path(__file__).parents[1] / "reference" / "nlme"


def test_toml_keys_equal_python_api(tmp_path):
    job = tmp_path / "un.toml"
    job.write_text(f'''
data = "{D / 'Orthodont.csv'}"
formula = "distance ~ Sex * C(age)"
correlation = "corSymm(~ 1 | Subject)"
variance = "varIdent(~ 1 | age)"
out = "un_out"
''')
    assert main(["fit", str(job)]) == 0
    vc = pd.read_csv(tmp_path / "un_out" / "variance_components.csv", keep_default_na=False)
    api = hd.fit("distance ~ Sex * C(age)", pd.read_csv(D / "Orthodont.csv"), correlation=hd.corSymm("~ 1 | Subject"),
                 variance=hd.varIdent("~ 1 | age"))
    np.testing.assert_allclose(vc["estimate"], api.variance_components["estimate"], rtol=1e-12)
    assert list(vc.term1[1:]) == ["corSymm"] * 6 + ["varIdent"] * 3
    res = json.loads((tmp_path / "un_out" / "result.json").read_text())
    assert abs(res["loglik"] - api.loglik) < 1e-9


def test_flags_and_bad_string(tmp_path, capsys):
    args = ["fit", "--data", str(D / "Orthodont.csv"), "--formula", "distance ~ age + (1|Subject)", "--weights", "w",
            "--correlation", "corAR1(~ occ | Subject)"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    vc = pd.read_csv(tmp_path / "a" / "variance_components.csv", keep_default_na=False)
    api = hd.fit("distance ~ age + (1|Subject)", pd.read_csv(D / "Orthodont.csv"), weights="w",
                 correlation="corAR1(~ occ | Subject)")
    np.testing.assert_allclose(vc["estimate"], api.variance_components["estimate"], rtol=1e-12)
    bad = args[:-1] + ["corAR9(~ 1 | Subject)", "--out", str(tmp_path / "b")]
    assert main(bad) == 2
    assert "corAR9(~ 1 | Subject)" in capsys.readouterr().err
