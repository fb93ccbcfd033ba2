"""Rule titles and descriptions: core_ext.i18n.rules, shared with the edge."""
from core_ext.i18n.rules import (
    RULE_DESCRIPTIONS,
    RULE_TITLES,
    SEVERITY_TITLES,
    rule_description,
    rule_title,
    severity_title,
)

__all__ = ["RULE_DESCRIPTIONS", "RULE_TITLES", "SEVERITY_TITLES", "rule_description", "rule_title", "severity_title"]
