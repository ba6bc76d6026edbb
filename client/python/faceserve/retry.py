"""When and how long to wait before calling again.

Only calls that are safe to repeat are retried: reads, analyses, and Enroll
with an idempotency key (the server answers a repeat from its record, so a
retried Enroll cannot enroll twice). Only UNAVAILABLE (the server is starting
or stopping, or unreachable) and RESOURCE_EXHAUSTED (its in-flight limit) are
retried: the others would fail again. Waits grow exponentially with full
jitter (AWS's "full jitter": a random wait up to the exponential bound), and
never past the call's deadline.
"""
import dataclasses
import random
from typing import Optional

import grpc

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5           # first call included; 1: no retries
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    multiplier: float = 2.0

    def backoff(self, attempt: int, remaining_s: Optional[float],
                rng: random.Random = random.Random()) -> Optional[float]:
        """Seconds to wait after failed attempt number `attempt` (1-based),
        or None when no attempt is left or the wait would reach the deadline."""
        if attempt >= self.max_attempts:
            return None
        bound = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        wait = rng.uniform(0, bound)
        if remaining_s is not None and wait >= remaining_s:
            return None
        return wait


NO_RETRIES = RetryPolicy(max_attempts=1)
