"""The ``ispcore poller`` process: fetch the workload from the API, poll devices by SNMP and
ICMP on their intervals, push results back in batches."""
