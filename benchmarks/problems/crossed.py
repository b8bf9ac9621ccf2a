"""A MovieLens-1M-sized crossed design: 1,000,209 ratings of 3,706 movies by 6,040 users (simulated)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import Problem


def _movielens(n_ratings=1_000_209, n_users=6040, n_movies=3706, seed=1):
    rng = np.random.default_rng(seed)
    user_activity = rng.pareto(1.2, n_users) + 1          # skewed: a few users rate very much
    movie_pop = rng.pareto(1.0, n_movies) + 1
    u = rng.choice(n_users, n_ratings, p=user_activity / user_activity.sum())
    m = rng.choice(n_movies, n_ratings, p=movie_pop / movie_pop.sum())
    y = 3.6 + rng.normal(0, 0.45, n_users)[u] + rng.normal(0, 0.5, n_movies)[m] + rng.normal(0, 0.9, n_ratings)
    d = pd.DataFrame({"user": np.char.add("u", u.astype(str)), "movie": np.char.add("m", m.astype(str)),
                      "rating": y})
    return d, None


def crossed_problems() -> list[Problem]:
    return [Problem("movielens_1M", ("full",), "rating ~ 1 + (1|user) + (1|movie)", _movielens,
                    factors=("user", "movie"), lme4_formula="rating ~ 1 + (1|user) + (1|movie)",
                    note="statsmodels: crossed factors with thousands of levels are beyond MixedLM's dense design")]
