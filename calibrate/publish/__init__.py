"""Publishing: scores and SQL for production, the config diff, MLflow tracking, the scorer model and the registry (champion/challenger aliases).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "export": ["export_sql", "load_for_scoring", "score_accounts", "write_scores"],
        "diff": ["ConfigDiff", "diff_configs"],
        "registry": ["MODEL_NAME", "champion_uri", "promote", "register_scorer"],
        "track": ["log_results", "mlflow_run", "tracking_uri"],
    },
)
