"""The HTML report (and its PDF): sections rendered from results, figures embedded, no raw account rows.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "html": ["Section", "register_section", "result_section", "run_report", "write_pdf"],
        "sections": ["expected_churned_arr"],
        "xlsx": ["write_workbook"],
    },
)
