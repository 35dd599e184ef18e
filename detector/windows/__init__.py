"""Pure per-key aggregation on event time: bucketed windows, distinct sets, seasonal baselines.

Every structure here is a small mutable state object plus pure arithmetic; the parameters that
shape it (bucket width, number of buckets) are passed in by the owner, not stored, so the
pickled state of an idle key stays a few hundred bytes.
"""

from detector.windows.buckets import Buckets, bucket_width, span_of
from detector.windows.distinct import Distinct
from detector.windows.seasonal import Seasonal, hour_of_week

__all__ = ["Buckets", "Distinct", "Seasonal", "bucket_width", "hour_of_week", "span_of"]
