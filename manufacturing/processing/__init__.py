"""Processing: the steps at the bench, from apheresis receipt to dose preparation."""
