"""The cluster store's migrations (spec/cluster-store.md §3), applied by app.clustermigrate."""
