"""Scale-out: request rules, the coordinator and target DAG templates, prechecks, takeover."""
