"""Comparison out of time: champion vs challenger (the adopt/keep test) and the methods leaderboard.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "champion": ["ChampionChallenger", "champion_challenger", "compare_with_current"],
        "methods": ["Leaderboard", "MethodScore", "leaderboard"],
    },
)
