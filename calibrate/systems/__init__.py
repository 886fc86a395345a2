"""Other scoring systems CS teams run beside a weighted score: rule trees, metric trees, activity tiers and the red-account playbook, and their comparison with the score.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "rules": ["RuleTree", "RuleValidation", "builtin_trees", "classify", "read_tree", "validate_tree"],
        "rules_tune": ["TreeTuning", "tune_tree"],
        "metric_tree": ["MetricTree", "MetricTreeFit", "Explanation", "ActionList", "action_list", "explain", "fit_metric_tree", "read_metric_tree"],
        "tiers": ["TierResult", "DirectionReport", "activity_tiers", "assign_tiers", "direction_checks"],
        "playbook": ["Playbook", "PostMortem", "post_mortem", "red_playbook"],
        "comparison": ["SystemComparison", "compare_systems"],
    },
)
