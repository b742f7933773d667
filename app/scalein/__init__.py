"""Scale-in: remove one server (and its agent) from the cluster, and zone removal."""
