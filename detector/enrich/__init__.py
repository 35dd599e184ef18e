"""Pure derivations from CDR fields: destination country and number type (`numbers`)."""

from detector.enrich.numbers import NumberInfo, classify, is_international

__all__ = ["NumberInfo", "classify", "is_international"]
