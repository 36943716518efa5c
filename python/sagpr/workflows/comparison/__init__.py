"""The study's comparison of scalar and tensorial learning: scoring, reports, the whole reproduction."""
