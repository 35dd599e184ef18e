"""Rule kinds: one module per kind, registered by name (the YAML `kind`)."""

from detector.rules.kinds.base import Kind, KindContext, KindFactory, Reading
from detector.rules.kinds.distinct import Cardinality
from detector.rules.kinds.flatline import Flatline
from detector.rules.kinds.novelty import NewValue
from detector.rules.kinds.open import OpenCall
from detector.rules.kinds.outlier import Outlier
from detector.rules.kinds.ratio import Ratio
from detector.rules.kinds.sequence import Sequence
from detector.rules.kinds.shift import Shift
from detector.rules.kinds.single import Single
from detector.rules.kinds.spike import Spike
from detector.rules.kinds.threshold import Threshold

KINDS: dict[str, KindFactory] = {
    "threshold": Threshold,
    "ratio": Ratio,
    "shift": Shift,
    "match": Single,
    "spike": Spike,
    "outlier": Outlier,
    "distinct": Cardinality,
    "new_value": NewValue,
    "flatline": Flatline,
    "sequence": Sequence,
    "open": OpenCall,
}
"""Kind name → factory building the kind from its validated rule."""

__all__ = ["KINDS", "Kind", "KindContext", "KindFactory", "Reading"]
