"""NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) decoding from raw datagrams: one flow tuple
per record with the addresses, the sampled-up counters and the times, for the usage collector
(``ispcore netflow``) to aggregate per address and interval."""

from ispcore.network.netflow.common import Flow, Malformed
from ispcore.network.netflow.decoder import Decoder

__all__ = ["Decoder", "Flow", "Malformed"]
