"""The provider model, pure and clock-agnostic: rate limits (``buckets``), admission, capacity,
latency and billing (``model``), the slot/queue/abandon state machine (``slots``) and drawn incidents
(``incidents``). The simulator drives it on SimPy timers, ``llmsim serve`` on asyncio."""
